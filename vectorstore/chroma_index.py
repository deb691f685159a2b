"""One profile vector per sheet in Chroma: the only module that knows Chroma's rules.

Embedded (a persistent folder) by default; a real Chroma server (`chroma run`) for scale-out.
The collection's name carries the embedding model, so changing the model never mixes vectors. On a
server it also carries the records store's identity (an id kept in the store's meta table): every host
that shares the records shares the collection, and two stores on one server never meet, so that
reconcile(), which deletes the vectors its records do not know, never deletes another store's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import StoreError
from ingest.records import stable_id

from .embeddings import model_slug
from .errors import StoreUnwritable, classify

PAGE = 5000


# Candidates HNSW explores per search. At Chroma's default (100) a search missed some of the nearest
# sheets, and which ones varied between two processes on the same store, so one question got two
# answers; at 500 it returned the exact nearest sheets in every run tried.
EF_SEARCH = 500


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
    def __init__(self, folder: Path, model: str, config: ChromaConfig, store_id: str = "",
                 adopt_legacy: bool = False) -> None:
        """`store_id`: the records store's identity. `adopt_legacy`: the records live in this folder's
        HYOKA_HOME (SQLite), so a server collection named after the folder (before stores had ids) holds
        their vectors: it is renamed rather than embedded again."""
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
            if config.mode != "server" and classify(exc):
                raise StoreUnwritable(classify(exc) or "", folder.parent) from exc
            where = f"{config.host}:{config.port}" if config.mode == "server" else str(folder)
            raise StoreError(f"Chroma に接続できません（{where}）: {exc}") from exc
        self.name = f"hyoka-profiles-{model_slug(model)}"
        if config.mode == "server":
            legacy = f"{self.name}-{stable_id(str(folder.resolve()), length=10)}"
            self.name = f"{self.name}-{store_id}" if store_id else legacy
            if store_id and adopt_legacy:
                self._adopt(legacy)
        self._col = self._client.get_or_create_collection(
            self.name, configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}}, embedding_function=None,
            metadata={"embedding_model": model, "records_store": store_id or "legacy"})
        self._search_wide()

    def _search_wide(self) -> None:
        """A collection made before EF_SEARCH was set gets it (a setting Chroma lets change)."""
        try:
            hnsw = (self._col.configuration or {}).get("hnsw") or {}
            ef = hnsw.get("ef_search") or 0
            if ef < EF_SEARCH:
                self._col.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        except Exception:  # noqa: BLE001 - another process changed it first, or a read-only store: searches still work
            pass

    def _adopt(self, legacy: str) -> None:
        names = {c.name for c in self._client.list_collections()}
        if self.name in names or legacy not in names:
            return
        try:
            self._client.get_collection(legacy).modify(name=self.name)
        except Exception:  # another process renamed it first
            pass

    def upsert(self, ids: list[str], vectors: list[list[float]], metas: list[dict[str, Any]]) -> None:
        for i in range(0, len(ids), 1000):
            self._col.upsert(ids=ids[i:i + 1000], embeddings=vectors[i:i + 1000],  # type: ignore[arg-type]
                             metadatas=[_flat(m) for m in metas[i:i + 1000]])

    def delete(self, ids: list[str]) -> None:
        if ids:
            self._col.delete(ids=ids)

    def hashes(self) -> dict[str, str]:
        # In pages: one get() of every id fails past ~32k vectors ("too many SQL variables").
        out: dict[str, str] = {}
        for offset in range(0, self._col.count(), PAGE):
            got = self._col.get(include=["metadatas"], limit=PAGE, offset=offset)  # type: ignore[list-item]
            out.update((i, str((m or {}).get("content_hash", "")))
                       for i, m in zip(got["ids"], got["metadatas"] or [], strict=False))
        return out

    def query(self, vector: list[float], k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        # No count() first: Chroma returns fewer than k results when it holds fewer (or none), and on a
        # server each call is a round trip.
        res = self._col.query(query_embeddings=[vector], n_results=k,  # type: ignore[arg-type]
                              where=where or None, include=["distances"])  # type: ignore[list-item]
        ids = res["ids"][0]
        dists = (res.get("distances") or [[]])[0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=False)]

    def count(self) -> int:
        return self._col.count()
