"""BM25 (bm25s) over each sheet's Sudachi tokens: name, department, every section and row label.

Rebuilt after an ingest that changed something (tokens are kept in SQLite, so rebuilding does no
tokenising), written to a fresh folder and swapped in, so a reader never sees half an index.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np


class BM25Index:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._loaded_mtime: float | None = None
        self._retriever = None
        self._ids: list[str] = []
        self._vocab: set[str] = set()
        self._df: dict[str, int] = {}

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

    def _load(self) -> None:
        marker = self.folder / "ids.json"
        if not marker.exists():
            self._retriever, self._ids = None, []
            return
        mtime = marker.stat().st_mtime
        if mtime == self._loaded_mtime:
            return
        import bm25s

        self._ids = json.loads(marker.read_text(encoding="utf-8"))
        self._retriever = bm25s.BM25.load(str(self.folder / "bm25")) if self._ids else None
        self._vocab = set(self._retriever.vocab_dict) if self._retriever is not None else set()
        df_path = self.folder / "df.json"
        self._df = json.loads(df_path.read_text(encoding="utf-8")) if df_path.exists() else {}
        self._loaded_mtime = mtime

    def idf(self, token: str) -> float:
        """BM25's idf; a token no sheet contains gets the highest weight (the sheets lack it)."""
        self._load()
        n = max(len(self._ids), 1)
        df = self._df.get(token, 0)
        return math.log((n - df + 0.5) / (df + 0.5) + 1.0)

    def search(self, tokens: list[str], k: int) -> list[tuple[str, float]]:
        self._load()
        if self._retriever is None:
            return []
        known = [t for t in tokens if t in self._vocab]
        if not known:
            return []
        k = min(k, len(self._ids))
        docs, scores = self._retriever.retrieve([known], k=k, show_progress=False, n_threads=1)
        out = []
        for idx, score in zip(np.asarray(docs)[0], np.asarray(scores)[0], strict=False):
            if score > 0:
                out.append((self._ids[int(idx)], float(score)))
        return out
