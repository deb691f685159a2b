"""BM25 (bm25s) over every evidence unit of every sheet: passages, table rows and profiles.

Sheets are found by their content, unit by unit: a passage that holds the question's words together
outranks a long sheet that holds them scattered. Each document is a (sheet, unit number) pair;
the unit itself is derived from the sheet's records (ingest/units.py) in the same order.

Rebuilt after an ingest that changed something (unit tokens are kept with the records, so a rebuild
does no tokenising), written to a fresh folder and swapped in, so a reader never sees half an index.
The same idf and length statistics score units of candidate sheets locally (`score`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class _Snapshot:
    """One loaded index: sheet ids, document map, retriever and statistics belong together, so a
    reader holds one snapshot for a whole query while a rebuild swaps in the next."""

    mtime: float | None
    sheet_ids: list[str]
    doc_sheet: np.ndarray      # document -> index into sheet_ids
    doc_unit: np.ndarray       # document -> unit number within its sheet
    retriever: Any
    vocab: frozenset[str]
    df: dict[str, int]
    n_docs: int
    avgdl: float


_EMPTY = _Snapshot(None, [], np.zeros(0, np.int32), np.zeros(0, np.int32), None, frozenset(), {}, 0, 1.0)


class BM25Index:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._snap = _EMPTY
        self._lock = threading.Lock()

    def build(self, sheets: Iterable[tuple[str, Sequence[Sequence[str]]]]) -> None:
        """Index (sheet id, the token lists of its units in unit order) for every sheet."""
        import bm25s

        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        sheet_ids: list[str] = []
        doc_sheet: list[int] = []
        doc_unit: list[int] = []
        corpus: list[list[str]] = []
        df: dict[str, int] = {}
        for sid, units in sheets:
            for n, toks in enumerate(units):
                doc_sheet.append(len(sheet_ids))
                doc_unit.append(n)
                corpus.append(list(toks) or ["∅"])
                for t in set(toks):
                    df[t] = df.get(t, 0) + 1
            sheet_ids.append(sid)
        if corpus:
            retriever = bm25s.BM25(k1=K1, b=B)
            retriever.index(corpus, show_progress=False)
            retriever.save(str(tmp / "bm25"))
        total = sum(len(c) for c in corpus)
        np.save(tmp / "doc_sheet.npy", np.asarray(doc_sheet, dtype=np.int32))
        np.save(tmp / "doc_unit.npy", np.asarray(doc_unit, dtype=np.int32))
        (tmp / "df.json").write_text(json.dumps(df, ensure_ascii=False), encoding="utf-8")
        (tmp / "stats.json").write_text(json.dumps({"n_docs": len(corpus), "avgdl": total / max(len(corpus), 1)}),
                                        encoding="utf-8")
        (tmp / "ids.json").write_text(json.dumps(sheet_ids), encoding="utf-8")  # written last: the marker
        old = self.folder.with_name(self.folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.folder.exists():
            os.replace(self.folder, old)
        os.replace(tmp, self.folder)
        shutil.rmtree(old, ignore_errors=True)

    def _snapshot(self) -> _Snapshot:
        marker = self.folder / "ids.json"
        if not marker.exists():
            return _EMPTY
        mtime = marker.stat().st_mtime
        if mtime == self._snap.mtime:
            return self._snap
        with self._lock:
            if mtime != self._snap.mtime:
                self._snap = self._read(mtime)
            return self._snap

    def _read(self, mtime: float) -> _Snapshot:
        import bm25s

        sheet_ids = json.loads((self.folder / "ids.json").read_text(encoding="utf-8"))
        stats_path = self.folder / "stats.json"
        if not stats_path.exists():  # an index of the older, sheet-level format: rebuilt by the next ingest
            return _EMPTY
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(self.folder / "bm25")) if stats["n_docs"] else None
        vocab = frozenset(retriever.vocab_dict) if retriever is not None else frozenset()
        df = json.loads((self.folder / "df.json").read_text(encoding="utf-8"))
        return _Snapshot(mtime, sheet_ids, np.load(self.folder / "doc_sheet.npy"),
                         np.load(self.folder / "doc_unit.npy"), retriever, vocab, df,
                         int(stats["n_docs"]), float(stats["avgdl"]) or 1.0)

    def ready(self) -> bool:
        return self._snapshot().retriever is not None

    def idf(self, token: str) -> float:
        """BM25's idf over units; a token no unit contains gets the highest weight (the store lacks it)."""
        snap = self._snapshot()
        n = max(snap.n_docs, 1)
        df = snap.df.get(token, 0)
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
        if snap.retriever is None:
            return []
        known = [t for t in dict.fromkeys(tokens) if t in snap.vocab]
        if not known:
            return []
        k = min(k, snap.n_docs)
        docs, scores = snap.retriever.retrieve([known], k=k, show_progress=False, n_threads=1)
        out = []
        for idx, score in zip(np.asarray(docs)[0], np.asarray(scores)[0], strict=False):
            if score > 0:
                i = int(idx)
                out.append((snap.sheet_ids[int(snap.doc_sheet[i])], int(snap.doc_unit[i]), float(score)))
        out.sort(key=lambda x: (-x[2], x[0], x[1]))
        return out
