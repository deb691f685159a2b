"""Typed, frozen records: what a sheet becomes after parsing.

Every record id is derived from content and location (never random), so parsing the same
file twice yields the same ids and re-ingesting changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .years import canonical_year_label


def stable_id(*parts: object, length: int = 16) -> str:
    """A short hex digest of the parts; the same parts always give the same id."""
    raw = json.dumps([str(p) for p in parts], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:length]


class Section(StrEnum):
    """Canonical narrative sections; a sheet's own label is kept beside it for display."""

    OVERVIEW = "事業概要"
    PURPOSE = "目的・意図"
    MEANS = "手段"
    MEANS_DONE = "手段（実績）"
    MEANS_PLAN = "手段（計画）"
    TARGET = "対象"
    RESULT = "結果"
    ORIGIN = "開始のきっかけ"
    CHANGES = "環境変化"
    OPINIONS = "関係者・市民意見"
    LEGAL_BASIS = "根拠法令"
    EVALUATION = "評価"
    DIRECTION = "方向性"
    ISSUES = "課題"
    MANAGER_OPINION = "課長意見"
    PERIOD = "事業期間"
    DELIVERY = "実施形態"
    ACTIVITIES = "取組状況"
    INDICATOR_NOTE = "指標の説明"
    POLICY = "政策体系"
    BUDGET_NOTE = "予算・経費の説明"
    EXTERNAL_REVIEW = "外部評価"
    OTHER_CITIES = "他都市の状況"
    STAFFING = "執行体制"
    OTHER = "その他"


class Table(StrEnum):
    """Canonical tables of figures."""

    ACTIVITY = "活動指標"
    TARGET = "対象指標"
    OUTCOME = "成果指標"
    UPPER_OUTCOME = "上位成果指標"
    COST = "事業費"
    FUNDING = "財源内訳"
    PERSONNEL = "人件費"
    TOTAL_COST = "トータルコスト"
    PERFORMANCE = "事業実績"
    UNIT_COST = "単位あたりコスト"
    OTHER = "その他"


class Kind(StrEnum):
    """What a figure is: an actual, an estimate, a plan, a budget, a settled account or a target."""

    ACTUAL = "実績"
    ESTIMATE = "見込"
    PLAN = "計画"
    BUDGET = "予算"
    SETTLED = "決算"
    SETTLED_ESTIMATE = "決算見込"
    TARGET = "目標"
    ACHIEVEMENT = "達成率"
    UNKNOWN = "不明"


_FROZEN = ConfigDict(frozen=True, extra="forbid")

# Where a sheet's municipality or evaluation year came from: the sheet itself, or the user
# (hyoka ingest --municipality / --fiscal-year, a manifest, the upload form); '' = unknown.
Origin = Literal["sheet", "user", ""]


class Sheet(BaseModel):
    """One evaluation sheet: one project of one municipality for one evaluation year."""

    model_config = _FROZEN

    sheet_id: str = Field(description="Stable id from what the sheet states: its municipality (if it names "
                                      "one), project and evaluation year; never from the user or the folder")
    municipality: str = Field(description="Municipality, e.g. 大船渡市; '' when unknown (shown as 不明)")
    municipality_origin: Origin = Field(default="", description="'sheet', 'user' or '' (unknown)")
    fiscal_year: int | None = Field(description="Evaluation fiscal year, Western (e.g. 2025)")
    fiscal_year_label: str = Field(description="Evaluation year in the era in force, e.g. 令和2年度")
    printed_year_label: str = Field(default="", description="The year as the sheet prints it, e.g. 32年度(見込); "
                                                            "'' where it prints none")
    fiscal_year_origin: Origin = Field(default="", description="'sheet', 'user' or '' (unknown)")
    project_id: str = Field(default="", description="The municipality's project number, if any")
    project_name: str = Field(description="事務事業名 as printed")
    department: str = Field(default="", description="担当部署 (部・課・係) as printed")
    source_file: str = Field(description="File the sheet came from, as given to the parser")
    locator: str = Field(description="Where in the file: 'row 3', 'p.1-3', 'item 2', ...")
    layout: str = Field(description="Name of the reader that parsed it")


class NarrativeRecord(BaseModel):
    """The text of one section of a sheet."""

    model_config = _FROZEN

    record_id: str = Field(description="Stable id from sheet, section, label and text")
    sheet_id: str
    section: Section = Field(description="Canonical section")
    label: str = Field(description="The section's label as printed on the sheet")
    text: str = Field(description="The section's text, whitespace tidied, otherwise as printed")
    locator: str = Field(default="", description="Page or cell where the text sits")

    def embedding_text(self, project_name: str) -> str:
        return f"{project_name} {self.section.value}: {self.text}"


class TableCell(BaseModel):
    """One cell of a table of figures. A blank cell is kept as blank (value None), never 0."""

    model_config = _FROZEN

    record_id: str = Field(description="Stable id from sheet, table, row, year, kind and value")
    sheet_id: str
    table: Table = Field(description="Canonical table")
    table_label: str = Field(default="", description="The table's label as printed")
    row_label: str = Field(description="Row label as printed, e.g. 'ア 研修会の開催回数'")
    unit: str = Field(default="", description="Unit as printed, e.g. 千円, 回, %")
    fiscal_year: int | None = Field(description="Western fiscal year of the column")
    fiscal_year_label: str = Field(description="Column year in the era in force, e.g. 平成30年度, 令和2年度 "
                                               "(the printed label where the column has no year)")
    printed_year_label: str = Field(default="", description="Column year as printed, e.g. 30年度(実績), R6決算, "
                                                            "32年度(見込); '' where the sheet prints none")
    kind: Kind = Field(description="実績/見込/計画/予算/決算/目標 ...")
    value: float | None = Field(description="The number, or None for a blank or non-numeric cell")
    value_text: str = Field(description="The cell as printed ('' for blank)")
    locator: str = Field(default="", description="Page or cell where the figure sits")

    @property
    def row_key(self) -> tuple[str, str]:
        return (self.table.value, self.row_label)


class ParsedSheet(BaseModel):
    """A sheet with all its records, and what the parser noticed on the way."""

    model_config = _FROZEN

    sheet: Sheet
    narratives: tuple[NarrativeRecord, ...] = ()
    cells: tuple[TableCell, ...] = ()
    warnings: tuple[str, ...] = Field(default=(), description="Arithmetic mismatches and oddities")

    def content_hash(self) -> str:
        """Hash of everything a user could see; unchanged sheets hash the same."""
        return self._digest

    @cached_property
    def _digest(self) -> str:
        # A full JSON dump: computed once per (frozen) sheet, though ingest asks for it three times.
        payload = self.model_dump_json(exclude={"sheet": {"source_file"}})
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]

    def rows(self) -> dict[tuple[str, str], list[TableCell]]:
        """Cells grouped by (table, row label), in sheet order."""
        out: dict[tuple[str, str], list[TableCell]] = {}
        for cell in self.cells:
            out.setdefault(cell.row_key, []).append(cell)
        return out


class SheetBuilder:
    """Collects a sheet's records while a reader walks the file, then freezes them."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        self._narratives: list[NarrativeRecord] = []
        self._cells: list[TableCell] = []
        self.warnings: list[str] = []

    def narrative(self, section: Section, label: str, text: str, locator: str = "") -> None:
        text = tidy_text(text)
        if not text:
            return
        rid = stable_id(self.sheet.sheet_id, "n", section.value, label, text)
        if any(n.record_id == rid for n in self._narratives):
            return
        self._narratives.append(
            NarrativeRecord(record_id=rid, sheet_id=self.sheet.sheet_id, section=section,
                            label=tidy_text(label), text=text, locator=locator)
        )

    def cell(self, *, table: Table, row_label: str, unit: str, fiscal_year: int | None,
             printed_year_label: str, kind: Kind, value: float | None, value_text: str,
             table_label: str = "", locator: str = "") -> None:
        """One figure. `printed_year_label` is the column's year as printed ('' where the layout prints
        none); the canonical label is derived from `fiscal_year`."""
        row_label = tidy_text(row_label)
        printed = printed_year_label.strip()
        label = canonical_year_label(fiscal_year) or printed
        rid = stable_id(self.sheet.sheet_id, "c", table.value, row_label, printed or label,
                        kind.value, value_text, len(self._cells))
        self._cells.append(
            TableCell(record_id=rid, sheet_id=self.sheet.sheet_id, table=table,
                      table_label=tidy_text(table_label), row_label=row_label, unit=unit.strip(),
                      fiscal_year=fiscal_year, fiscal_year_label=label, printed_year_label=printed,
                      kind=kind, value=value, value_text=value_text.strip(), locator=locator)
        )

    def build(self) -> ParsedSheet:
        return ParsedSheet(sheet=self.sheet, narratives=tuple(self._narratives),
                           cells=tuple(self._cells), warnings=tuple(self.warnings))


def tidy_text(text: str) -> str:
    """Collapse runs of whitespace (including the ideographic space) into one space."""
    return " ".join(text.replace("\u3000", " ").split())


def make_sheet_id(municipality: str, project_id: str, project_name: str, department: str,
                  fiscal_year: int | None) -> str:
    """Same municipality, project and year give the same id whatever file format they came in.

    `municipality` is the one the sheet states ('' if it names none), never one the user supplied or
    a folder suggested: so the same workbook under any folder, labelled or not, is the same sheets,
    and a municipality set later changes no id.

    Without a project number the department is part of the identity: 神戸 has one 事業名 under
    two bureaus. A number identifies a project only within its municipality, so a sheet that does
    not name its municipality is known by number, name and department together (two towns' exports
    of one template both have a project 0001). Numbers are compared without leading zeros.
    """
    number = project_id.strip().lstrip("0")
    # An all-zero id ('0', a form's placeholder) identifies nothing: fall back to name and department.
    if number and municipality:
        key = number
    elif number:
        key = f"{number}|{project_name}|{department}"
    else:
        key = f"{project_name}|{department}"
    return stable_id(municipality, key, fiscal_year)


def new_sheet(*, municipality: str, project_name: str, fiscal_year: int | None, source_file: str, locator: str,
              layout: str, project_id: str = "", department: str = "", printed_year_label: str = "") -> Sheet:
    """A Sheet from what the sheet itself states ('' / None where it states nothing)."""
    return Sheet(sheet_id=make_sheet_id(municipality, project_id, project_name, department, fiscal_year),
                 municipality=municipality, municipality_origin="sheet" if municipality else "",
                 fiscal_year=fiscal_year, fiscal_year_label=canonical_year_label(fiscal_year),
                 printed_year_label=printed_year_label.strip(), fiscal_year_origin="sheet" if fiscal_year else "",
                 project_id=project_id, project_name=project_name, department=department,
                 source_file=source_file, locator=locator, layout=layout)


def iter_rows(sheets: Iterable[ParsedSheet]) -> Iterable[tuple[ParsedSheet, list[TableCell]]]:
    for ps in sheets:
        for cells in ps.rows().values():
            yield ps, cells
