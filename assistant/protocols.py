"""The assistant as the UI and the CLI see it: one Protocol that the extractive Assistant
(assistant/core.py) and the LLMAssistant (assistant/llm.py) both implement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from vectorstore.store import Filters, Store

from .answer import Answer
from .messages import History


class Assistant(Protocol):
    """question (+history, +filters) -> Answer."""

    @property
    def store(self) -> Store:
        """The store the answers are read from (the UI lists and shows its sheets)."""
        ...

    def ask(self, question: str, history: History | None = None, filters: Filters | None = None) -> Answer:
        """The answer, with its citations; never raises for a question it cannot answer (not_found)."""
        ...

    def ask_stream(self, question: str, history: History | None = None,
                   filters: Filters | None = None) -> Iterator[str | Answer]:
        """Text deltas as they are ready, then the final Answer, whose text replaces the deltas."""
        ...

    def explain(self, question: str, history: History | None = None, filters: Filters | None = None) -> str:
        """Why the answer is what it is (`hyoka ask --explain`)."""
        ...
