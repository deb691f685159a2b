"""What the assistant returns: an answer in Japanese with numbered citations to records."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ingest.records import NarrativeRecord, Sheet, TableCell
from ingest.years import show_year


class Status(StrEnum):
    ANSWERED = "answered"
    NOT_FOUND = "not_found"


class Citation(BaseModel):
    """One cited record. The JSON form is the `hyoka ask --jsonl` contract: keep field names stable."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(description="Citation number as written in the answer, [n]")
    project_name: str
    municipality: str
    section: str = Field(description="Canonical section or table")
    label: str = Field(description="Section label or table row label as printed")
    fiscal_year: int | None = None
    fiscal_year_label: str = Field(default="", description="The year in the era in force, e.g. 令和2年度")
    kind: str = ""
    value: str = Field(default="", description="The figure as printed")
    unit: str = ""
    quote: str = Field(default="", description="The cited text, or the row with the cited year")
    source: str = Field(description="file#locator")
    sheet_id: str = ""
    record_id: str = ""
    printed_year_label: str = Field(default="", description="The year as the sheet prints it (for show_year)")


class Chart(BaseModel):
    """What an answer is better looked at than read: a ranking or comparison as bars, one row over
    the years as a line. Every point is a cited cell (`cited` holds the citation numbers)."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="bar | line")
    title: str
    unit: str = ""
    labels: tuple[str, ...] = ()
    values: tuple[float, ...] = ()
    cited: tuple[int, ...] = ()


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Status
    answer: str
    citations: tuple[Citation, ...] = ()
    intent: str = ""
    notice: str = Field(default="", description="Shown beside the answer, e.g. an LLM fallback")
    chart: Chart | None = Field(default=None, description="For the UI; not part of the --jsonl contract")

    def contract(self, qid: object = None) -> dict[str, Any]:
        """The stable JSON object of `hyoka ask --json/--jsonl`."""
        out: dict[str, Any] = {} if qid is None else {"id": qid}
        out.update(status=self.status.value, answer=self.answer,
                   citations=[c.model_dump(exclude={"sheet_id", "record_id", "printed_year_label"})
                              for c in self.citations])
        return out


def _source(sheet: Sheet, locator: str) -> str:
    """file#where: the record's own page/cell when it has one, else where the sheet sits in the file."""
    name = Path(sheet.source_file).name
    where = locator if locator and (locator.startswith(("p.", "row")) or sheet.locator == "全体") else \
        " ".join(x for x in (sheet.locator, locator) if x)
    return f"{name}#{where}" if where else name


def cite_cell(n: int, sheet: Sheet, cell: TableCell, quote: str = "") -> Citation:
    return Citation(n=n, project_name=sheet.project_name, municipality=sheet.municipality,
                    section=cell.table.value, label=cell.row_label, fiscal_year=cell.fiscal_year,
                    fiscal_year_label=cell.fiscal_year_label, kind=cell.kind.value, value=cell.value_text,
                    unit=cell.unit, quote=quote or f"{cell.row_label} {show_year(cell)}: "
                    f"{cell.value_text or '（空欄）'}{cell.unit if cell.value_text else ''}",
                    source=_source(sheet, cell.locator), sheet_id=sheet.sheet_id, record_id=cell.record_id,
                    printed_year_label=cell.printed_year_label)


def cite_narrative(n: int, sheet: Sheet, rec: NarrativeRecord, quote: str) -> Citation:
    return Citation(n=n, project_name=sheet.project_name, municipality=sheet.municipality,
                    section=rec.section.value, label=rec.label, fiscal_year=sheet.fiscal_year,
                    fiscal_year_label=sheet.fiscal_year_label, quote=quote,
                    source=_source(sheet, rec.locator), sheet_id=sheet.sheet_id, record_id=rec.record_id,
                    printed_year_label=sheet.printed_year_label)


def cite_sheet(n: int, sheet: Sheet) -> Citation:
    return Citation(n=n, project_name=sheet.project_name, municipality=sheet.municipality,
                    section="事務事業名", label=sheet.department, fiscal_year=sheet.fiscal_year,
                    fiscal_year_label=sheet.fiscal_year_label, quote=sheet.project_name,
                    source=_source(sheet, ""), sheet_id=sheet.sheet_id, printed_year_label=sheet.printed_year_label)
