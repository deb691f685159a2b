"""Ingest: files -> parsed sheets -> records store + Chroma profile vectors + BM25 over every unit.

- Unchanged files (same SHA-256, same parser version) are not even parsed.
- Every evidence unit (ingest/units.py) is tokenised for BM25. Profiles are embedded into Chroma to
  find sheets; the unit kinds chosen in settings (rows, passages) are embedded into the cache, to
  weigh units of candidate sheets at question time.
- Embeddings are cached by content hash: a text embedded once is never embedded again.
- Each file's sheets are written in one transaction of the records store after their vectors are in
  Chroma, and a failed file writes nothing. After a crash, `reconcile` brings Chroma back in line
  with the records.
- One ingest at a time per records store: a lock file under HYOKA_HOME (SQLite), a database advisory
  lock (PostgreSQL: ingest workers on several hosts). The CLI is refused while another ingest runs;
  an upload from the chat waits its turn (up to a limit).
- At the end, BM25 is rebuilt in this HYOKA_HOME and its generation published in the store (meta
  bm25_generation); app processes with other homes rebuild theirs when they see it (Store.sync_bm25).
- Provenance (provenance.py): each indexed sheet is owned by one file and has an origin. The
  administrator's copy (`hyoka ingest`) is the official one; an upload never replaces or deletes a
  sheet it did not add: a differing copy of an existing sheet is kept as an unofficial version.
  Re-ingesting an administrator's file restores any of its sheets that went missing or that an
  upload had taken (before this rule existed).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ingest import PARSER_VERSION
from ingest.errors import StoreBusy
from ingest.labelling import NO_LABELS, Labeller, Labels, apply_labels, inherit_labels, unknown_counts
from ingest.limits import DEFAULT_LIMITS, MIB, FileLimits
from ingest.parse import FileResult, ParseReport, discover, drop_duplicates, parse_file, richness
from ingest.records import ParsedSheet
from ingest.units import UnitKind, profile_text, units_of

from .errors import store_errors
from .provenance import ADMIN, UPLOAD, Origin, Provenance, now
from .records import FileRow, Tx
from .records_db import STORE_FORMAT
from .store import Store, text_hash
from .tokens import tokenize

Progress = Callable[[int, int, str], None]
Parser = Callable[[Path, Labels], FileResult]
EMBED_BATCH = 32
_TAKE, _UNOFFICIAL, _SKIP = "take", "unofficial", "skip"


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    restored: int = 0   # sheets of an unchanged administrator's file put back
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unofficial: list[tuple[str, str]] = field(default_factory=list)  # path, Japanese line
    files: list[tuple[str, str, int]] = field(default_factory=list)  # path, status, sheets
    embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    waited: float = 0.0  # seconds spent waiting for another ingest to finish
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


def _shown_as(item: tuple[Path, str, FileResult], name: str | None) -> tuple[Path, str, FileResult]:
    """An uploaded file's sheets say where they came from by the name it was uploaded under, not by
    the content-hashed name it is stored under (the hash excludes source_file, so nothing else moves)."""
    path, sha, result = item
    if not name:
        return item
    sheets = [ps.model_copy(update={"sheet": ps.sheet.model_copy(update={"source_file": name})})
              for ps in result.sheets]
    return path, sha, FileResult(path=result.path, sheets=sheets, skipped=result.skipped,
                                 error=result.error, reader=result.reader, notes=result.notes)


def _failed(summary: IngestSummary, path: Path, error: str) -> None:
    summary.failed.append((str(path), error))
    summary.files.append((str(path), "failed", 0))


def _key(path: Path) -> str:
    return str(path.resolve())


def _os_message(path: Path, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{path}: ファイルが見つかりません（取り込みの途中で削除または移動されました）"
    if isinstance(exc, PermissionError):
        return f"{path}: ファイルを読む権限がありません"
    return f"{path}: ファイルを読めません（{exc.strerror or 'OS のエラー'}）"


def unit_tokens(ps: ParsedSheet) -> list[list[str]]:
    """BM25 tokens of each of the sheet's units, in unit order."""
    return [tokenize(u.search_text()) for u in units_of(ps, cache=False)]


class Indexer:
    def __init__(self, store: Store, embed_units: tuple[str, ...] = (), limits: FileLimits = DEFAULT_LIMITS,
                 parse: Parser | None = None) -> None:
        """`embed_units`: unit kinds ("row", "passage") embedded besides the profiles. `parse`: how a
        file is parsed (default: parse_file in this process, for the administrator's own files)."""
        self.store = store
        self.db = store.db
        self.embed_units = tuple(UnitKind(k) for k in embed_units)
        self.limits = limits
        self._parse = parse

    def ingest(self, paths: Iterable[str | Path], progress: Progress | None = None,
               labeller: Labeller = NO_LABELS, *, follow_symlinks: bool = False, origin: Origin | None = None,
               names: dict[str, str] | None = None, wait: float = 0.0,
               on_wait: Callable[[], None] | None = None) -> IngestSummary:
        """Index the files under the paths. `labeller` gives, per file, the municipality and year the
        user states for sheets that do not state them (an unchanged file is relabelled, not re-parsed).
        `names` shows a stored file under its original name (uploads are stored by content hash);
        `wait` > 0 queues behind a running ingest instead of refusing."""
        links: list[tuple[str, str]] = []
        files = list(discover(paths, follow_symlinks, links))
        with store_errors(self.store.home), self._locked(wait, on_wait) as waited:
            summary = self._ingest(files, progress, labeller, origin or Origin(), names or {})
        summary.waited = waited
        for path, why in links:
            summary.skipped.append((path, why))
            summary.files.append((path, "skipped", 0))
        return summary

    def ingest_sheets(self, groups: Iterable[tuple[str, list[ParsedSheet]]],
                      progress: Progress | None = None, total: int = 0) -> IngestSummary:
        """Index already-parsed sheets, each group as if it were one file named by its source.

        The same write path as `ingest` (embedding cache, one transaction per group, BM25 once at
        the end); for generated or pre-parsed sheets, e.g. bench/scale.py."""
        with store_errors(self.store.home), self._locked(0.0, None):
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
                changed |= self._write_file(source, source, sha, result, summary, Origin())
            self._refresh_bm25(changed)
            summary.seconds = time.perf_counter() - t0
            return summary

    @contextmanager
    def _locked(self, wait: float, on_wait: Callable[[], None] | None) -> Iterator[float]:
        """Yields the seconds spent waiting. The lock's path stays out of the message: users of the
        chat see it, and where the store lives is the administrator's business."""
        lock = self.db.ingest_lock()
        t0 = time.monotonic()
        if not lock.acquire(0):
            if wait <= 0:
                raise StoreBusy("別の取り込み（hyoka ingest またはアップロード）が実行中です。"
                                "終わってから再実行してください")
            if on_wait is not None:
                on_wait()
            if not lock.acquire(wait):
                raise StoreBusy(f"別の取り込みが {wait:.0f} 秒たっても終わらないため、取り込めませんでした。"
                                "しばらくしてから再度お試しください")
        try:
            yield time.monotonic() - t0
        finally:
            lock.release()

    def _ingest(self, files: list[Path], progress: Progress | None, labeller: Labeller, origin: Origin,
                names: dict[str, str]) -> IngestSummary:
        t0 = time.perf_counter()
        summary = IngestSummary()
        changed = self.migrate() | self.reconcile()
        pending: list[tuple[Path, str, FileResult]] = []
        seen: dict[str, str] = {}  # sha256 -> first file of this run with those bytes
        for i, path in enumerate(files, start=1):
            if progress:
                progress(i, len(files), str(path))
            try:
                item, relabelled = self._prepare(path, labeller(path), origin, summary, seen)
            except OSError as exc:  # vanished, unreadable: this file fails, the run goes on
                _failed(summary, path, _os_message(path, exc))
                continue
            changed |= relabelled
            if item is not None:
                pending.append(_shown_as(item, names.get(str(path))))
        report = ParseReport(files=[r for _, _, r in pending])
        drop_duplicates(report)
        summary.duplicates += report.duplicates
        for path, sha, result in pending:
            changed |= self._write_file(_key(path), names.get(str(path), path.name), sha, result, summary, origin)
        self.embed_missing_units(summary)
        self._refresh_bm25(changed)
        summary.seconds = time.perf_counter() - t0
        return summary

    def _prepare(self, path: Path, labels: Labels, origin: Origin, summary: IngestSummary,
                 seen: dict[str, str]) -> tuple[tuple[Path, str, FileResult] | None, bool]:
        """Hash and parse one file, unless it is too big, unchanged, or a copy of another. Returns
        what to write, and whether stored sheets were relabelled meanwhile. An upload's labels
        relabel only the sheets of that same stored file, never those of another file."""
        size = path.stat().st_size
        if size > self.limits.file_mb * MIB:
            # Refused by size before hashing it: reading 2 GB to say no would be wasted work.
            _failed(summary, path, f"{path}: ファイルが大きすぎます（{size / MIB:.0f} MB、上限 {self.limits.file_mb} MB）")
            return None, False
        sha = file_sha256(path)
        key = _key(path)
        prev = self.db.file(key)
        if prev and prev.sha256 == sha and prev.parser_version == PARSER_VERSION:
            if origin.is_upload or self._intact(key, prev):
                changed = self._relabel(prev, labels, summary, str(path))
                self._count_unchanged(prev, summary, str(path))
                return None, changed
            # An administrator's file whose sheets went missing or were taken: parse it again.
        twin = None if prev else (seen.get(sha) or self.db.indexed_file_with_sha(sha, key))
        if twin:
            # A new name for bytes already indexed: say so before spending a parse on it. (A known
            # file whose bytes changed is parsed as usual, so its old sheets get replaced.) What the
            # user states of the copy applies to the sheets already indexed from the original.
            where = "取り込み済みのファイル" if origin.is_upload else twin
            summary.duplicates.append(f"{path} は {where} と同じ内容のファイルです（重複のため取り込みません）")
            summary.files.append((str(path), "duplicate", 0))
            original = None if origin.is_upload else self.db.file(twin)
            changed = self._relabel(original, labels, summary, str(path)) if original is not None else False
            return None, changed
        result = self._parse(path, labels) if self._parse is not None else parse_file(path, labels, self.limits)
        summary.notes += [f"{path}: {n}" for n in result.notes]
        if result.error:
            _failed(summary, path, result.error)
            return None, False
        seen[sha] = str(path)
        return (path, sha, result), False

    def _intact(self, key: str, prev: FileRow) -> bool:
        """Every sheet this file yielded is still indexed, and none is held by an upload."""
        produced = self.db.provenance.produced(key)
        ids = set(produced if produced is not None else prev.sheet_ids)
        if not ids:
            return True
        present = self.db.hashes_of(ids)
        owners = self._owners(set(present))
        return set(present) == ids and all(owners[sid].origin == ADMIN for sid in ids if sid in owners)

    def _owners(self, sheet_ids: set[str]) -> dict[str, Provenance]:
        """Who holds each of these indexed sheets. Sheets indexed before provenance was kept are
        inferred from where their file lives: under HYOKA_HOME/uploads is an upload, else the
        administrator's. Pass only ids that are indexed (the inference reads each one's row)."""
        found = self.db.provenance.of(sheet_ids)
        missing = [sid for sid in sheet_ids if sid not in found]
        uploads = str((self.store.home / "uploads").resolve())
        for sid in missing:
            src = self.db.source_of(sid)
            if src is None:
                continue
            key = _key(Path(src))
            kind = UPLOAD if key.startswith(uploads + "/") else ADMIN
            found[sid] = Provenance(sid, kind, "", "", key, Path(src).name)
        return found

    def _refresh_bm25(self, changed: bool) -> None:
        """Rebuild BM25 when the records moved on since it was built: also after an ingest that was
        killed between committing sheets and rebuilding BM25 (the next run finds nothing changed).
        Then publish its generation, which app processes with other homes follow."""
        gen = self.db.generation()
        if changed or self.db.meta("bm25_generation") != str(gen) or self.store.bm25.current() is None:
            self.store.rebuild_bm25(gen)
            self.db.set_meta("bm25_generation", str(gen))

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

    def _write_file(self, key: str, name: str, sha: str, result: FileResult, summary: IngestSummary,
                    origin: Origin) -> bool:
        refused = next((why for ps in result.sheets if (why := self.db.refuses(ps))), "")
        if refused:  # the whole file, as for any file that fails: nothing of it is written
            _failed(summary, Path(result.path), f"{result.path}: {refused}")
            return False
        prev = self.db.file(key)
        old_ids = set(prev.sheet_ids) if prev else set()
        produced = {ps.sheet.sheet_id for ps in result.sheets}
        # Only this file's sheets: reading every hash per file made a 50,000-file ingest quadratic.
        hashes = self.db.hashes_of(produced | old_ids)
        result.sheets = [self._inherit(ps) if ps.sheet.sheet_id in hashes else ps for ps in result.sheets]
        owners = self._owners(set(hashes))
        decided = [(ps, self._decide(ps, key, result.path, origin, hashes, owners, summary)) for ps in result.sheets]
        taken = [ps for ps, d in decided if d == _TAKE]
        unofficial = [ps for ps, d in decided if d == _UNOFFICIAL]
        new = [ps for ps in taken if hashes.get(ps.sheet.sheet_id) != ps.content_hash()]
        moved = [ps for ps in taken if ps.sheet.sheet_id in owners and owners[ps.sheet.sheet_id].file_key != key]
        demoted = self._demoted_copies(moved, owners, hashes)
        self._embed_and_upsert(new, summary)
        keep_ids = {ps.sheet.sheet_id for ps in taken}
        # Never delete a sheet another file holds now, whatever this file yielded before.
        removed = sorted(sid for sid in old_ids - keep_ids if sid not in owners or owners[sid].file_key == key)
        status = ("indexed" if taken else "unofficial" if unofficial
                  else "skipped" if result.skipped else "duplicate")
        message = result.skipped or {"unofficial": "既存のシートと内容が異なるため非公式版として保存しました",
                                     "duplicate": "重複のため取り込みません"}.get(status, "")
        stamp = now()
        rows = [self._provenance(ps, key, name, origin, owners, hashes, stamp) for ps in taken]
        with self.db.transaction() as con:
            for ps in new:
                self.db.put_sheet(con, ps, unit_tokens(ps), profile_text(ps))
            self.db.delete_sheets(con, removed)
            self.db.provenance.delete(con, removed)
            self.db.put_file(con, FileRow(key, sha, PARSER_VERSION, status, message, tuple(sorted(keep_ids))))
            self.db.provenance.put_produced(con, key, produced)
            self.db.provenance.put(con, rows)
            for ps in unofficial:
                self.db.provenance.put_unofficial(
                    con, ps, Provenance(ps.sheet.sheet_id, origin.kind, origin.uploader, stamp, key, name),
                    "既存のシートと内容が異なるアップロード")
            self._release(con, moved, owners, demoted)
            if new or removed or moved or unofficial:
                self.db.bump_generation(con)
        self.store.chroma.delete(removed)
        self._tally(summary, result, name, new, hashes, len(taken) - len(new), removed, status, taken)
        if prev is not None and prev.sha256 == sha and new:
            summary.restored += len(new)
        return bool(new or removed)

    def _tally(self, summary: IngestSummary, result: FileResult, name: str, new: list[ParsedSheet],
               hashes: dict[str, str], same: int, removed: list[str], status: str, taken: list[ParsedSheet]) -> None:
        for ps in new:
            if ps.warnings:
                summary.warnings[f"{ps.sheet.project_name}（{name}）"] = list(ps.warnings)
        summary.added += sum(1 for ps in new if ps.sheet.sheet_id not in hashes)
        summary.updated += sum(1 for ps in new if ps.sheet.sheet_id in hashes)
        summary.unchanged += same
        summary.removed += len(removed)
        if result.skipped:
            summary.skipped.append((result.path, result.skipped))
        if taken:
            summary.unknown[result.path] = unknown_counts(taken)
        summary.files.append((result.path, status, len(taken)))

    def _inherit(self, ps: ParsedSheet) -> ParsedSheet:
        """A stored sheet's municipality or year that the user gave survives a re-parse of its file."""
        if ps.sheet.municipality and ps.sheet.fiscal_year is not None:
            return ps
        stored = self.db.sheet(ps.sheet.sheet_id)
        return inherit_labels(ps, stored) if stored is not None else ps

    # --- provenance rules -------------------------------------------------------------------
    def _decide(self, ps: ParsedSheet, key: str, path: str, origin: Origin, hashes: dict[str, str],
                owners: dict[str, Provenance], summary: IngestSummary) -> str:
        """Whether this file's copy of a sheet is indexed (take), kept as an unofficial version, or
        dropped as a duplicate. A sheet nobody holds, or this file's own, is always taken."""
        sid = ps.sheet.sheet_id
        owner = owners.get(sid)
        if sid not in hashes or owner is None or owner.file_key == key:
            return _TAKE
        name = ps.sheet.project_name
        if origin.is_upload:
            if hashes[sid] == ps.content_hash():
                summary.duplicates.append(f"{ps.sheet.source_file} の「{name}」は取り込み済みのシートと同じ内容です"
                                          "（重複のため取り込みません）")
                return _SKIP
            whose = "管理者が取り込んだ公式版" if owner.official else "別のアップロードで取り込まれたシート"
            summary.unofficial.append((path, f"「{name}」は{whose}と内容が異なるため、非公式版として保存しました。"
                                                        "回答には既存のシートを使います"))
            return _UNOFFICIAL
        if not owner.official:
            return _TAKE  # the administrator's copy is the official one
        if richness(ps) > (self.db.richness(sid) or (0, 0)):
            return _TAKE
        summary.duplicates.append(f"{ps.sheet.source_file} の「{name}」は {owner.file_key} と"
                                  "同じシートのため取り込みません")
        return _SKIP

    def _provenance(self, ps: ParsedSheet, key: str, name: str, origin: Origin, owners: dict[str, Provenance],
                    hashes: dict[str, str], stamp: str) -> Provenance:
        sid = ps.sheet.sheet_id
        old = owners.get(sid)
        unchanged = old is not None and old.file_key == key and hashes.get(sid) == ps.content_hash() and old.added_at
        return Provenance(sid, origin.kind, origin.uploader, old.added_at if unchanged and old else stamp, key, name)

    def _demoted_copies(self, moved: list[ParsedSheet], owners: dict[str, Provenance],
                        hashes: dict[str, str]) -> dict[str, ParsedSheet]:
        """The uploaded copies the administrator's sheets replace, when they differ: kept as unofficial."""
        out: dict[str, ParsedSheet] = {}
        for ps in moved:
            sid = ps.sheet.sheet_id
            if not owners[sid].official and hashes.get(sid) != ps.content_hash():
                old = self.db.sheet(sid)
                if old is not None:
                    out[sid] = old
        return out

    def _release(self, con: Tx, moved: list[ParsedSheet], owners: dict[str, Provenance],
                 demoted: dict[str, ParsedSheet]) -> None:
        """Sheets this file took from another file leave that file's row (and its uploaded copy,
        if different, becomes an unofficial version)."""
        for ps in moved:
            sid = ps.sheet.sheet_id
            owner = owners[sid]
            if sid in demoted:
                self.db.provenance.put_unofficial(con, demoted[sid], owner, "管理者が公式版を取り込んだため")
            row = self.db.file(owner.file_key)
            if row is None:
                continue
            left = tuple(i for i in row.sheet_ids if i != sid)
            status = row.status if left else "duplicate"
            self.db.put_file(con, FileRow(row.path, row.sha256, row.parser_version, status,
                                          row.message if left else "重複のため取り込みません", left))

    def _embed_and_upsert(self, sheets: list[ParsedSheet], summary: IngestSummary) -> None:
        if not sheets:
            return
        texts = [profile_text(ps) for ps in sheets]
        if self.embed_units:
            # Units first, profiles last: the profiles' vectors are then cached too, and Chroma gets them.
            self._vectors([u.embedding_text() for ps in sheets for u in units_of(ps, cache=False)
                           if u.kind in self.embed_units],
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
                 for u in units_of(ps, cache=False) if u.kind in self.embed_units]
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
