"""Ingest: files -> parsed sheets -> SQLite records + Chroma profile vectors + BM25 over every unit.

- Unchanged files (same SHA-256, same parser version) are not even parsed.
- Every evidence unit (ingest/units.py) is tokenised for BM25. Profiles are embedded into Chroma to
  find sheets; the unit kinds chosen in settings (rows, passages) are embedded into the cache, to
  weigh units of candidate sheets at question time.
- Embeddings are cached by content hash: a text embedded once is never embedded again.
- Each file's sheets are written in one SQLite transaction after their vectors are in Chroma, and
  a failed file writes nothing. After a crash, `reconcile` brings Chroma back in line with SQLite.
- One ingest at a time: a lock file under HYOKA_HOME.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from ingest import PARSER_VERSION
from ingest.errors import StoreBusy
from ingest.labelling import NO_LABELS, Labeller, Labels, apply_labels, inherit_labels, unknown_counts
from ingest.parse import (
    MAX_FILE_BYTES,
    FileResult,
    ParseReport,
    discover,
    drop_duplicates,
    parse_file,
    richness,
)
from ingest.records import ParsedSheet
from ingest.units import UnitKind, profile_text, units_of

from .records_db import STORE_FORMAT, FileRow
from .store import Store, text_hash
from .tokens import tokenize

Progress = Callable[[int, int, str], None]
EMBED_BATCH = 32


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    files: list[tuple[str, str, int]] = field(default_factory=list)  # path, status, sheets
    embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    warnings: dict[str, list[str]] = field(default_factory=dict)  # project -> arithmetic warnings
    # path -> (sheets without a municipality, sheets without a year), for files of this run
    unknown: dict[str, tuple[int, int]] = field(default_factory=dict)
    relabelled: int = 0  # stored sheets given a municipality or year without re-parsing
    notes: list[str] = field(default_factory=list)  # the user's labels vs what sheets state


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _failed(summary: IngestSummary, path: Path, error: str) -> None:
    summary.failed.append((str(path), error))
    summary.files.append((str(path), "failed", 0))


def _key(path: Path) -> str:
    return str(path.resolve())


def unit_tokens(ps: ParsedSheet) -> list[list[str]]:
    """BM25 tokens of each of the sheet's units, in unit order."""
    return [tokenize(u.search_text()) for u in units_of(ps)]


class Indexer:
    def __init__(self, store: Store, embed_units: tuple[str, ...] = ()) -> None:
        """`embed_units`: unit kinds ("row", "passage") embedded besides the profiles."""
        self.store = store
        self.db = store.db
        self.embed_units = tuple(UnitKind(k) for k in embed_units)

    def ingest(self, paths: Iterable[str | Path], progress: Progress | None = None,
               labeller: Labeller = NO_LABELS) -> IngestSummary:
        """Index the files under the paths. `labeller` gives, per file, the municipality and year the
        user states for sheets that do not state them (an unchanged file is relabelled, not re-parsed)."""
        with self._locked():
            return self._ingest(list(discover(paths)), progress, labeller)

    def ingest_sheets(self, groups: Iterable[tuple[str, list[ParsedSheet]]],
                      progress: Progress | None = None, total: int = 0) -> IngestSummary:
        """Index already-parsed sheets, each group as if it were one file named by its source.

        The same write path as `ingest` (embedding cache, one transaction per group, BM25 once at
        the end); for generated or pre-parsed sheets, e.g. bench/scale.py."""
        with self._locked():
            t0 = time.perf_counter()
            summary = IngestSummary()
            changed = self.migrate() | self.reconcile()
            for i, (source, sheets) in enumerate(groups, start=1):
                if progress:
                    progress(i, total, source)
                sha = hashlib.sha256("".join(ps.content_hash() for ps in sheets).encode()).hexdigest()
                result = FileResult(path=source, sheets=list(sheets))
                report = ParseReport(files=[result])
                drop_duplicates(report)  # one id twice in a group would be refused by Chroma
                summary.duplicates += report.duplicates
                changed |= self._write_file(source, source, sha, result, summary)
            self._refresh_bm25(changed)
            summary.seconds = time.perf_counter() - t0
            return summary

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock = FileLock(str(self.store.home / "ingest.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout as exc:
            raise StoreBusy("別の取り込み（hyoka ingest）が実行中です。終わってから再実行してください"
                            f"（ロック: {lock.lock_file}）") from exc
        try:
            yield
        finally:
            lock.release()

    def _ingest(self, files: list[Path], progress: Progress | None, labeller: Labeller) -> IngestSummary:
        t0 = time.perf_counter()
        summary = IngestSummary()
        changed = self.migrate() | self.reconcile()
        pending: list[tuple[Path, str, FileResult]] = []
        seen: dict[str, str] = {}  # sha256 -> first file of this run with those bytes
        for i, path in enumerate(files, start=1):
            if progress:
                progress(i, len(files), str(path))
            if path.stat().st_size > MAX_FILE_BYTES:
                # Refused by size before hashing it: reading 2 GB to say no would be wasted work.
                _failed(summary, path, parse_file(path).error)
                continue
            sha = file_sha256(path)
            prev = self.db.file(_key(path))
            labels = labeller(path)
            if prev and prev.sha256 == sha and prev.parser_version == PARSER_VERSION:
                changed |= self._relabel(prev, labels, summary, str(path))
                self._count_unchanged(prev, summary, str(path))
                continue
            twin = None if prev else (seen.get(sha) or self.db.indexed_file_with_sha(sha, _key(path)))
            if twin:
                # A new name for bytes already indexed: say so before spending a parse on it. (A known
                # file whose bytes changed is parsed as usual, so its old sheets get replaced.) What the
                # user states of the copy applies to the sheets already indexed from the original.
                summary.duplicates.append(f"{path} は {twin} と同じ内容のファイルです（重複のため取り込みません）")
                summary.files.append((str(path), "duplicate", 0))
                original = self.db.file(twin)
                if original is not None:
                    changed |= self._relabel(original, labels, summary, str(path))
                continue
            result = parse_file(path, labels)
            summary.notes += [f"{path}: {n}" for n in result.notes]
            if result.error:
                _failed(summary, path, result.error)
                continue
            seen[sha] = str(path)
            pending.append((path, sha, result))
        report = ParseReport(files=[r for _, _, r in pending])
        drop_duplicates(report)
        summary.duplicates += report.duplicates
        for path, sha, result in pending:
            changed |= self._write_file(_key(path), path.name, sha, result, summary)
        self.embed_missing_units(summary)
        self._refresh_bm25(changed)
        summary.seconds = time.perf_counter() - t0
        return summary

    def _refresh_bm25(self, changed: bool) -> None:
        """Rebuild BM25 when the records moved on since it was built: also after an ingest that was
        killed between committing sheets and rebuilding BM25 (the next run finds nothing changed)."""
        gen = str(self.db.generation())
        if changed or self.db.meta("bm25_generation") != gen or not (self.store.home / "bm25" / "ids.json").exists():
            self.store.bm25.build(self.db.unit_tokens())
            self.db.set_meta("bm25_generation", gen)

    def _relabel(self, prev: FileRow, labels: Labels, summary: IngestSummary, path: str) -> bool:
        """Give an unchanged file's stored sheets the municipality or year the user states now,
        without parsing it again (only the changed profiles are embedded again)."""
        if not labels or prev.status != "indexed":
            return False
        stored = [ps for ps in (self.db.sheet(i) for i in prev.sheet_ids) if ps is not None]
        sheets, notes = apply_labels(stored, labels)
        summary.notes += [f"{path}: {n}" for n in notes]
        changed = [new for new, old in zip(sheets, stored, strict=True) if new is not old]
        if not changed:
            return False
        self._embed_and_upsert(changed, summary)
        with self.db.transaction() as con:
            for ps in changed:
                self.db.put_sheet(con, ps, unit_tokens(ps), profile_text(ps))
            self.db.bump_generation(con)
        summary.relabelled += len(changed)
        return True

    def _count_unchanged(self, prev: FileRow, summary: IngestSummary, path: str) -> None:
        if prev.status == "indexed":
            labels = self.db.sheet_labels(prev.sheet_ids).values()
            summary.unknown[path] = (sum(not m for m, _ in labels), sum(y is None for _, y in labels))
            summary.unchanged += len(prev.sheet_ids)
        else:
            summary.skipped.append((path, prev.message))
        summary.files.append((path, "unchanged" if prev.status == "indexed" else prev.status, len(prev.sheet_ids)))

    def _write_file(self, key: str, name: str, sha: str, result: FileResult, summary: IngestSummary) -> bool:
        prev = self.db.file(key)
        old_ids = set(prev.sheet_ids) if prev else set()
        # Only this file's sheets: reading every hash per file made a 50,000-file ingest quadratic.
        hashes = self.db.hashes_of({ps.sheet.sheet_id for ps in result.sheets})
        result.sheets = [self._inherit(ps) if ps.sheet.sheet_id in hashes else ps for ps in result.sheets]
        sheets = [ps for ps in result.sheets if self._wins(ps, key, summary)]
        new, same = [], 0
        for ps in sheets:
            if hashes.get(ps.sheet.sheet_id) == ps.content_hash():
                same += 1
            else:
                new.append(ps)
        self._embed_and_upsert(new, summary)
        keep_ids = {ps.sheet.sheet_id for ps in sheets}
        removed = sorted(old_ids - keep_ids)
        status = "indexed" if sheets else ("skipped" if result.skipped else "duplicate")
        message = result.skipped or ("重複のため取り込みません" if not sheets else "")
        with self.db.transaction() as con:
            for ps in new:
                self.db.put_sheet(con, ps, unit_tokens(ps), profile_text(ps))
            self.db.delete_sheets(con, removed)
            self.db.put_file(con, FileRow(key, sha, PARSER_VERSION, status, message, tuple(sorted(keep_ids))))
            if new or removed:
                self.db.bump_generation(con)
        self.store.chroma.delete(removed)
        for ps in new:
            if ps.warnings:
                summary.warnings[f"{ps.sheet.project_name}（{name}）"] = list(ps.warnings)
        summary.added += sum(1 for ps in new if ps.sheet.sheet_id not in hashes)
        summary.updated += sum(1 for ps in new if ps.sheet.sheet_id in hashes)
        summary.unchanged += same
        summary.removed += len(removed)
        if result.skipped:
            summary.skipped.append((result.path, result.skipped))
        if sheets:
            summary.unknown[result.path] = unknown_counts(sheets)
        summary.files.append((result.path, status, len(sheets)))
        return bool(new or removed)

    def _inherit(self, ps: ParsedSheet) -> ParsedSheet:
        """A stored sheet's municipality or year that the user gave survives a re-parse of its file."""
        if ps.sheet.municipality and ps.sheet.fiscal_year is not None:
            return ps
        stored = self.db.sheet(ps.sheet.sheet_id)
        return inherit_labels(ps, stored) if stored is not None else ps

    def _wins(self, ps: ParsedSheet, key: str, summary: IngestSummary) -> bool:
        """A sheet already indexed from another file is replaced only by a richer copy."""
        other = self.db.source_of(ps.sheet.sheet_id)
        if other is None or _key(Path(other)) == key:
            return True
        if richness(ps) > (self.db.richness(ps.sheet.sheet_id) or (0, 0)):
            return True
        summary.duplicates.append(f"{ps.sheet.source_file} の「{ps.sheet.project_name}」は {other} と"
                                  "同じシートのため取り込みません")
        return False

    def _embed_and_upsert(self, sheets: list[ParsedSheet], summary: IngestSummary) -> None:
        if not sheets:
            return
        texts = [profile_text(ps) for ps in sheets]
        if self.embed_units:
            # Units first, profiles last: the profiles' vectors are then cached too, and Chroma gets them.
            self._vectors([u.embedding_text() for ps in sheets for u in units_of(ps) if u.kind in self.embed_units],
                          summary)
        vectors = self._vectors(texts, summary)
        metas = [{"municipality": ps.sheet.municipality, "department": ps.sheet.department,
                  "fiscal_year": ps.sheet.fiscal_year, "project_name": ps.sheet.project_name,
                  "content_hash": ps.content_hash()} for ps in sheets]
        self.store.chroma.upsert([ps.sheet.sheet_id for ps in sheets], vectors, metas)

    def _vectors(self, texts: list[str], summary: IngestSummary) -> list[list[float]]:
        model = self.store.model
        hashes = [text_hash(t) for t in texts]
        cached = self.db.cached_vectors(model, list(set(hashes)))
        todo = sorted({h: t for h, t in zip(hashes, texts, strict=True) if h not in cached}.items())
        t0 = time.perf_counter()
        for i in range(0, len(todo), EMBED_BATCH):
            batch = todo[i:i + EMBED_BATCH]
            got = self.store.embeddings.embed_documents([t for _, t in batch])
            fresh = {h: v for (h, _), v in zip(batch, got, strict=True)}
            self.db.cache_vectors(model, fresh)
            cached.update(fresh)
        summary.embed_seconds += time.perf_counter() - t0
        summary.embedded += len(todo)
        return [cached[h] for h in hashes]

    def migrate(self) -> bool:
        """Bring a store written in an older format up to this one, from its stored records alone
        (nothing is parsed again). True if it changed anything."""
        if self.db.meta("store_format") == STORE_FORMAT:
            return False
        ids = self.db.sheet_ids()
        for i in range(0, len(ids), 200):
            with self.db.transaction() as con:
                for sid in ids[i:i + 200]:
                    ps = self.db.sheet(sid)
                    if ps is not None:
                        self.db.set_tokens(con, sid, unit_tokens(ps))
                        self.db.set_tables(con, ps)
                if ids:
                    self.db.bump_generation(con)
        self.db.set_meta("store_format", STORE_FORMAT)
        return bool(ids)

    def embed_missing_units(self, summary: IngestSummary) -> None:
        """Embed the chosen unit kinds of stored sheets that lack them (the setting was changed)."""
        want = ",".join(sorted(self.embed_units))
        if self.db.meta("embedded_units") == want:
            return
        if not self.embed_units:
            self.db.set_meta("embedded_units", want)
            return
        texts = [u.embedding_text() for sid in self.db.sheet_ids()
                 for ps in [self.db.sheet(sid)] if ps is not None
                 for u in units_of(ps) if u.kind in self.embed_units]
        self._vectors(texts, summary)
        self.db.set_meta("embedded_units", want)

    def reconcile(self) -> bool:
        """Make Chroma match SQLite (after a crash between the two writes). True if it changed."""
        want = self.db.profiles()
        have = self.store.chroma.hashes()
        stale = [sid for sid in have if sid not in want]
        self.store.chroma.delete(stale)
        missing = [sid for sid, (h, _) in want.items() if have.get(sid) != h]
        if missing:
            sheets = [ps for ps in (self.db.sheet(s) for s in missing) if ps is not None]
            self._embed_and_upsert(sheets, IngestSummary())
        return bool(stale or missing)
