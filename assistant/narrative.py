"""Finding the sentences of a sheet that answer a narrative question."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from ingest.records import NarrativeRecord, ParsedSheet, Section
from vectorstore.tokens import tokenize

from .understand import informative_tokens

_SENTENCE_END = re.compile(r"(?<=[。！？])|(?=\s[・●○■◆※]\s?)|(?=\s\d+[.．)）]\s)")
WHOLE_SECTION_CHARS = 420


@dataclass(frozen=True)
class Passage:
    record: NarrativeRecord
    quote: str
    coverage: float      # idf-weighted share of the question's content words the quote holds
    routed: bool         # the section is the one the question asks about
    answers: bool = True  # holds what the question asks for (a date for いつ, a count for 何人...)


@lru_cache(maxsize=200_000)
def _sentence_tokens(sentence: str) -> frozenset[str]:
    """Tokens of a sentence, cached: the same candidate sheets come back query after query."""
    return frozenset(tokenize(sentence))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def find_passages(ps: ParsedSheet, question_tokens: list[str], sections: tuple[Section, ...],
                  idf: Callable[[str], float], exclude: set[str],
                  wants: re.Pattern[str] | None = None) -> list[Passage]:
    """Best passages: a whole routed section when the question names one, else the best sentences.

    With `wants` (what the answer must hold), a sentence that holds it is preferred and one that
    does not is marked as not answering."""
    wanted = [t for t in informative_tokens(question_tokens) if t not in exclude]
    weight = sum(idf(t) for t in wanted) or 1.0
    out: list[Passage] = []
    for rec in ps.narratives:
        routed = rec.section in sections
        sents = sentences(rec.text)
        scored = []
        for i, sent in enumerate(sents):
            toks = _sentence_tokens(sent)
            cov = sum(idf(t) for t in wanted if t in toks) / weight if wanted else 0.0
            if wants is not None and not wants.search(unicodedata.normalize("NFKC", sent)):
                cov *= 0.6
            scored.append((cov, i, sent))
        best = max(scored, default=(0.0, 0, ""))
        if routed:
            quote = _routed_quote(rec.text, scored)
            cov = max(best[0], sum(idf(t) for t in wanted if t in _sentence_tokens(rec.text)) / weight if wanted else 0)
            out.append(Passage(rec, quote, cov, True, _holds(wants, quote)))
        elif best[2]:
            quote = _with_neighbour(sents, best[1])
            out.append(Passage(rec, quote, best[0], False, _holds(wants, quote)))
    rank = {s: i for i, s in enumerate(sections)}
    out.sort(key=lambda p: (not p.routed, rank.get(p.record.section, 99), -p.coverage))
    routed = [p for p in out if p.routed]
    if routed:
        return routed
    return sorted(out, key=lambda p: -p.coverage)


def _holds(wants: re.Pattern[str] | None, text: str) -> bool:
    return wants is None or bool(wants.search(unicodedata.normalize("NFKC", text)))


def _routed_quote(text: str, scored: list[tuple[float, int, str]]) -> str:
    if len(text) <= WHOLE_SECTION_CHARS:
        return text
    keep = sorted(sorted(scored, key=lambda x: (-x[0], x[1]))[:3], key=lambda x: x[1])
    first = min(scored, key=lambda x: x[1]) if scored else None
    chosen = {i for _, i, _ in keep} | ({first[1]} if first else set())
    return " … ".join(s for _, i, s in sorted(scored, key=lambda x: x[1]) if i in chosen)


def _with_neighbour(sents: list[str], i: int) -> str:
    """A sentence with its successor when it is very short (a heading or a clipped clause)."""
    s = sents[i]
    if len(s) < 25 and i + 1 < len(sents):
        s = f"{s} {sents[i + 1]}"
    return s
