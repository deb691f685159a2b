"""JSON files: structured 事務事業マネジメントシート exports (福岡市's keys: 事業名, 所管局, 事業費_千円),
dashboard exports of the one-row-per-sheet workbook (大船渡's), and title lists (policies.*.json),
which are recognised and skipped. Each shape is recognised by its keys, never by the file's name;
an export names its municipality only under a key such as 自治体名, else it is left to the user.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..checks import check_sum
from ..errors import NotASheet, SheetFileError
from ..normalize import era_year_to_western, normalize_unit, parse_kind, parse_year
from ..records import Kind, ParsedSheet, Section, SheetBuilder, Table, new_sheet, tidy_text
from ..textio import looks_textual, read_text
from ..years import bare_year_era
from .labels import MUNICIPALITY_LABELS, cell_number, cell_text, plain_project_id, section_for

NAME = "json_sheets"

_FUKUOKA_KEYS = {"事業名", "所管局", "事業費_千円"}
# Keys under which an export names its municipality (the title lists use municipalityName).
_MUNICIPALITY_KEYS = (*MUNICIPALITY_LABELS, "municipality", "municipalityName", "city", "cityName")
_COL_YEAR_RE = re.compile(r"^R(\d{1,2})$")
_FK_NARRATIVES = (("事業きっかけ", Section.ORIGIN), ("根拠法令", Section.LEGAL_BASIS),
                  ("開始年度", Section.PERIOD), ("行政計画", Section.POLICY))
_FK_OVERVIEW = {"対象": Section.TARGET, "対象の目指す状態": Section.PURPOSE,
                "実施内容": Section.OVERVIEW, "手段": Section.MEANS,
                "成果見直し判断基準": Section.EVALUATION}
_DASH_MONEY = (("nationalSubsidy", "国庫支出金", Table.FUNDING, "千円"),
               ("prefecturalSubsidy", "都道府県支出金", Table.FUNDING, "千円"),
               ("localBond", "地方債", Table.FUNDING, "千円"), ("other", "その他", Table.FUNDING, "千円"),
               ("generalRevenue", "一般財源", Table.FUNDING, "千円"),
               ("totalCost", "事業費計(A)", Table.COST, "千円"),
               ("personnelCount", "正規職員従事人数", Table.PERSONNEL, "人"),
               ("workHours", "延べ業務時間", Table.PERSONNEL, "時間"),
               ("personnelCost", "人件費計(B)", Table.PERSONNEL, "千円"),
               ("grandTotal", "トータルコスト(A)+(B)", Table.TOTAL_COST, "千円"))
_DASH_INDICATORS = (("activity", Table.ACTIVITY, "アイウ"), ("target", Table.TARGET, "カキク"),
                    ("outcome", Table.OUTCOME, "サシス"))
_DASH_TEXTS = (("overview", Section.OVERVIEW, "事務事業の概要"), ("target", Section.TARGET, "② 対象"),
               ("intent", Section.PURPOSE, "③ 意図"), ("result", Section.RESULT, "④ 結果"),
               ("legalBasis", Section.LEGAL_BASIS, "根拠法令"))


def sniff(path: Path, head: bytes) -> bool:
    return path.suffix.lower() == ".json" and looks_textual(head)


def read(path: Path) -> list[ParsedSheet]:
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SheetFileError(str(path), f"JSON として読めません（{exc.msg}、{exc.lineno} 行目）") from exc
    items = data.get("projects") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items or not all(isinstance(x, dict) for x in items):
        raise NotASheet("評価シートとして読める JSON ではありません（事業の一覧がありません）")
    if all("title" in x and not x.get("summary") and not x.get("details") for x in items):
        city = items[0].get("municipalityName", "")
        raise NotASheet(f"{city}の事業タイトル一覧であり、評価シートではありません")
    city = _municipality(data) if isinstance(data, dict) else ""
    if all(_FUKUOKA_KEYS <= x.keys() for x in items):
        fy = _fukuoka_year(items)
        return [_fukuoka(path, x, n, fy, _municipality(x) or city) for n, x in enumerate(items, start=1)]
    if all("name" in x and ("financials" in x or "indicators" in x) for x in items):
        years = {int(y) for x in items if (y := cell_number(x.get("year")))}
        years |= {int(y) for x in items for e in (x.get("financials") or []) if (y := cell_number(e.get("year")))}
        era = bare_year_era(text, years)
        return [_dashboard(path, x, n, era, _municipality(x) or city) for n, x in enumerate(items, start=1)]
    raise NotASheet("評価シートとして読める JSON ではありません（事業名・事業費などの項目がありません）")


def _municipality(x: dict[str, Any]) -> str:
    """The municipality an export names under one of its keys, or '' (most exports name none)."""
    return next((tidy_text(v) for k in _MUNICIPALITY_KEYS if isinstance(v := x.get(k), str) and v.strip()), "")


# --- 事務事業マネジメントシート (福岡市's structured export) -----------------------------------

def _fukuoka_year(items: list[dict[str, Any]]) -> tuple[int | None, str]:
    """The evaluation year and the column that states it. The export's 事業費 columns are the year
    before (決算), the year evaluated (決算見込: just ended, not yet settled) and the next (予算), so
    the 決算見込 column names the year the sheet evaluates (R6決算見込 in a 令和6年度実施分 file)."""
    for col in (items[0].get("事業費_千円") or {}):
        if "決算見込" in col and parse_year(col):
            return parse_year(col), col
    return None, ""


def _fukuoka(path: Path, x: dict[str, Any], n: int, fy: tuple[int | None, str], muni: str) -> ParsedSheet:
    name = tidy_text(cell_text(x.get("事業名")))
    dept = " ".join(p for p in (cell_text(x.get("所管局")), cell_text(x.get("所管課"))) if p)
    sheet = new_sheet(municipality=muni, project_name=name, department=dept, fiscal_year=fy[0],
                      printed_year_label=fy[1], source_file=str(path), locator=f"item {n}", layout=NAME)
    b = SheetBuilder(sheet)
    _fk_narratives(b, x)
    _fk_indicators(b, x.get("指標") or {})
    _fk_money(b, x.get("事業費_千円") or {})
    money = [c for c in b.build().cells if c.table in {Table.COST, Table.FUNDING}]
    b.warnings += check_sum(money, ["特定財源", "一般財源"], "歳出", "財源内訳")
    return b.build()


def _fk_narratives(b: SheetBuilder, x: dict[str, Any]) -> None:
    for key, section in _FK_NARRATIVES:
        b.narrative(section, key, cell_text(x.get(key)), locator=key)
    for key, value in (x.get("事業概要") or {}).items():
        section = _FK_OVERVIEW.get(key) or section_for(key, Section.OTHER) or Section.OTHER
        b.narrative(section, key, cell_text(value), locator=f"事業概要.{key}")
    for key, value in (x.get("ロジックモデル") or {}).items():
        b.narrative(Section.RESULT, key, cell_text(value), locator=f"ロジックモデル.{key}")
    for key, value in (x.get("基本計画") or {}).items():
        if isinstance(value, dict):
            value = " ".join(f"{k}: {v}" for k, v in value.items() if v)
        b.narrative(Section.POLICY, f"基本計画 {key}", cell_text(value), locator=f"基本計画.{key}")
    for key, value in (x.get("行政運営プラン") or {}).items():
        b.narrative(Section.DIRECTION, f"行政運営プラン {key}", cell_text(value),
                    locator=f"行政運営プラン.{key}")


def _fk_indicators(b: SheetBuilder, ind: dict[str, Any]) -> None:
    for key, table in (("活動指標", Table.ACTIVITY), ("成果指標", Table.OUTCOME)):
        for j, item in enumerate(ind.get(key) or [], start=1):
            label = tidy_text(cell_text(item.get("内容")))
            if not label:
                continue
            for part, kind in (("目標", Kind.TARGET), ("実績", Kind.ACTUAL), ("達成率", Kind.ACHIEVEMENT)):
                _fk_series(b, table, key, label, kind, item.get(part) or {}, f"指標.{key}[{j}].{part}")


def _fk_series(b: SheetBuilder, table: Table, table_label: str, label: str, kind: Kind,
               series: dict[str, Any], loc: str) -> None:
    """One indicator's 目標/実績/達成率 by year ('R5'); 最終年度目標値 is the target of 最終年度."""
    unit = "%" if kind is Kind.ACHIEVEMENT else ""
    for col, value in series.items():
        m = _COL_YEAR_RE.match(str(col))
        if m:
            year, year_label = era_year_to_western("R", int(m.group(1))), str(col)
        elif col == "最終年度目標値":
            final = cell_text(series.get("最終年度"))
            year, year_label = parse_year(final), f"{final}（最終年度）"
        else:
            continue  # '最終年度' names the year of 最終年度目標値; 'R年度' is a blank form field
        b.cell(table=table, table_label=table_label, row_label=label, unit=unit, fiscal_year=year,
               printed_year_label=year_label, kind=kind, value=cell_number(value),
               value_text=cell_text(value), locator=loc)


def _fk_money(b: SheetBuilder, money: dict[str, Any]) -> None:
    cols = sorted(money.items(), key=lambda kv: parse_year(kv[0]) or 0)
    for col, rows in cols:
        for row, value in (rows or {}).items():
            table = Table.COST if row == "歳出" else Table.FUNDING
            b.cell(table=table, table_label="事業費（千円）", row_label=row, unit="千円",
                   fiscal_year=parse_year(col), printed_year_label=col, kind=parse_kind(col),
                   value=cell_number(value), value_text=cell_text(value), locator=f"事業費_千円.{col}")


# --- dashboard export (大船渡 projects.json) -----------------------------------------------

def _dashboard(path: Path, x: dict[str, Any], n: int, era: str, muni: str) -> ParsedSheet:
    # Same identity rules as xlsx_rows, so a project exported both ways gets one sheet_id and
    # parse.py keeps only the richer copy: the city only if stated, the same era, id as printed.
    era_year = cell_number(x.get("year"))
    fy = era_year_to_western(era, int(era_year)) if era_year else None
    name = tidy_text(cell_text(x.get("name")))
    dept = " ".join(p for p in (cell_text(x.get("department")), cell_text(x.get("section"))) if p)
    pid = plain_project_id(x.get("id") or "")
    sheet = new_sheet(municipality=muni, project_id=pid, project_name=name, department=dept, fiscal_year=fy,
                      printed_year_label=cell_text(x.get("year")), source_file=str(path), locator=f"item {n}",
                      layout=NAME)
    b = SheetBuilder(sheet)
    _dash_narratives(b, x)
    _dash_money(b, x.get("financials") or [], fy, era)
    _dash_indicators(b, x, fy, era)
    cost = [c for c in b.build().cells if c.table in {Table.COST, Table.FUNDING, Table.PERSONNEL,
                                                       Table.TOTAL_COST}]
    b.warnings += check_sum(cost, ["事業費計(A)", "人件費計(B)"], "トータルコスト(A)+(B)", "トータルコスト")
    b.warnings += check_sum(cost, ["国庫支出金", "都道府県支出金", "地方債", "その他", "一般財源"],
                            "事業費計(A)", "財源内訳")
    return b.build()


def _dash_narratives(b: SheetBuilder, x: dict[str, Any]) -> None:
    for key, label in (("policy", "政策名"), ("measure", "施策名"), ("basicProject", "基本事業名")):
        b.narrative(Section.POLICY, label, cell_text((x.get(key) or {}).get("name")), locator=key)
    period = x.get("period") or {}
    span = [s for s in (cell_text(period.get("start")), cell_text(period.get("end"))) if s not in {"", "-"}]
    kind = cell_text(period.get("type"))
    b.narrative(Section.PERIOD, "事業期間", f"{kind}（{'～'.join(span)}）" if span else kind, "period")
    for key, section, label in _DASH_TEXTS:
        text = cell_text(x.get(key))
        if text != "-":
            b.narrative(section, label, text, locator=key)
    ev = x.get("evaluation") or {}
    b.narrative(Section.DIRECTION, "改革改善の方向性", cell_text(ev.get("direction")), "evaluation.direction")
    b.narrative(Section.MANAGER_OPINION, "今後の方向性", cell_text(ev.get("futureDirection")),
                "evaluation.futureDirection")
    for c in ev.get("comments") or []:
        role = cell_text(c.get("role"))
        section = Section.MANAGER_OPINION if "課長" in role else Section.ISSUES
        b.narrative(section, f"{role}コメント", cell_text(c.get("comment")), "evaluation.comments")


def _year_of(entry: dict[str, Any], fy: int | None, era: str) -> tuple[int | None, str, Kind]:
    """A block's era year (2…7) -> Western year, printed label and kind (the sheet's own year is the plan)."""
    n = cell_number(entry.get("year"))
    year = era_year_to_western(era, int(n)) if n else None
    return year, cell_text(entry.get("year")), Kind.PLAN if year is not None and year == fy else Kind.ACTUAL


def _dash_money(b: SheetBuilder, financials: list[dict[str, Any]], fy: int | None, era: str) -> None:
    for j, entry in enumerate(financials):
        year, label, kind = _year_of(entry, fy, era)
        for key, row, table, unit in _DASH_MONEY:
            value = entry.get(key)
            b.cell(table=table, table_label="トータルコスト", row_label=row, unit=unit, fiscal_year=year,
                   printed_year_label=label, kind=kind, value=cell_number(value),
                   value_text=cell_text(value), locator=f"financials[{j}].{key}")


def _dash_indicators(b: SheetBuilder, x: dict[str, Any], fy: int | None, era: str) -> None:
    names = x.get("indicatorLabels") or {}
    for j, entry in enumerate(x.get("indicators") or []):
        year, label, kind = _year_of(entry, fy, era)
        for key, table, letters in _DASH_INDICATORS:
            for k, value in enumerate(entry.get(key) or []):
                slot = (names.get(key) or [{}] * 3)[k] if k < len(names.get(key) or []) else {}
                name = tidy_text(cell_text(slot.get("name")))
                if name in {"", "0", "-"} or k >= len(letters):
                    continue  # an unused slot ('0' is a formula's residue in the source)
                b.cell(table=table, table_label=table.value, row_label=f"{letters[k]} {name}",
                       unit=normalize_unit(cell_text(slot.get("unit"))), fiscal_year=year,
                       printed_year_label=label, kind=kind, value=cell_number(value),
                       value_text=cell_text(value), locator=f"indicators[{j}].{key}[{k}]")
