"""Evidence units: the pieces of a sheet that an answer can rest on.

A unit is derived from the records alone (never stored apart from them), so it is the same in
every process and for every store backend:

- a **passage**: a sentence or bullet of a narrative section (very short ones joined to the next),
  kept with its section and printed label and its exact place in the section's text;
- a **row**: one row of a table of figures (table, row label, unit, every year and value);
- the **profile**: the sheet's name, municipality, department and overview, to find the sheet.

What a unit shows (`text`) is separate from what is searched (`search_text`, which adds the label:
「開始したきっかけ」 in a label is how a passage is found for 「きっかけは？」) and what is embedded
(`embedding_text`).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from .records import NarrativeRecord, ParsedSheet, Section, Table, TableCell, stable_id

# A passage ends after 。！？, before a bullet (●○■◆※◎〇, a circled number, or a ・ that opens a line or
# follows a space or a sentence's end), or at a line break. A ・ inside a sentence joins nouns
# (文化遺産・商店街の取組): it is no bullet.
_BREAK = re.compile(r"(?<=[。！？])|(?=[●○■◆※◎〇][^\s・])|(?<=[\s。！？])(?=・[^\s・])|(?=\s[①-⑳])|(?=\s\(\d+\)\s?)|\n")
SHORT = 24          # a shorter piece is a heading or a clipped clause: joined to the next
LONG = 320          # a longer one is cut at a comma near this length, so a quote stays readable
PROFILE_CHARS = 400


class UnitKind(StrEnum):
    PASSAGE = "passage"
    ROW = "row"
    PROFILE = "profile"


@dataclass(frozen=True)
class Unit:
    unit_id: str
    sheet_id: str
    kind: UnitKind
    text: str                          # as shown: the passage as printed, the row as label + values
    label: str = ""                    # the section label or the row label as printed
    section: Section | None = None     # passages
    table: Table | None = None         # rows
    record_id: str = ""                # the narrative record of a passage
    start: int = 0                     # where the passage sits in its record's text
    end: int = 0
    cells: tuple[TableCell, ...] = ()  # a row's cells, in sheet order

    def search_text(self) -> str:
        """What the index holds for the unit. A passage's label is not indexed with it: the same form
        prints it on every sheet, so it finds no sheet; the answerer adds it when weighing passages
        (`label_text`), where 「開始したきっかけ」 routes 「きっかけは？」."""
        if self.kind is UnitKind.PASSAGE:
            return self.text
        if self.kind is UnitKind.ROW:
            unit = self.cells[0].unit if self.cells else ""
            table = self.cells[0].table_label if self.cells and self.cells[0].table_label else self.table
            return f"{table} {self.label} {unit}"
        return self.text

    def label_text(self) -> str:
        return self.label if self.kind is UnitKind.PASSAGE else ""

    def embedding_text(self) -> str:
        if self.kind is UnitKind.PASSAGE and self.section is not None:
            return f"{self.section.value}（{self.label}）: {self.text}"
        return self.search_text()


def passages_of(rec: NarrativeRecord) -> list[tuple[int, int]]:
    """(start, end) of each passage of a section's text, in order; only blank runs fall between them."""
    text = rec.text
    cuts = sorted({0, len(text), *(m.start() for m in _BREAK.finditer(text))})
    spans = [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if text[a:b].strip()]
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and (out[-1][1] - out[-1][0] < SHORT or not text[out[-1][0]:out[-1][1]].strip(" ・●○")):
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    if len(out) >= 2 and out[-1][1] - out[-1][0] < SHORT // 2:
        out[-2:] = [(out[-2][0], out[-1][1])]
    return [piece for a, b in out for piece in _cut_long(text, a, b)]


def _cut_long(text: str, a: int, b: int) -> list[tuple[int, int]]:
    out = []
    while b - a > LONG:
        comma = max(text.rfind("、", a + LONG // 2, a + LONG), text.rfind("，", a + LONG // 2, a + LONG))
        cut = comma + 1 if comma > 0 else a + LONG
        out.append((a, cut))
        a = cut
    out.append((a, b))
    return out


def profile_text(ps: ParsedSheet) -> str:
    """One short passage per sheet, embedded to find the sheet: name, owner, what it does."""
    s = ps.sheet
    parts = [s.project_name, f"（{s.municipality} {s.department}）"]
    by_section: dict[str, str] = {}
    for n in ps.narratives:
        by_section.setdefault(n.section.value, n.text)
    for sec in ("事業概要", "目的・意図", "対象"):
        if sec in by_section:
            parts.append(by_section[sec][:160])
    return " ".join(parts)[:PROFILE_CHARS]


_CACHE: OrderedDict[tuple[str, str], tuple[Unit, ...]] = OrderedDict()
_CACHE_SIZE = 4096
_LOCK = threading.Lock()


def units_of(ps: ParsedSheet, cache: bool = True) -> tuple[Unit, ...]:
    """Every unit of a sheet, in sheet order: the profile, then passages, then rows.

    Cached by (sheet id, content hash): the same candidate sheets come back question after question.
    Ingest passes cache=False: it sees each sheet once, and 50,000 of them would only fill memory."""
    if not cache:
        return _derive(ps)
    key = (ps.sheet.sheet_id, ps.content_hash())
    with _LOCK:
        got = _CACHE.get(key)
        if got is not None:
            _CACHE.move_to_end(key)
            return got
    units = _derive(ps)
    with _LOCK:
        _CACHE[key] = units
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return units


def _derive(ps: ParsedSheet) -> tuple[Unit, ...]:
    sid = ps.sheet.sheet_id
    out = [Unit(stable_id(sid, "profile"), sid, UnitKind.PROFILE, profile_text(ps))]
    for rec in ps.narratives:
        for a, b in passages_of(rec):
            out.append(Unit(stable_id(rec.record_id, a, b), sid, UnitKind.PASSAGE, rec.text[a:b].strip(),
                            label=rec.label, section=rec.section, record_id=rec.record_id, start=a, end=b))
    for (_, label), cells in ps.rows().items():
        values = " / ".join(f"{c.fiscal_year_label} {c.value_text or '空欄'}" for c in cells)
        out.append(Unit(stable_id(cells[0].record_id, "row"), sid, UnitKind.ROW, f"{label}: {values}",
                        label=label, table=cells[0].table, cells=tuple(cells)))
    return tuple(out)
