"""BM25 over every evidence unit of every sheet: passages, table rows and profiles.

Sheets are found by their content, unit by unit: a passage that holds the question's words together
outranks a long sheet that holds them scattered. Each document is a (sheet, unit number) pair; the
unit itself is derived from the sheet's records (ingest/units.py) in the same order.

The index is a term-major sparse matrix of BM25 weights in plain numpy arrays (`indptr`, `docs`,
`weights`, one vocabulary), built by streaming the stored unit tokens as integer ids, so a build holds
a few flat arrays rather than millions of Python lists: at 50,000 sheets (~3 million units) the build
stays well under 2 GiB. Files are written to a fresh folder and swapped in, so a reader never sees
half an index (see `_publish`); readers memory-map them, so a reload after an ingest costs little. The same idf and
length statistics score units of candidate sheets locally (`score`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

K1 = 1.2
B = 0.75
_FORMAT = "hyoka-bm25-2"
_POINTER = "CURRENT"   # names the published version folder
_VERSION = "v"         # version folders: v<nanoseconds>
_LOAD_LOCK = threading.Lock()
_STALE_BUILD_SECONDS = 6 * 3600   # a build at 50,000 sheets takes minutes


@dataclass(frozen=True)
class _Snapshot:
    """One loaded index: sheet ids, document map, postings and statistics belong together, so a
    reader holds one snapshot for a whole query while a rebuild swaps in the next."""

    key: tuple[str, int] | None  # (version folder, its marker's mtime): which build this is
    sheet_ids: list[str]
    doc_sheet: np.ndarray      # document -> index into sheet_ids
    doc_unit: np.ndarray       # document -> unit number within its sheet
    vocab: dict[str, int]      # token -> term id
    df: np.ndarray             # term id -> number of units holding it
    indptr: np.ndarray         # term id -> its postings' span in docs/weights
    docs: np.ndarray           # postings: document ids, term-major
    weights: np.ndarray        # postings: BM25 weight of the term in the document
    n_docs: int
    avgdl: float
    source: dict[str, Any]     # what it was built from: {"store": records store id, "generation": n}


_EMPTY = _Snapshot(None, [], np.zeros(0, np.int32), np.zeros(0, np.int32), {}, np.zeros(0, np.int32),
                   np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), 0, 1.0, {})


class _Growing:
    """A flat array filled in blocks of a fixed size (postings of unknown count): no doubling, no
    copy of everything while filling; one concatenation at the end."""

    BLOCK = 1 << 20

    def __init__(self, dtype: type) -> None:
        self.dtype = dtype
        self.blocks: list[np.ndarray] = []
        self.cur = np.empty(self.BLOCK, dtype=dtype)
        self.n = 0

    def extend(self, values: Sequence[float] | np.ndarray) -> None:
        values = np.asarray(values, dtype=self.dtype)
        while len(values):
            room = self.BLOCK - self.n
            take = values[:room]
            self.cur[self.n:self.n + len(take)] = take
            self.n += len(take)
            values = values[room:]
            if self.n == self.BLOCK:
                self.blocks.append(self.cur)
                self.cur = np.empty(self.BLOCK, dtype=self.dtype)
                self.n = 0

    def array(self) -> np.ndarray:
        out = np.concatenate([*self.blocks, self.cur[: self.n]]) if self.blocks else self.cur[: self.n].copy()
        self.blocks, self.cur = [], np.empty(0, dtype=self.dtype)
        return out


class BM25Index:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._snap = _EMPTY
        self._lock = threading.Lock()

    # --- building -----------------------------------------------------------------------
    def build(self, sheets: Iterable[tuple[str, Sequence[Sequence[str]]]], source: dict[str, Any] | None = None) -> None:
        """Index (sheet id, the token lists of its units in unit order) for every sheet. `source` says
        what the sheets were read from (the records store and its generation), kept with the index."""
        vocab: dict[str, int] = {}
        sheet_ids: list[str] = []
        doc_sheet, doc_unit, doc_len = _Growing(np.int32), _Growing(np.int32), _Growing(np.int32)  # per document
        p_doc, p_term, p_tf = _Growing(np.int32), _Growing(np.int32), _Growing(np.float32)
        n_docs = 0
        for sid, units in sheets:
            for n, toks in enumerate(units):
                counts: dict[int, int] = {}
                for t in toks:
                    tid = vocab.setdefault(t, len(vocab))
                    counts[tid] = counts.get(tid, 0) + 1
                if counts:
                    p_doc.extend(np.full(len(counts), n_docs, dtype=np.int32))
                    p_term.extend(np.fromiter(counts.keys(), dtype=np.int32, count=len(counts)))
                    p_tf.extend(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
                doc_sheet.extend([len(sheet_ids)])
                doc_unit.extend([n])
                doc_len.extend([len(toks)])
                n_docs += 1
            sheet_ids.append(sid)
        tmp = self.folder / f"{_VERSION}{time.time_ns()}.tmp"
        tmp.mkdir(parents=True)
        np.save(tmp / "doc_sheet.npy", doc_sheet.array())
        np.save(tmp / "doc_unit.npy", doc_unit.array())
        self._write(tmp, vocab, sheet_ids, doc_len.array(), p_doc, p_term, p_tf, source or {})

    def _write(self, tmp: Path, vocab: dict[str, int], sheet_ids: list[str], doc_len: np.ndarray,
               p_doc_: _Growing, p_term_: _Growing, p_tf_: _Growing, source: dict[str, Any]) -> None:
        """Postings to a term-major matrix of BM25 weights; each big array is freed once written."""
        n_docs, n_terms = len(doc_len), len(vocab)
        avgdl = float(doc_len.mean()) if n_docs else 1.0
        p_term = p_term_.array()
        df = np.bincount(p_term, minlength=n_terms).astype(np.int32)
        order = np.argsort(p_term, kind="stable")
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        weights = idf[p_term]
        del p_term
        p_doc = p_doc_.array()
        p_tf = p_tf_.array()
        norm = (K1 * (1 - B + B * doc_len / avgdl)).astype(np.float32)
        weights *= p_tf * (K1 + 1) / (p_tf + norm[p_doc])
        del p_tf
        np.save(tmp / "docs.npy", p_doc[order])
        del p_doc
        np.save(tmp / "weights.npy", weights[order])
        del order, weights
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        for name, arr in (("indptr", indptr), ("df", df)):
            np.save(tmp / f"{name}.npy", arr)
        (tmp / "vocab.json").write_text(json.dumps(sorted(vocab, key=vocab.__getitem__), ensure_ascii=False),
                                        encoding="utf-8")
        stats = {"format": _FORMAT, "n_docs": n_docs, "avgdl": avgdl, "source": source}
        (tmp / "stats.json").write_text(json.dumps(stats), encoding="utf-8")
        (tmp / "ids.json").write_text(json.dumps(sheet_ids), encoding="utf-8")
        self._publish(tmp)

    def _publish(self, tmp: Path) -> None:
        """Make a finished build the current one. The build moves to its own version folder, then
        CURRENT (one line: that folder's name) is replaced atomically; older versions are removed.
        A reader resolves CURRENT once and opens every file of that version: it never sees two
        versions mixed, and the index folder never disappears between two of its reads (renaming
        the folder itself left a moment with no index, and a question then failed with
        FileNotFoundError). A reader that resolved a version just removed reads CURRENT again."""
        version = tmp.with_suffix("")
        os.replace(tmp, version)
        pointer = self.folder / "CURRENT.tmp"
        pointer.write_text(version.name, encoding="utf-8")
        os.replace(pointer, self.folder / _POINTER)
        versions = sorted((e for e in self.folder.iterdir() if e.is_dir() and e.suffix != ".tmp"
                           and e.name.startswith(_VERSION)), key=lambda e: e.name)
        for entry in versions[:-2]:   # the one before stays for readers that resolved it just now
            shutil.rmtree(entry, ignore_errors=True)
        for entry in self.folder.iterdir():
            if entry.suffix == ".tmp" and entry.is_dir():
                if time.time() - entry.stat().st_mtime > _STALE_BUILD_SECONDS:   # a killed build
                    shutil.rmtree(entry, ignore_errors=True)
            elif entry.suffix in (".npy", ".json"):   # the files of the layout before versions
                entry.unlink(missing_ok=True)

    # --- reading ------------------------------------------------------------------------
    def current(self) -> Path | None:
        """The folder of the published version, or None before the first build."""
        try:
            name = (self.folder / _POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            name = ""
        if name:
            return self.folder / name
        if (self.folder / "ids.json").exists():   # the layout before versions: files in the folder itself
            return self.folder
        return None

    def sheet_ids(self) -> list[str]:
        """The sheets of the published version ([] before the first build)."""
        return self._snapshot().sheet_ids

    def _snapshot(self) -> _Snapshot:
        for attempt in range(200):   # a reader starved while builds follow each other closely keeps trying
            if attempt:
                time.sleep(0.005)
            version = self.current()
            if version is None:
                return _EMPTY
            try:
                key = (version.name, (version / "ids.json").stat().st_mtime_ns)
                if key == self._snap.key:
                    return self._snap
                with self._lock:
                    if key != self._snap.key:
                        self._snap = self._read(version, key)
                    return self._snap
            except FileNotFoundError:   # the version was replaced while being opened: read CURRENT again
                continue
        raise RuntimeError(f"the BM25 index in {self.folder} keeps changing while being read")

    def _read(self, version: Path, key: tuple[str, int]) -> _Snapshot:
        stats_path = version / "stats.json"
        stats = json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.exists() else {}
        if stats.get("format") != _FORMAT:  # an index of an older format: rebuilt by the next ingest
            return _EMPTY

        def load(name: str) -> np.ndarray:
            # One load at a time in the process: np.load parses the header with ast.literal_eval, and
            # Python 3.11 raised SystemError (AST recursion depth mismatch) for two at once in threads.
            with _LOAD_LOCK:
                return np.load(version / f"{name}.npy", mmap_mode="r")

        terms = json.loads((version / "vocab.json").read_text(encoding="utf-8"))
        return _Snapshot(key, json.loads((version / "ids.json").read_text(encoding="utf-8")),
                         load("doc_sheet"), load("doc_unit"), {t: i for i, t in enumerate(terms)}, load("df"),
                         load("indptr"), load("docs"), load("weights"), int(stats["n_docs"]),
                         float(stats["avgdl"]) or 1.0, dict(stats.get("source") or {}))

    def ready(self) -> bool:
        return self._snapshot().n_docs > 0

    def source(self) -> dict[str, Any]:
        """What the index on disk was built from ({} for an index that predates sources, or none)."""
        return self._snapshot().source

    def idf(self, token: str) -> float:
        """BM25's idf over units; a token no unit contains gets the highest weight (the store lacks it)."""
        snap = self._snapshot()
        n = max(snap.n_docs, 1)
        tid = snap.vocab.get(token)
        df = int(snap.df[tid]) if tid is not None else 0
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def score(self, query: Sequence[str], unit_tokens: Sequence[str]) -> float:
        """BM25 of one unit for the query, with the index's idf and average length."""
        snap = self._snapshot()
        if not unit_tokens:
            return 0.0
        tf: dict[str, int] = {}
        for t in unit_tokens:
            tf[t] = tf.get(t, 0) + 1
        norm = K1 * (1 - B + B * len(unit_tokens) / snap.avgdl)
        return sum(self.idf(t) * tf[t] * (K1 + 1) / (tf[t] + norm) for t in dict.fromkeys(query) if t in tf)

    def search(self, tokens: Sequence[str], k: int) -> list[tuple[str, int, float]]:
        """The k best units for the tokens: (sheet id, unit number, score), best first."""
        snap = self._snapshot()
        ids = [snap.vocab[t] for t in dict.fromkeys(tokens) if t in snap.vocab]
        if not ids or not snap.n_docs:
            return []
        scores = np.zeros(snap.n_docs, dtype=np.float32)
        for tid in ids:
            a, b = int(snap.indptr[tid]), int(snap.indptr[tid + 1])
            scores[snap.docs[a:b]] += snap.weights[a:b]  # a document occurs once in a term's postings
        k = min(k, snap.n_docs)
        top = np.argpartition(-scores, k - 1)[:k] if k < snap.n_docs else np.arange(snap.n_docs)
        out = [(snap.sheet_ids[int(snap.doc_sheet[i])], int(snap.doc_unit[i]), float(scores[i]))
               for i in top if scores[i] > 0]
        out.sort(key=lambda x: (-x[2], x[0], x[1]))
        return out

