"""Build the real store, assistant and chat model from settings, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.errors import UserInputError
from vectorstore.chroma_index import ChromaConfig
from vectorstore.embeddings import build_embeddings, missing_extra
from vectorstore.indexer import Indexer
from vectorstore.records import RecordsStore
from vectorstore.records_db import RecordsDB
from vectorstore.store import Store

from .core import Assistant
from .protocols import Assistant as AnyAssistant
from .settings import LLMSettings, Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def build_records(settings: Settings) -> RecordsStore:
    """SQLite in HYOKA_HOME, or the PostgreSQL database HYOKA_RECORDS__URL names."""
    if settings.records.url:
        from vectorstore.records_pg import PostgresRecords

        return PostgresRecords(settings.records.url, pool_size=settings.records.pool_size)
    return RecordsDB(settings.home / "records.sqlite3")


def build_store(settings: Settings) -> Store:
    chroma = ChromaConfig(mode=settings.chroma.mode, host=settings.chroma.host, port=settings.chroma.port)
    return Store(settings.home, build_embeddings(settings.embedding.model), settings.embedding.model, chroma,
                 records=build_records(settings))


def build_indexer(settings: Settings, store: Store | None = None) -> Indexer:
    """The ingest service for the store, embedding the unit kinds the settings choose."""
    return Indexer(store or build_store(settings), embed_units=settings.embedding.unit_kinds(),
                   limits=settings.limits.files())


def build_assistant(settings: Settings, store: Store | None = None) -> AnyAssistant:
    """The extractive Assistant, or (answer_mode "llm") an LLMAssistant wrapping it."""
    extractive = Assistant(store or build_store(settings))
    if settings.answer_mode != "llm":
        return extractive
    from .llm import LLMAssistant

    return LLMAssistant(extractive, build_chat_model(settings.llm), deadline=settings.llm.timeout)


def build_chat_model(llm: LLMSettings) -> BaseChatModel:
    """ChatOpenAI for any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, OpenAI), or ChatOllama.

    Nothing is contacted here; the first question does. No retries: a failed call falls back to the
    extractive answer at once instead of making the user wait several timeouts."""
    if not llm.model:
        raise UserInputError("LLM モードにはモデル名が必要です。HYOKA_LLM__MODEL を設定してください"
                             "（例: HYOKA_LLM__MODEL=qwen2.5:7b-instruct）。")
    if llm.provider == "ollama":
        return _ollama(llm)
    return _openai(llm)


def _openai(llm: LLMSettings) -> BaseChatModel:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise UserInputError(missing_extra("llm", "OpenAI 互換サーバーの LLM ")) from exc
    # ChatOpenAI renames max_tokens to max_completion_tokens in the request. vLLM, llama.cpp and
    # LM Studio read max_tokens (some ignore the new name and never stop), so a self-hosted server
    # (base_url set) gets both; api.openai.com gets only max_completion_tokens, which it requires.
    extra = {"max_tokens": llm.max_tokens} if llm.base_url else None
    return ChatOpenAI(model=llm.model, base_url=llm.base_url or None, api_key=llm.api_key,
                      temperature=llm.temperature, max_tokens=llm.max_tokens,  # pyright: ignore[reportCallIssue] - a field pyright's view of the pydantic model misses
                      timeout=llm.timeout, max_retries=0, extra_body=extra)


def _ollama(llm: LLMSettings) -> BaseChatModel:
    try:
        from langchain_ollama import ChatOllama
    except ImportError as exc:
        raise UserInputError(missing_extra("llm", "Ollama の LLM ")) from exc
    return ChatOllama(model=llm.model, base_url=llm.base_url or None, temperature=llm.temperature,
                      num_predict=llm.max_tokens, client_kwargs={"timeout": llm.timeout})
