"""Example questions drawn from the sheets actually in the store, so that every example answers.

A fixed list of examples was refused on the very sheet the app ships with (it asked for a year the
sheet does not have). Here each example is written from a sheet's own contents (a section it
fills in, a figure it prints, its department) and then asked: only questions the assistant
answers, with the figure the example was written from when it asks for one, are offered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from ingest.normalize import western_to_wareki
from ingest.records import Kind, ParsedSheet, Section, Table

from .answer import Answer
from .messages import History

# Sections a newcomer asks about first, in that order, with how the question reads.
_SECTIONS = ((Section.ORIGIN, "はいつ、どのように始まったのですか"), (Section.PURPOSE, "の目的は何ですか"),
             (Section.OVERVIEW, "はどんな事業ですか"), (Section.ISSUES, "の課題は何ですか"))
_TABLES = (Table.TOTAL_COST, Table.COST, Table.OUTCOME, Table.ACTIVITY)
_ACTUAL = {Kind.ACTUAL, Kind.SETTLED, Kind.UNKNOWN}


class _Asks(Protocol):
    def ask(self, question: str, history: History | None = None) -> Answer: ...


def candidates(ps: ParsedSheet) -> Iterator[tuple[str, str]]:
    """(question, the value its answer must cite, or "") for one sheet, most useful first."""
    name = ps.sheet.project_name
    have = {n.section for n in ps.narratives if n.text.strip()}
    for section, phrase in _SECTIONS:
        if section in have:
            yield f"{name}{phrase}", ""
            break
    cell = _latest_figure(ps)
    if cell is not None:
        yield f"{name}の{western_to_wareki(cell.fiscal_year)}年度の{cell.table.value}は？", cell.value_text  # type: ignore[arg-type]
        yield f"{name}の{cell.table.value}の推移を教えてください", ""
    if ps.sheet.department:
        yield f"{name}の担当部署はどこですか", ""


def _latest_figure(ps: ParsedSheet):
    """The most recent filled-in actual of the first table a newcomer would ask about."""
    for table in _TABLES:
        cells = [c for c in ps.cells if c.table is table and c.value is not None and c.fiscal_year
                 and c.kind in _ACTUAL]
        if cells:
            return max(cells, key=lambda c: c.fiscal_year or 0)
    return None


def answers(assistant: _Asks, question: str, value: str) -> bool:
    try:
        a = assistant.ask(question)
    except Exception:  # noqa: BLE001 - an example that fails is simply not offered
        return False
    if a.status.value != "answered" or not a.citations:
        return False
    return not value or any(c.value == value for c in a.citations)


def example_questions(sheets: list[ParsedSheet], assistant: _Asks, n: int = 4) -> list[str]:
    """Up to n questions the assistant answers, from the first sheets given (the richest first is
    the caller's choice), at most three from one sheet so that two sheets show up when there are two."""
    out: list[str] = []
    for ps in sheets:
        taken = 0
        for question, value in candidates(ps):
            if len(out) >= n or taken >= 3:
                break
            if question not in out and answers(assistant, question, value):
                out.append(question)
                taken += 1
        if len(out) >= n:
            break
    return out
