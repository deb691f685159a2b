"""BM25 (bm25s) over each sheet's Sudachi tokens: name, department, every section and row label.

Rebuilt after an ingest that changed something (tokens are kept in SQLite, so rebuilding does no
tokenising), written to a fresh folder and swapped in, so a reader never sees half an index.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class _Snapshot:
    """One loaded index: ids, retriever, vocabulary and document frequencies belong together,
    so a reader holds one snapshot for a whole query while a rebuild swaps in the next."""

    mtime: float | None
    ids: list[str]
    retriever: Any
    vocab: frozenset[str]
    df: dict[str, int]


_EMPTY = _Snapshot(None, [], None, frozenset(), {})


class BM25Index:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._snap = _EMPTY
        self._lock = threading.Lock()

    def build(self, docs: list[tuple[str, list[str]]]) -> None:
        import bm25s

        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        ids = [sid for sid, _ in docs]
        if docs:
            retriever = bm25s.BM25()
            retriever.index([toks or ["∅"] for _, toks in docs], show_progress=False)
            retriever.save(str(tmp / "bm25"))
        df: dict[str, int] = {}
        for _, toks in docs:
            for t in set(toks):
                df[t] = df.get(t, 0) + 1
        (tmp / "df.json").write_text(json.dumps(df, ensure_ascii=False), encoding="utf-8")
        (tmp / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
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

        ids = json.loads((self.folder / "ids.json").read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(self.folder / "bm25")) if ids else None
        vocab = frozenset(retriever.vocab_dict) if retriever is not None else frozenset()
        df_path = self.folder / "df.json"
        df = json.loads(df_path.read_text(encoding="utf-8")) if df_path.exists() else {}
        return _Snapshot(mtime, ids, retriever, vocab, df)

    def idf(self, token: str) -> float:
        """BM25's idf; a token no sheet contains gets the highest weight (the sheets lack it)."""
        snap = self._snapshot()
        n = max(len(snap.ids), 1)
        df = snap.df.get(token, 0)
        return math.log((n - df + 0.5) / (df + 0.5) + 1.0)

    def search(self, tokens: list[str], k: int) -> list[tuple[str, float]]:
        snap = self._snapshot()
        if snap.retriever is None:
            return []
        known = [t for t in tokens if t in snap.vocab]
        if not known:
            return []
        k = min(k, len(snap.ids))
        docs, scores = snap.retriever.retrieve([known], k=k, show_progress=False, n_threads=1)
        out = []
        for idx, score in zip(np.asarray(docs)[0], np.asarray(scores)[0], strict=False):
            if score > 0:
                out.append((snap.ids[int(idx)], float(score)))
        return out
