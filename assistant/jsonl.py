"""`hyoka ask --jsonl`: one output line per input line, whatever the line holds.

The contract scripts rely on: the n-th output line answers the n-th input line and carries its
`id`. A line that cannot be asked (not UTF-8, not JSON, not an object, a question that is not a
string, a malformed history) gets `{"id": …, "status": "error", "error_type": "input", "error": "…"}`;
a failure inside hyoka gets `"error_type": "internal"` (a bug, reported on stderr with its
traceback) or `"store"` (the index cannot be read), so that no script mistakes one for the other.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ingest.errors import HyokaError, StoreError

from .answer import Answer
from .bounds import QuestionRefused, check_question, has_lone_surrogate, trim_history
from .messages import History, Message

log = logging.getLogger("hyoka.jsonl")


class Asker(Protocol):
    def ask(self, question: str, history: History | None = None) -> Answer: ...


@dataclass(frozen=True)
class LineLimits:
    question_chars: int = 1000
    history_messages: int = 20


class _BadLine(Exception):
    def __init__(self, qid: Any, message: str) -> None:
        super().__init__(message)
        self.qid = qid
        self.message = message


def error_line(qid: Any, message: str, kind: str) -> dict[str, Any]:
    return {"id": qid, "status": "error", "error_type": kind, "error": message}


def answer_lines(asker: Asker, lines: Iterable[bytes], limits: LineLimits) -> Iterator[dict[str, Any]]:
    """One dict per input line, in order."""
    for n, raw in enumerate(lines, start=1):
        try:
            qid, question, history = _read(raw, n, limits)
        except _BadLine as bad:
            yield error_line(bad.qid, bad.message, "input")
            continue
        # Only reading the line above is the caller's mistake: whatever the assistant raises is ours,
        # even a UserInputError (the line was already checked), and never reported as "input".
        try:
            yield {"id": qid} | asker.ask(question, history).contract()
        except StoreError as exc:
            log.error("%d 行目 (id %r): 索引を読めません: %s", n, qid, exc.message_ja)
            yield error_line(qid, exc.message_ja, "store")
        except HyokaError as exc:
            log.error("%d 行目 (id %r): hyoka の内部エラー: %s", n, qid, exc.message_ja)
            yield error_line(qid, exc.message_ja, "internal")
        except Exception as exc:
            log.error("%d 行目 (id %r): hyoka の内部エラー（%s: %s）。入力行の誤りではありません:\n%s",
                      n, qid, type(exc).__name__, exc, traceback.format_exc())
            yield error_line(qid, "hyoka の内部エラーで答えられませんでした（入力行の誤りではありません。"
                                  "詳細は標準エラー出力にあります）", "internal")


def _read(raw: bytes, n: int, limits: LineLimits) -> tuple[Any, str, list[Message]]:
    try:
        text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise _BadLine(None, f"{n} 行目: UTF-8 として読めません（{exc.start + 1} バイト目）") from exc
    if not text.strip():
        raise _BadLine(None, f"{n} 行目: 空の行です")
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _BadLine(None, f"{n} 行目: JSON として読めません（{exc.pos + 1} 文字目）") from exc
    if not isinstance(item, dict):
        raise _BadLine(None, f"{n} 行目: JSON オブジェクト（{{\"id\": …, \"question\": …}}）ではありません")
    qid = item.get("id")
    if isinstance(qid, dict | list):
        raise _BadLine(None, f"{n} 行目: id は文字列か数値にしてください")
    if "question" not in item:
        raise _BadLine(qid, f"{n} 行目: question がありません")
    question = item["question"]
    if not isinstance(question, str):
        raise _BadLine(qid, f"{n} 行目: question は文字列にしてください")
    try:
        question = check_question(question, limits.question_chars)
    except QuestionRefused as exc:
        raise _BadLine(qid, f"{n} 行目: {exc.message_ja}") from exc
    return qid, question, _history(item.get("history"), qid, n, limits)


def _history(history: Any, qid: Any, n: int, limits: LineLimits) -> list[Message]:
    if history is None:
        return []
    messages: list[Message] = []
    if not isinstance(history, list):
        raise _BadLine(qid, f"{n} 行目: history は [{{\"role\": \"user\", \"content\": \"…\"}}, …] の形の配列にしてください")
    for i, m in enumerate(history, start=1):
        if not (isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)):
            raise _BadLine(qid, f"{n} 行目: history の {i} 番目が不正です（role が user か assistant、"
                                "content が文字列のオブジェクトにしてください）")
        if has_lone_surrogate(m["content"]):
            raise _BadLine(qid, f"{n} 行目: history の {i} 番目に読み取れない文字が含まれています")
        messages.append(Message(role=m["role"], content=m["content"]))
    return trim_history(messages, limits.history_messages, limits.question_chars * 4)


def dumps(obj: dict[str, Any]) -> str:
    """One output line. An id holding a lone surrogate (valid JSON, not valid UTF-8) is escaped;
    bidi and C1 control characters are escaped too, so a terminal shows what the line holds."""
    try:
        text = json.dumps(obj, ensure_ascii=False)
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True)
    return escape_invisible(text)


_INVISIBLE = {c: f"\\u{c:04x}" for c in [*range(0x80, 0xA0), 0x061C, *range(0x200B, 0x2010),
                                          *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF]}


def escape_invisible(json_text: str) -> str:
    """Inside a JSON text, write bidi, zero-width and C1 control characters as \\uXXXX escapes
    (the same string once parsed)."""
    return json_text.translate(_INVISIBLE)
