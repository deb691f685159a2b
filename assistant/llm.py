"""The LLM answer mode: the extractive answer, rephrased by a chat model and checked by the figure guard.

The extractive Assistant still finds the records; the model only words the answer. Whatever the model
writes must pass `guard.check` (every number from a cited record, every [n] a real citation), or the
extractive answer is returned instead with a Japanese `notice`. Model errors and timeouts fall back the
same way, so this mode is never worse than the extractive one.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence

from langchain_core.exceptions import ModelTimeoutError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from prompts import Prompts, load_prompts
from vectorstore.store import Filters, Store

from .answer import Answer, Citation, Status
from .core import Assistant
from .guard import check
from .messages import History

log = logging.getLogger(__name__)

NOTICES = {
    "number": "LLMの回答に出典にない数値が含まれていたため、抽出回答を表示しています。",
    "citation": "LLMの回答の出典番号が正しくなかったため、抽出回答を表示しています。",
    "timeout": "LLMの応答が時間内に得られなかったため、抽出回答を表示しています。",
    "error": "LLMを呼び出せなかったため、抽出回答を表示しています。",
    "empty": "LLMの回答が空だったため、抽出回答を表示しています。",
}
_THINK = re.compile(r"<think>.*?(</think>|$)", re.S)  # reasoning models' scratchpad is not the answer
_CONDENSED_MAX = 300


class _Deadline(Exception):
    """The model streamed past the time allowed for one call."""


class LLMAssistant:
    """Same interface as Assistant (`ask`, `ask_stream`), answering through a chat model.

    `fallbacks` counts, by cause, the answers that fell back to the extractive one:
    "number", "citation", "timeout", "error", "empty"; "condense" counts follow-ups whose
    condensing failed (they were answered from the original question and the history)."""

    def __init__(self, extractive: Assistant, chat_model: BaseChatModel, prompts: Prompts | None = None,
                 *, deadline: float | None = None) -> None:
        self.extractive = extractive
        self.chat_model = chat_model
        self.prompts = prompts or load_prompts()
        self.deadline = deadline
        self.fallbacks: Counter[str] = Counter()
        self.answered = 0  # answers the model wrote and the guard accepted

    @property
    def store(self) -> Store:
        return self.extractive.store

    def explain(self, question: str, history: History | None = None, filters: Filters | None = None) -> str:
        """The extractive ranking the model's answer starts from (the model only rewrites it)."""
        return self.extractive.explain(question, history, filters)

    def ask(self, question: str, history: History | None = None, filters: Filters | None = None) -> Answer:
        final: Answer | None = None
        for item in self.ask_stream(question, history, filters):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def ask_stream(self, question: str, history: History | None = None,
                   filters: Filters | None = None) -> Iterator[str | Answer]:
        """Text deltas as the model writes them, then the final Answer.

        Contract for the UI: the final Answer's `answer` is the text to keep. It equals the streamed
        deltas joined (stripped) when the guard accepts the model's text; when it does not (a figure
        not in the records, a bad [n], a timeout or an error) the final Answer holds the extractive
        answer and a `notice`, and the UI must replace what it has shown with `answer.answer`.
        When the extractive answer is not_found the model is not called: the deltas are the
        extractive text and the final Answer is the extractive one."""
        standalone = self._condense(question, history or [])
        asked = standalone or question
        base = self.extractive.ask(asked, history, filters)
        if standalone and base.status is not Status.ANSWERED:
            # a poor rewrite must not lose an answer the history rules would find
            asked = question
            base = self.extractive.ask(asked, history, filters)
        if base.status is not Status.ANSWERED or not (question or "").strip():
            yield from _pieces(base.answer)
            yield base
            return
        system, user = self.prompts.answer.render(
            question=_data(asked.strip()), records=records_block(base.citations),
            draft=_data(base.answer))
        shown = ""
        buffer = ""
        try:
            for delta in self._stream([SystemMessage(system), HumanMessage(user)]):
                buffer += delta
                visible = _visible(buffer)
                if visible.startswith(shown) and len(visible) > len(shown):
                    yield visible[len(shown):]
                    shown = visible
        except Exception as exc:  # any model failure falls back; the user still gets the extractive answer
            cause = "timeout" if _is_timeout(exc) else "error"
            log.warning("LLM answer failed (%s): %s", cause, exc)
            yield self._fallback(base, cause)
            return
        # Years the user named may be restated; the rewrite's are the model's, so they don't count.
        said = " ".join([question] + [h.content for h in history or [] if h.role == "user"])
        yield self._judge(base, _visible(buffer, final=True).strip(), said)

    # --- steps ------------------------------------------------------------------------------
    def _judge(self, base: Answer, text: str, question: str) -> Answer:
        if not text:
            return self._fallback(base, "empty")
        verdict = check(text, base.citations, draft=base.answer, question=question)
        if not verdict.ok:
            log.info("LLM answer rejected (%s: %s): %s", verdict.cause, verdict.detail, text)
            return self._fallback(base, verdict.cause)
        self.answered += 1
        return base.model_copy(update={"answer": text})

    def _fallback(self, base: Answer, cause: str) -> Answer:
        self.fallbacks[cause] += 1
        return base.model_copy(update={"notice": NOTICES[cause]})

    def _condense(self, question: str, history: History) -> str:
        """A standalone question for retrieval, or "" (then the extractive history rules apply)."""
        turns = [h for h in history if h.content]
        if not any(h.role == "user" for h in turns) or not (question or "").strip():
            return ""
        lines = "\n".join(f"{'利用者' if h.role == 'user' else 'アシスタント'}: {_data(h.content)}"
                          for h in turns[-6:])
        system, user = self.prompts.condense.render(history=lines, question=_data(question.strip()))
        try:
            text = "".join(self._stream([SystemMessage(system), HumanMessage(user)]))
        except Exception as exc:  # condensing is an optimisation: the history rules still answer
            log.warning("condensing failed: %s", exc)
            self.fallbacks["condense"] += 1
            return ""
        text = _visible(text, final=True).strip().strip("「」\"'").strip()
        text = re.sub(r"^(書き換えた質問|質問)\s*[:：]\s*", "", text)
        if not text or "\n" in text or len(text) > _CONDENSED_MAX:
            self.fallbacks["condense"] += 1
            return ""
        return text

    def _stream(self, messages: list) -> Iterator[str]:
        """The model's text deltas; raises _Deadline when the whole call takes longer than allowed
        (the HTTP client's timeout only bounds each read, and a slow stream can go on for ever)."""
        start = time.monotonic()
        for chunk in self.chat_model.stream(messages):
            if self.deadline is not None and time.monotonic() - start > self.deadline:
                raise _Deadline(f"no complete answer within {self.deadline} s")
            text = str(chunk.text)
            if text:
                yield text


def records_block(citations: Sequence[Citation]) -> str:
    """The cited records, numbered as the answer cites them, one field per line."""
    out = []
    for c in citations:
        lines = [f"[{c.n}] 事業名: {c.project_name}" + (f"（{c.municipality}）" if c.municipality else "")]
        where = " / ".join(x for x in (c.section, c.label if c.label != c.section else "") if x)
        if where:
            lines.append(f"    欄: {where}")
        year = " ".join(x for x in (c.fiscal_year_label, f"（{c.kind}）" if c.kind and c.kind not in
                                    c.fiscal_year_label and c.kind != "不明" else "") if x)
        if year:
            lines.append(f"    年度: {year}")
        if c.value:
            lines.append(f"    値: {c.value}{c.unit}")
        if c.quote:
            lines.append(f"    記載: {c.quote}")
        out.append("\n".join(lines))
    return _data("\n".join(out))


def _data(text: str) -> str:
    """Untrusted text for inside the data block: it cannot close the block or open a tag of its own."""
    return text.replace("<", "＜").replace(">", "＞")


def _visible(buffer: str, final: bool = False) -> str:
    """What to show of the model's text so far: no <think> scratchpad (an unclosed one hides the rest)."""
    text = _THINK.sub("", buffer)
    if not final and text and len(text) < len("<think>") and "<think>".startswith(text):
        return ""  # the start of a '<think>' tag may still be arriving
    return text


def _pieces(text: str) -> Iterator[str]:
    for piece in re.split(r"(?<=[。\n])", text):
        if piece:
            yield piece


def _is_timeout(exc: BaseException) -> bool:
    """A timeout from any client: LangChain's, httpx's, openai's, the stdlib's, or our deadline."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError | ModelTimeoutError | _Deadline) or \
                any("Timeout" in cls.__name__ for cls in type(seen).__mro__):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
