"""The vector index behind the store: one profile vector per sheet, found by nearest neighbours.

ChromaIndex (chroma_index.py, embedded or a `chroma run` server) is the one engine; another
engine is one new module implementing VectorIndex plus one line where Store builds it.
"""

from __future__ import annotations

from typing import Any, Protocol


class VectorIndex(Protocol):
    """Vectors by sheet id, each with flat metadata (str, int, float or bool values)."""

    @property
    def name(self) -> str:
        """The collection's name: the embedding model and the records store are part of it, so
        vectors of two models or of two stores never mix."""
        ...

    def upsert(self, ids: list[str], vectors: list[list[float]], metas: list[dict[str, Any]]) -> None: ...

    def delete(self, ids: list[str]) -> None: ...

    def hashes(self) -> dict[str, str]:
        """Sheet id -> the content hash its vector was made from (to reconcile with the records)."""
        ...

    def query(self, vector: list[float], k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """The k nearest sheet ids with their similarity, best first; `where` filters by metadata."""
        ...

    def count(self) -> int: ...
