"""Bounded work per request, checked at the edges (CLI, chat, API) before the assistant is asked.

- A question over the length limit is refused at once with a Japanese message: the answering code
  tokenises, embeds and scans every character, so a 20,000-character question took minutes and
  held a worker while others waited.
- History is cut to the last messages and each message to the same length.
- An answer gets a time budget: the work runs in a helper thread, and the caller stops waiting
  when the budget is spent (the thread finishes on its own; it cannot be killed, but every input
  it can get is bounded, so it ends).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from ingest.errors import HyokaError, UserInputError

from .messages import History, Message

T = TypeVar("T")


class QuestionRefused(UserInputError):
    """A question that cannot be asked as given (too long, unreadable characters)."""


class AnswerTimeout(HyokaError):
    """An answer that did not come within the time budget."""


def check_question(question: object, limit: int) -> str:
    """The question, stripped; raises QuestionRefused when it is not text, too long or not valid Unicode."""
    if not isinstance(question, str):
        raise QuestionRefused("質問は文字列で指定してください。")
    q = question.strip()
    if len(q) > limit:
        raise QuestionRefused(f"質問が長すぎます（{len(q):,} 文字、上限 {limit:,} 文字）。"
                              "知りたいことを短くまとめて質問してください。")
    if has_lone_surrogate(q):
        raise QuestionRefused("質問に読み取れない文字（UTF-8 として正しくない文字）が含まれています。")
    return q


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def trim_history(history: History | None, messages: int, chars: int) -> list[Message]:
    """The last `messages` messages, each cut to `chars` characters (and made valid UTF-8)."""
    out: list[Message] = []
    for m in (history or [])[-messages:] if messages else []:
        content = m.content
        if has_lone_surrogate(content):
            content = content.encode("utf-8", "replace").decode("utf-8")
        out.append(Message(role=m.role, content=content[:chars]))
    return out


def _timeout(seconds: float) -> AnswerTimeout:
    return AnswerTimeout(f"回答に時間がかかりすぎたため中断しました（上限 {seconds:.0f} 秒）。"
                         "質問を短くするか、時間をおいて再度お試しください。")


def call_within(seconds: float, fn: Callable[[], T]) -> T:
    """fn() within the budget, else AnswerTimeout. Its exceptions reach the caller unchanged."""
    items = stream_within(seconds, lambda: iter([fn()]))
    return next(items)


def stream_within(seconds: float, start: Callable[[], Iterator[T]]) -> Iterator[T]:
    """The items of start() as they come, as long as the whole stream stays within the budget."""
    box: queue.Queue[tuple[str, object]] = queue.Queue()

    def run() -> None:
        try:
            for item in start():
                box.put(("item", item))
            box.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box.put(("error", exc))

    threading.Thread(target=run, name="hyoka-answer", daemon=True).start()
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        try:
            kind, value = box.get(timeout=max(left, 0.0))
        except queue.Empty:
            raise _timeout(seconds) from None
        if kind == "end":
            return
        if kind == "error":
            assert isinstance(value, BaseException)
            raise value
        yield value  # type: ignore[misc]
