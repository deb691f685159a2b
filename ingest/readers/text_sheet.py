"""Plain-text and Markdown exports of a sheet: headings, 'label: value' lines and tables.

Headings are Markdown '#', 【…】, ■/□/◆/●, (1)/（1） and ①…; the text under a heading is that
section. Tables are Markdown '|' rows or tab-separated rows; a row of year headers starts figures.
Tab-heavy .txt files are the tsv_sheet reader's (the 栃木 export), so this one leaves them alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NotASheet, SheetFileError
from ..normalize import YearContext
from ..records import ParsedSheet, Section, SheetBuilder, Table, tidy_text
from ..textio import decode_bytes, looks_textual, read_text
from ..years import bare_year_era
from .labels import (
    DEPARTMENT_LABELS,
    ID_LABELS,
    MUNICIPALITY_LABELS,
    NAME_LABELS,
    city_in,
    is_label,
    section_for,
)
from .xlsx_tabs import Grid, Header, SectionOf, grid_header, grid_records, money_checks, new_builder

NAME = "text_sheet"

_SUFFIXES = {".txt", ".md", ".markdown"}
_TAB_SHARE = 0.3  # above this share of tabbed lines a .txt is a TSV export, not prose
_HEADING_RE = re.compile(
    r"^\s*(?:#{1,6}\s*(?P<md>.+?)\s*#*|【(?P<br>[^】]+)】(?P<rest>.*)|[■□◆◇●○▼]\s*(?P<mark>.+)"
    r"|(?P<num>[（(]\s*\d+\s*[)）]\s*.+|[①-⑳]\s*.+))$")
_KV_RE = re.compile(r"^\s*(?:[-*・]\s*)?(?:\*\*)?([^:：|\t]{1,30}?)(?:\*\*)?\s*[:：]\s*(.*)$")
_SEPARATOR_RE = re.compile(r"^\s*\|?\s*:?-{2,}")
_YEAR_LABELS = ("評価年度", "年度", "実施年度", "対象年度")


@dataclass
class TextDoc:
    """What a text file says, before it becomes records."""

    header: Header = field(default_factory=Header)
    narratives: list[tuple[str, str, int]] = field(default_factory=list)  # label, text, line
    grids: list[tuple[Grid, list[int]]] = field(default_factory=list)      # grid, its line numbers
    title: str = ""


def sniff(path: Path, head: bytes) -> bool:
    if path.suffix.lower() not in _SUFFIXES or not looks_textual(head):
        return False
    text = _decode_head(head, str(path))
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or sum("\t" in line for line in lines) / len(lines) > _TAB_SHARE:
        return False
    return "事業名" in text


def _decode_head(head: bytes, name: str) -> str:
    """The first bytes of a file may end inside a character; drop up to 3 bytes until it decodes."""
    for cut in range(4):
        try:
            return decode_bytes(head[: len(head) - cut] if cut else head, name)
        except (SheetFileError, UnicodeDecodeError):
            continue
    return ""


def read(path: Path) -> list[ParsedSheet]:
    text = read_text(path)
    doc = parse_text(text.splitlines())
    if not doc.header.name:
        raise NotASheet("事務事業名（事業名）が見つからないため、評価シートとして読めません")
    return [build(path, doc, text, section_for, NAME)]


def build(path: Path, doc: TextDoc, text: str, section_of: SectionOf, layout: str,
          force_table: Table | None = None) -> ParsedSheet:
    """Records of a parsed text: shared with the generic reader (which files everything as OTHER)."""
    h = doc.header
    if h.fiscal_year is None and doc.title:
        h.set_year(doc.title)
    h.municipality = h.municipality or city_in(doc.title)
    b: SheetBuilder = new_builder(path, h, "全体", layout)
    for label, body, n in doc.narratives:
        b.narrative(section_of(label) or Section.OTHER, label, body, locator=f"行{n}")
    ctx = YearContext(era=bare_year_era(text))
    for grid, numbers in doc.grids:
        grid_records(b, grid, section_of, ctx, lambda r, c, ns=numbers: f"行{ns[r]}", force_table)
    money_checks(b)
    return b.build()


def parse_text(lines: list[str]) -> TextDoc:
    doc = TextDoc()
    label, body, start = "", [], 0
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if _is_table_line(line):
            grid, numbers, i = _take_table(lines, i)
            doc.grids.append((grid, numbers))
            _header_from_grid(doc.header, grid)
            continue
        heading = _heading(line)
        kv = None if heading else _KV_RE.match(line)
        if heading or kv:
            _flush(doc, label, body, start)
            label, body, start = "", [], i + 1
        if heading:
            label, rest = heading
            body = [rest] if rest else []
            doc.title = doc.title or (label if "年度" in label else "")
        elif kv:
            _key_value(doc, tidy_text(kv.group(1)), tidy_text(kv.group(2)), i + 1)
        elif line.strip():
            doc.title = doc.title or (line if not label and "年度" in line else "")
            body.append(line.strip())
        i += 1
    _flush(doc, label, body, start)
    return doc


def _heading(line: str) -> tuple[str, str] | None:
    m = _HEADING_RE.match(line)
    if not m or _KV_RE.match(line) and not m.group("br"):
        return None
    if m.group("br"):
        return tidy_text(m.group("br")), tidy_text(m.group("rest") or "")
    return tidy_text(m.group("md") or m.group("mark") or m.group("num")), ""


def _flush(doc: TextDoc, label: str, body: list[str], start: int) -> None:
    text = tidy_text(" ".join(body))
    if not label or not text:
        return
    if is_label(label, NAME_LABELS) and not doc.header.name:
        doc.header.name = text
    else:
        doc.narratives.append((label, text, start))


def _key_value(doc: TextDoc, label: str, value: str, n: int) -> None:
    h = doc.header
    if is_label(label, NAME_LABELS):
        h.name = h.name or value
    elif is_label(label, DEPARTMENT_LABELS):
        h.department.append(value)
    elif is_label(label, ID_LABELS):
        h.project_id = h.project_id or value
    elif is_label(label, MUNICIPALITY_LABELS):
        h.municipality = h.municipality or value
    elif is_label(label, _YEAR_LABELS):
        if h.fiscal_year is None:
            h.set_year(value)
    elif value:
        doc.narratives.append((label, value, n))


def _is_table_line(line: str) -> bool:
    s = line.strip()
    return (s.startswith("|") and s.count("|") >= 2) or line.count("\t") >= 2


def _take_table(lines: list[str], i: int) -> tuple[Grid, list[int], int]:
    """The table starting at line i: its rows, their 1-based line numbers, the next line index."""
    grid: Grid = []
    numbers: list[int] = []
    while i < len(lines) and _is_table_line(lines[i]):
        line = lines[i].strip()
        if not _SEPARATOR_RE.match(line):
            cells = line.strip("|").split("|") if line.startswith("|") else lines[i].split("\t")
            grid.append([tidy_text(c.replace("**", "")) for c in cells])
            numbers.append(i + 1)
        i += 1
    return grid, numbers, i


def _header_from_grid(h: Header, grid: Grid) -> None:
    g = grid_header(grid)
    h.name = h.name or g.name
    h.department += [d for d in g.department if d not in h.department]
    h.project_id = h.project_id or g.project_id
    h.municipality = h.municipality or g.municipality
    if h.fiscal_year is None and g.fiscal_year is not None:
        h.fiscal_year, h.year_label = g.fiscal_year, g.year_label
