"""A workbook with one evaluation sheet per row (大船渡市's 行政評価 export, 'データ集計マクロ用シート').

Columns are found by their header text, never by position: the header row holds 事務事業名 and
six unlabelled year blocks (国庫支出金 … トータルコスト(A)+(B), then the nine indicator values).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter

from ..checks import check_sum
from ..errors import NotASheet, SheetFileError
from ..normalize import era_year_to_western, normalize_unit, parse_number
from ..records import Kind, ParsedSheet, Section, SheetBuilder, Table, new_sheet, tidy_text
from ..years import bare_year_era
from .labels import MUNICIPALITY_LABELS, cell_number, cell_text, compact, plain_project_id, section_for

NAME = "xlsx_rows"

_HEADER_SCAN_ROWS = 5
_COST_ROWS: dict[str, tuple[Table, str]] = {
    "国庫支出金": (Table.FUNDING, "千円"), "都道府県支出金": (Table.FUNDING, "千円"),
    "県支出金": (Table.FUNDING, "千円"), "地方債": (Table.FUNDING, "千円"),
    "その他": (Table.FUNDING, "千円"), "一般財源": (Table.FUNDING, "千円"),
    "事業費計(A)": (Table.COST, "千円"), "正規職員従事人数": (Table.PERSONNEL, "人"),
    "延べ業務時間": (Table.PERSONNEL, "時間"), "人件費計(B)": (Table.PERSONNEL, "千円"),
    "トータルコスト(A)+(B)": (Table.TOTAL_COST, "千円"),
}
_FUNDING = ["国庫支出金", "都道府県支出金", "県支出金", "地方債", "その他", "一般財源"]
_IND_TABLES = {"⑤": Table.ACTIVITY, "⑥": Table.TARGET, "⑦": Table.OUTCOME}
_IND_NAME_RE = re.compile(r"^([⑤⑥⑦]).*?([ア-ン])[：:](名称|単位)$")
_IND_VALUE_RE = re.compile(r"^([⑤⑥⑦])(?:活動|対象|成果)指標([ア-ン])$")
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
_POLICY_COLS = ("政策名", "施策名", "基本事業名")
# Some rows print '0' as an unused slot's name and unit (a formula's residue): not an indicator.
_EMPTY_SLOT = {"", "0", "-"}


@dataclass
class Columns:
    """Where each thing sits in the header row (0-based column indexes)."""

    header_row: int
    fields: dict[str, int] = field(default_factory=dict)       # 年度, 事務事業名, 部課名 …
    narratives: list[tuple[int, Section, str]] = field(default_factory=list)
    evaluations: list[tuple[int, int, str]] = field(default_factory=list)  # choice, reason, label
    period: list[int] = field(default_factory=list)
    indicators: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)  # (⑤, ア)
    ind_labels: dict[str, str] = field(default_factory=dict)   # ⑤ -> '⑤ 活動指標（…）'
    blocks: list[dict[str, int]] = field(default_factory=list)  # row label -> column, per year


def sniff(path: Path, head: bytes) -> bool:
    if path.suffix.lower() not in {".xlsx", ".xlsm"} or not head.startswith(b"PK"):
        return False
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError):
        return False
    try:
        return any(_find_header(ws) is not None for ws in wb.worksheets)
    finally:
        wb.close()


def read(path: Path) -> list[ParsedSheet]:
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SheetFileError(str(path), f"Excel ファイルとして読めません（{exc}）") from exc
    try:
        out: list[ParsedSheet] = []
        for ws in wb.worksheets:
            found = _find_header(ws)
            if found is None:
                continue
            cols = _classify(found[0], found[1])
            rows = [(n, row) for n, row in enumerate(ws.iter_rows(min_row=found[0] + 1, values_only=True),
                                                     start=found[0] + 1)
                    if _value(row, cols.fields.get("事務事業名"))]
            era = _era(rows, cols)
            out += [_sheet(path, row, n, cols, era) for n, row in rows]
    finally:
        wb.close()
    if not out:
        raise NotASheet("事務事業名の入った行がありません")
    return out


def _find_header(ws) -> tuple[int, list[str]] | None:  # noqa: ANN001 - openpyxl worksheet
    """The header row: 事務事業名 plus at least two repeated year blocks (事業費計 / トータルコスト)."""
    for n, row in enumerate(ws.iter_rows(max_row=_HEADER_SCAN_ROWS, values_only=True), start=1):
        texts = [compact(c) if c is not None else "" for c in row]
        blocks = sum(1 for t in texts if t.startswith(("事業費計(A)", "トータルコスト(A)")))
        if "事務事業名" in texts and blocks >= 2:
            return n, ["" if c is None else str(c) for c in row]
    return None


def _classify(header_row: int, headers: list[str]) -> Columns:
    cols = Columns(header_row=header_row)
    skip: set[int] = set()
    manager = False  # after '４ 課長等意見', the remaining texts are the manager's
    for i, h in enumerate(headers):
        c = compact(h)
        if not c or i in skip:
            continue
        if _block_column(cols, i, c) or _indicator_column(cols, i, h, c):
            continue
        if c in {"年度", "事務事業ID", "事務事業名", "部課名", "係名"} or c in MUNICIPALITY_LABELS:
            cols.fields.setdefault(c, i)
        elif c.startswith("事業期間"):
            cols.period.append(i)
        elif "課長等意見" in c:
            manager = True
            cols.narratives.append((i, Section.MANAGER_OPINION, h))
        elif manager:
            cols.narratives.append((i, Section.MANAGER_OPINION, h))
        elif _is_evaluation(headers, i, c):
            cols.evaluations.append((i, i + 1, h))
            skip.add(i + 1)
        else:
            _narrative_column(cols, i, h, c)
    return cols


def _block_column(cols: Columns, i: int, c: str) -> bool:
    """A year-block column; every 国庫支出金 starts a new block (全体計画 columns are not blocks)."""
    label = c.replace("＋", "+")
    if label == "国庫支出金":
        cols.blocks.append({})
    if not cols.blocks:
        return False
    m = _IND_VALUE_RE.match(label)
    if label in _COST_ROWS or m:
        key = label if label in _COST_ROWS else f"{m.group(1)}{m.group(2)}"  # type: ignore[union-attr]
        cols.blocks[-1].setdefault(key, i)
        return True
    return False


def _indicator_column(cols: Columns, i: int, h: str, c: str) -> bool:
    m = _IND_NAME_RE.match(c)
    if not m:
        return False
    mark, letter, what = m.groups()
    cols.indicators.setdefault((mark, letter), {})[what] = i
    cols.ind_labels.setdefault(mark, tidy_text(h.split("\n")[0].rsplit(letter, 1)[0]))
    return True


def _is_evaluation(headers: list[str], i: int, c: str) -> bool:
    """① 政策体系との整合性 … ⑧: a circled label (the choice) followed by its question (the reason)."""
    if c[:1] not in _CIRCLED or c.endswith(("?", "？")) or i + 1 >= len(headers):
        return False
    nxt = compact(headers[i + 1])
    return ("?" in nxt or "？" in nxt) and nxt[:1] not in _CIRCLED


def _narrative_column(cols: Columns, i: int, h: str, c: str) -> None:
    if c in _POLICY_COLS:
        cols.narratives.append((i, Section.POLICY, h))
        return
    if c.startswith(("全体計画", "予算科目", "作成", "政策番号", "施策番号", "基本事業番号")):
        return
    section = section_for(h)
    if section is not None and (len(c) > 6 or c == "根拠法令"):
        cols.narratives.append((i, section, h))


def _value(row: tuple, i: int | None) -> object:
    return None if i is None or i >= len(row) else row[i]


def _text(row: tuple, i: int | None) -> str:
    return cell_text(_value(row, i))


def _era(rows: list[tuple[int, tuple]], cols: Columns) -> str:
    """The era of the bare 年度 column (7), from the dates the whole workbook writes out.

    One workbook is one evaluation round, so its rows share an era; a single row may date only its
    history (昭和39年に設立), which says nothing about the column."""
    years = {int(y) for _, row in rows if (y := parse_number(_value(row, cols.fields.get("年度"))))}
    text = "\n".join(v for _, row in rows for v in row if isinstance(v, str))
    return bare_year_era(text, years)


def _sheet(path: Path, row: tuple, n: int, cols: Columns, era: str) -> ParsedSheet:
    # The workbook is the city's own internal macro sheet: it names its city only if it has a
    # 自治体名 column. Otherwise the municipality is unknown here and comes from the user.
    municipality = next((_text(row, i) for label, i in cols.fields.items() if label in MUNICIPALITY_LABELS), "")
    era_year = parse_number(_value(row, cols.fields.get("年度")))
    fy = era_year_to_western(era, int(era_year)) if era_year else None
    name = tidy_text(_text(row, cols.fields["事務事業名"]))
    dept = " ".join(p for p in (_text(row, cols.fields.get("部課名")),
                                _text(row, cols.fields.get("係名"))) if p)
    pid = plain_project_id(_value(row, cols.fields.get("事務事業ID")) or "")
    sheet = new_sheet(municipality=municipality, project_id=pid, project_name=name, department=dept,
                      fiscal_year=fy, printed_year_label=_text(row, cols.fields.get("年度")),
                      source_file=str(path), locator=f"row {n}", layout=NAME)
    b = SheetBuilder(sheet)
    _narratives(b, row, n, cols)
    _blocks(b, row, n, cols, fy)
    cost = [c for c in b.build().cells if c.table in {Table.COST, Table.FUNDING, Table.PERSONNEL,
                                                       Table.TOTAL_COST}]
    b.warnings += check_sum(cost, ["事業費計(A)", "人件費計(B)"], "トータルコスト(A)+(B)", "トータルコスト")
    b.warnings += check_sum(cost, _FUNDING, "事業費計(A)", "財源内訳")
    return b.build()


def _narratives(b: SheetBuilder, row: tuple, n: int, cols: Columns) -> None:
    """All texts of the row, in column order (as they read on the printed form)."""
    items: list[tuple[int, Section, str, str]] = []
    for i, section, label in cols.narratives:
        text = _text(row, i)
        if text not in {"", "-"}:
            items.append((i, section, label, text))
    if cols.period:
        kind, *span = (_text(row, i) for i in cols.period)
        span = [s for s in span if s not in {"", "-"}]
        text = f"{kind}（{'～'.join(span)}）" if span else kind
        items.append((cols.period[0], Section.PERIOD, "事業期間", text))
    for choice_i, reason_i, label in cols.evaluations:
        choice, reason = _text(row, choice_i), _text(row, reason_i)
        text = f"{choice}：{reason}" if choice and reason else choice or reason
        items.append((choice_i, Section.EVALUATION, label, text))
    for i, section, label, text in sorted(items, key=lambda it: it[0]):
        b.narrative(section, label, text, locator=f"{get_column_letter(i + 1)}{n}")


def _blocks(b: SheetBuilder, row: tuple, n: int, cols: Columns, fy: int | None) -> None:
    """The six year blocks print no years. They end with the sheet's own year and count back one
    year each (an R7 sheet holds R2–R7): checked against projects.json, whose financials[] give
    years 2…7 with the same figures. The last block is this year's plan (今年度計画; the dashboard
    export names no kind), the earlier ones are results (実績)."""
    last = len(cols.blocks) - 1
    for k, block in enumerate(cols.blocks):
        year = fy - (last - k) if fy else None
        label = "" if year else f"第{k + 1}列"  # the blocks print no year of their own
        kind = Kind.PLAN if k == last else Kind.ACTUAL
        for key, i in block.items():
            if key in _COST_ROWS:
                table, unit = _COST_ROWS[key]
                row_label, table_label = key, "トータルコスト"
            else:
                ind = cols.indicators.get((key[0], key[1]), {})
                ind_name = tidy_text(_text(row, ind.get("名称")))
                if ind_name in _EMPTY_SLOT:
                    continue  # an empty indicator slot
                table, unit = _IND_TABLES[key[0]], normalize_unit(_text(row, ind.get("単位")))
                row_label, table_label = f"{key[1]} {ind_name}", cols.ind_labels.get(key[0], "")
            raw = _value(row, i)
            b.cell(table=table, table_label=table_label, row_label=row_label, unit=unit,
                   fiscal_year=year, printed_year_label=label, kind=kind, value=cell_number(raw),
                   value_text=cell_text(raw), locator=f"{get_column_letter(i + 1)}{n}")
