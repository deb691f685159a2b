"""A conversation's messages, typed: what the history of a follow-up question is made of.

The chat (Gradio's own message dicts), `hyoka ask --jsonl` and `hyoka eval` (JSON objects) convert
theirs once, at the edge; everything inside takes `History`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "assistant"]


class Message(BaseModel):
    """One earlier message of the conversation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role = Field(description="Who wrote it: the user (a question) or the assistant (an answer)")
    content: str = Field(description="Its text as shown (an answer's text, without its sources)")


History = Sequence[Message]


def history_from_json(items: object) -> list[Message]:
    """Messages from JSON objects ({"role": …, "content": …}), keeping only well-formed ones (an
    eval file's history; `hyoka ask --jsonl` checks each and names a bad one instead)."""
    if not isinstance(items, list):
        return []
    out: list[Message] = []
    for m in cast(list[object], items):
        if isinstance(m, dict):
            item = cast(dict[str, object], m)
            role, content = item.get("role"), item.get("content")
            if role == "user" and isinstance(content, str):
                out.append(Message(role="user", content=content))
            elif role == "assistant" and isinstance(content, str):
                out.append(Message(role="assistant", content=content))
    return out
