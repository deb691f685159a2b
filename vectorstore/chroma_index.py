"""One profile vector per sheet in Chroma: the only module that knows Chroma's rules.

Embedded (a persistent folder) by default; a real Chroma server (`chroma run`) for scale-out.
The collection's name carries the embedding model, so changing the model never mixes vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import StoreError

from .embeddings import model_slug


@dataclass(frozen=True)
class ChromaConfig:
    mode: str = "embedded"          # embedded | server
    host: str = "127.0.0.1"
    port: int = 8000


def _flat(meta: dict[str, Any]) -> dict[str, str | int | float | bool]:
    """Chroma takes no None and no nesting: drop None, stringify the rest."""
    out: dict[str, str | int | float | bool] = {}
    for k, v in meta.items():
        if v is None:
            continue
        out[k] = v if isinstance(v, str | int | float | bool) else str(v)
    return out


class ChromaIndex:
    def __init__(self, folder: Path, model: str, config: ChromaConfig) -> None:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        try:
            if config.mode == "server":
                self._client = chromadb.HttpClient(host=config.host, port=config.port, settings=settings)
                self._client.heartbeat()
            else:
                folder.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(folder), settings=settings)
        except Exception as exc:  # chromadb raises bare Exceptions for connection problems
            where = f"{config.host}:{config.port}" if config.mode == "server" else str(folder)
            raise StoreError(f"Chroma に接続できません（{where}）: {exc}") from exc
        self.name = f"hyoka-profiles-{model_slug(model)}"
        self._col = self._client.get_or_create_collection(
            self.name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
            metadata={"embedding_model": model})

    def upsert(self, ids: list[str], vectors: list[list[float]], metas: list[dict[str, Any]]) -> None:
        for i in range(0, len(ids), 1000):
            self._col.upsert(ids=ids[i:i + 1000], embeddings=vectors[i:i + 1000],  # type: ignore[arg-type]
                             metadatas=[_flat(m) for m in metas[i:i + 1000]])

    def delete(self, ids: list[str]) -> None:
        if ids:
            self._col.delete(ids=ids)

    def hashes(self) -> dict[str, str]:
        got = self._col.get(include=["metadatas"])  # type: ignore[list-item]
        return {i: str((m or {}).get("content_hash", "")) for i, m in zip(got["ids"], got["metadatas"] or [], strict=False)}

    def query(self, vector: list[float], k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        n = self._col.count()
        if n == 0:
            return []
        res = self._col.query(query_embeddings=[vector], n_results=min(k, n),  # type: ignore[arg-type]
                              where=where or None, include=["distances"])  # type: ignore[list-item]
        ids = res["ids"][0]
        dists = (res.get("distances") or [[]])[0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=False)]

    def count(self) -> int:
        return self._col.count()
