"""A workbook where each worksheet tab is one sheet, laid out like the paper form: labels in cells,
their values beside or below, and tables of figures under a row of year headers.

The grid functions here also serve the generic reader (PDF tables are grids too).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter

from ..checks import check_sum
from ..errors import NotASheet, SheetFileError
from ..normalize import YearContext, normalize_unit, parse_kind, parse_year
from ..records import Kind, ParsedSheet, Section, SheetBuilder, Table, new_sheet, tidy_text
from ..years import ERA_NAMES, bare_year_era
from .labels import (
    DEPARTMENT_LABELS,
    ID_LABELS,
    MUNICIPALITY_LABELS,
    NAME_LABELS,
    cell_number,
    cell_text,
    city_in,
    compact,
    is_label,
    section_for,
    table_for,
)

NAME = "xlsx_tabs"

Grid = list[list[str]]
SectionOf = Callable[[str], Section | None]
_MAX_ROWS = 400
_MAX_LABEL = 30
_UNIT_RE = re.compile(r"単位\s*[:：]?\s*([^\s)）]+)")
_MONEY = {Table.COST, Table.FUNDING, Table.PERSONNEL, Table.TOTAL_COST}


@dataclass
class Header:
    """What names the sheet: found as label cells with their values."""

    name: str = ""
    department: list[str] = field(default_factory=list)
    project_id: str = ""
    municipality: str = ""
    fiscal_year: int | None = None
    year_label: str = ""  # the text that states the year, as printed

    def set_year(self, text: str) -> None:
        """The year a title or 年度 field states (令和6年度, 2024年度); a bare '6' states none."""
        year = parse_year(text)
        if year is not None:
            self.fiscal_year = year
            m = _YEAR_TEXT_RE.search(text)
            self.year_label = tidy_text(m.group(0)) if m else tidy_text(text)


_YEAR_TEXT_RE = re.compile(rf"(?:(?:{ERA_NAMES})\s*(?:元|[0-9０-９]{{1,2}})|[RHＲＨ]\s*[0-9０-９]{{1,2}}"
                           r"|[0-9０-９]{4})\s*年度?")


def sniff(path: Path, head: bytes) -> bool:
    if path.suffix.lower() not in {".xlsx", ".xlsm"} or not head.startswith(b"PK"):
        return False
    try:
        return any(grid_header(g).name for _, g in workbook_grids(path, max_rows=40))
    except SheetFileError:
        return False


def read(path: Path) -> list[ParsedSheet]:
    return read_tabs(path)


def read_tabs(path: Path, *, layout: str = NAME, sections: SectionOf = section_for,
              default_table: Table | None = None, checks: bool = True,
              not_found: str = "どのシートにも事務事業名が見つかりません") -> list[ParsedSheet]:
    """One sheet per worksheet tab that names a project; the generic reader uses it with OTHER."""
    out = []
    for title, grid in workbook_grids(path):
        header = grid_header(grid)
        if not header.name:
            continue
        b = new_builder(path, header, f"sheet {title}", layout)
        ctx = YearContext(era=bare_year_era(" ".join(" ".join(r) for r in grid)))
        grid_records(b, grid, sections, ctx, lambda r, c, t=title: f"{t}!{get_column_letter(c + 1)}{r + 1}",
                     default_table)
        if checks:
            money_checks(b)
        out.append(b.build())
    if not out:
        raise NotASheet(not_found)
    return out


def workbook_grids(path: Path, max_rows: int = _MAX_ROWS) -> list[tuple[str, Grid]]:
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SheetFileError(str(path), f"Excel ファイルとして読めません（{exc}）") from exc
    try:
        return [(ws.title, [[cell_text(v) for v in row]
                            for row in ws.iter_rows(max_row=max_rows, values_only=True)])
                for ws in wb.worksheets]
    finally:
        wb.close()


def _neighbour(grid: Grid, r: int, c: int) -> tuple[int, int] | None:
    """The value of a label cell: the first non-empty cell to its right, else the one below."""
    row = grid[r]
    for j in range(c + 1, len(row)):
        if row[j]:
            return r, j
    if r + 1 < len(grid) and c < len(grid[r + 1]) and grid[r + 1][c]:
        return r + 1, c
    return None


def grid_header(grid: Grid) -> Header:
    h = Header()
    for r, row in enumerate(grid):
        for c, text in enumerate(row):
            if not text or len(text) > _MAX_LABEL:
                if text and h.fiscal_year is None and ("評価" in text or "シート" in text):
                    h.set_year(text)
                continue
            _header_label(h, grid, r, c, text)
    return h


def _header_label(h: Header, grid: Grid, r: int, c: int, text: str) -> None:
    at = _neighbour(grid, r, c)
    value = tidy_text(grid[at[0]][at[1]]) if at else ""
    if is_label(text, NAME_LABELS) and not h.name:
        h.name = value
    elif is_label(text, DEPARTMENT_LABELS) and value and value not in h.department:
        h.department.append(value)
    elif is_label(text, ID_LABELS) and not h.project_id:
        h.project_id = value
    elif is_label(text, MUNICIPALITY_LABELS) and not h.municipality:
        h.municipality = value
    elif is_label(text, ("評価年度", "年度", "実施年度")) and h.fiscal_year is None:
        h.set_year(value)
    elif not h.municipality and ("評価" in text or "シート" in text):
        h.municipality = city_in(text)
    if h.fiscal_year is None and ("評価" in text or "シート" in text):
        h.set_year(text)


def new_builder(path: Path, h: Header, locator: str, layout: str) -> SheetBuilder:
    # A sheet that does not print its city leaves it unknown ('') for the user to supply.
    sheet = new_sheet(municipality=h.municipality, project_id=h.project_id, project_name=h.name,
                      department=" ".join(h.department), fiscal_year=h.fiscal_year,
                      printed_year_label=h.year_label, source_file=str(path), locator=locator, layout=layout)
    return SheetBuilder(sheet)


def grid_records(b: SheetBuilder, grid: Grid, section_of: SectionOf, ctx: YearContext,
                 locate: Callable[[int, int], str], force_table: Table | None = None) -> None:
    """Narratives (label cell + value) and tables (year header row + labelled rows) of a grid.

    force_table puts every row in one table (the generic reader does not guess tables).
    """
    used = _tables(b, grid, ctx, locate, force_table)
    _narratives(b, grid, section_of, used, locate)


def _narratives(b: SheetBuilder, grid: Grid, section_of: SectionOf, used: set[tuple[int, int]],
                locate: Callable[[int, int], str]) -> None:
    skip = NAME_LABELS + DEPARTMENT_LABELS + ID_LABELS + MUNICIPALITY_LABELS
    for r, row in enumerate(grid):
        for c, text in enumerate(row):
            if not text or (r, c) in used or len(text) > _MAX_LABEL or is_label(text, skip):
                continue
            section = section_of(text)
            at = _neighbour(grid, r, c)
            if section is None or at is None or at in used or _looks_like_label(grid, at, section_of):
                continue
            used.update({(r, c), at})
            b.narrative(section, text, grid[at[0]][at[1]], locator=locate(*at))


def _looks_like_label(grid: Grid, at: tuple[int, int], section_of: SectionOf) -> bool:
    """A 'value' that is itself a label means the cell before it was a title, not a label."""
    value = grid[at[0]][at[1]]
    names = NAME_LABELS + DEPARTMENT_LABELS + ID_LABELS + MUNICIPALITY_LABELS
    short = len(value) <= 10 and not value.endswith(("。", "."))
    return is_label(value, names) or (short and section_of(value) is not None)


def _year_columns(row: list[str], ctx: YearContext) -> dict[int, int]:
    cols = {}
    for c, text in enumerate(row):
        if text and len(text) <= 20:
            year = parse_year(text, ctx) if "年" in text or re.match(r"^[RHS]\d", text) else None
            if year is not None:
                cols[c] = year
    return cols if len(cols) >= 2 else {}


@dataclass
class _Spec:
    """A table under one year-header row."""

    header: list[str]
    years: dict[int, int]
    unit_col: int | None
    unit: str
    default: Table | None


def _tables(b: SheetBuilder, grid: Grid, ctx: YearContext, locate: Callable[[int, int], str],
            table_default: Table | None) -> set[tuple[int, int]]:
    used: set[tuple[int, int]] = set()
    r = 0
    while r < len(grid):
        years = _year_columns(grid[r], ctx)
        if not years:
            r += 1
            continue
        unit_col = next((c for c, t in enumerate(grid[r]) if compact(t) == "単位"), None)
        spec = _Spec(grid[r], years, unit_col, _table_unit(grid, r), table_default)
        used.update((r, c) for c, t in enumerate(grid[r]) if t)
        r += 1
        while r < len(grid) and _table_row(b, grid[r], spec, lambda c, r=r: locate(r, c)):
            used.update((r, c) for c, t in enumerate(grid[r]) if t)
            r += 1
    return used


def _table_unit(grid: Grid, r: int) -> str:
    for row in grid[max(0, r - 1):r + 1]:
        for text in row:
            m = _UNIT_RE.search(text)
            if m:
                return normalize_unit(m.group(1))
    return ""


def _table_row(b: SheetBuilder, row: list[str], spec: _Spec, locate: Callable[[int], str]) -> bool:
    """Record one row under a year header; False at the end of the table (blank or unlabelled)."""
    first = min(spec.years)
    labels = [t for i, t in enumerate(row[:first]) if t and i != spec.unit_col]
    if not labels:
        return False
    # 'ア' + '名称' style rows keep their letter: 'ア 各種事業の開催回数'.
    label = tidy_text(" ".join(labels[-2:]) if len(labels) > 1 and len(labels[-2]) <= 2 else labels[-1])
    table = spec.default or table_for(label) or Table.OTHER
    unit = spec.unit
    if spec.unit_col is not None and spec.unit_col < len(row):
        unit = normalize_unit(row[spec.unit_col])
    for c, year in spec.years.items():
        raw = row[c] if c < len(row) else ""
        col_label = spec.header[c]
        b.cell(table=table, row_label=label, unit=unit, fiscal_year=year, printed_year_label=col_label,
               kind=parse_kind(col_label, Kind.UNKNOWN), value=cell_number(raw), value_text=raw,
               locator=locate(c))
    return True


def money_checks(b: SheetBuilder) -> None:
    """事業費 + 人件費 = トータルコスト, and 財源 = 事業費, where the sheet has exactly those rows."""
    cells = [c for c in b.build().cells if c.table in _MONEY]
    rows: dict[Table, list[str]] = {}
    for c in cells:
        if c.row_label not in rows.setdefault(c.table, []):
            rows[c.table].append(c.row_label)
    cost, total = rows.get(Table.COST, []), rows.get(Table.TOTAL_COST, [])
    personnel = [label for label in rows.get(Table.PERSONNEL, []) if "人件費" in label]
    if len(cost) == 1 and len(total) == 1 and len(personnel) == 1:
        b.warnings += check_sum(cells, [cost[0], personnel[0]], total[0], "トータルコスト")
    if len(cost) == 1 and rows.get(Table.FUNDING):
        b.warnings += check_sum(cells, rows[Table.FUNDING], cost[0], "財源内訳")
