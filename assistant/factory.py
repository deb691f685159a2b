"""Build the real store and assistant from settings, in one place."""

from __future__ import annotations

from vectorstore.chroma_index import ChromaConfig
from vectorstore.embeddings import build_embeddings
from vectorstore.store import Store

from .core import Assistant
from .settings import Settings


def build_store(settings: Settings) -> Store:
    chroma = ChromaConfig(mode=settings.chroma.mode, host=settings.chroma.host, port=settings.chroma.port)
    return Store(settings.home, build_embeddings(settings.embedding.model), settings.embedding.model, chroma)


def build_assistant(settings: Settings, store: Store | None = None) -> Assistant:
    return Assistant(store or build_store(settings))
