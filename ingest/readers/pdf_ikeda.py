"""「目標設定シート」 (池田市's 事務事業評価 form): one fixed one-page form per PDF.

The form is recognised by its title and labels, not by the city: the municipality is the one its
title names (第７次〇〇市総合計画 …), and the labels that carry the edition's year
(上記要素に係るR6年度取組予定, R7年度以降の事業の方向性) are patterns over the year, so next year's
edition (R7年度取組予定) reads the same.

The text stream interleaves the form's columns (事業の対象 and 事業内容 alternate line by line),
so everything is read from pdfplumber's table cells, which keep each column's text apart.
The bottom grid holds two tables side by side: (4) 事業費等 on the left (columns 0-6) and
(5) 成果指標 with its evaluation on the right; they are split by the header row's columns.
"""

from __future__ import annotations

import re
from pathlib import Path

from pdfplumber.page import Page

from ..checks import check_sum
from ..errors import NotASheet
from ..normalize import nfkc, normalize_unit, parse_kind, parse_number, parse_year
from ..records import Kind, ParsedSheet, Section, SheetBuilder, Table, new_sheet
from .labels import city_in
from .pdfwords import first_page_text, join_lines, load_pages, open_pdf, squeeze

NAME = "pdf_ikeda"
LOCATOR = "p.1"

Row = list[str | None]

# A year as the form prints it in its labels: R6年度, 令和6年度.
_Y = r"(?:R|令和)\s*(?:元|\d{1,2})\s*年度"
# Label cells of the upper tables (squeezed text prefix) -> section and label as printed.
_LABELS: list[tuple[str, Section | None, str]] = [
    ("担当部署名", None, "担当部署名"),
    ("事務事業名", None, "事務事業名"),
    ("施策の柱", Section.POLICY, "施策の柱"),
    ("施策名称", Section.POLICY, "施策名称"),
    ("事前に備えるべき目標", Section.POLICY, "国土強靭化地域計画 事前に備えるべき目標"),
    ("施策分野", Section.POLICY, "国土強靭化地域計画 施策分野"),
    ("実施期間", Section.PERIOD, "実施期間"),
    ("事業の対象", Section.TARGET, "事業の対象"),
    ("事業内容", Section.OVERVIEW, "事業内容"),
    ("事業の手段・方法", Section.MEANS, "事業の手段・方法"),
    ("実施形態", Section.DELIVERY, "実施形態（直営/委託）"),
    ("関連計画", Section.LEGAL_BASIS, "関連計画・例規"),
]
# Labels that name the edition's year: the label is kept as printed ('R6年度取組予定').
_YEAR_LABELS: list[tuple[re.Pattern[str], Section]] = [
    (re.compile(rf"^上記要素に係る({_Y}取組予定)"), Section.MEANS_PLAN),
    (re.compile(rf"^上記要素に係る({_Y}取組実績)"), Section.MEANS_DONE),
]
# Cells that head a row group but carry no value of their own.
_NON_VALUE = ("総合計画", "国土強靭化地域計画の体系", "関連するSDG", "行財政改革", "※", "「みんなで",
              "「持続可能な")
_TOTAL = "事業費 A"
_FORM_ROWS = ("国・府支出金", "地方債", "その他", "うち受益者負担", "一般財源", "受益者負担率")
_RATIO = "受益者負担率"


def _is_form(text: str) -> bool:
    """The form's title and the labels of its five parts, whichever city printed it."""
    t = squeeze(text).replace(" ", "")
    return "目標設定シート" in t and "事務事業名" in t and "成果指標" in t


def sniff(path: Path, head: bytes) -> bool:
    if path.suffix.lower() != ".pdf":
        return False
    return _is_form(first_page_text(path))


def read(path: Path) -> list[ParsedSheet]:
    with open_pdf(path) as pdf:
        page = load_pages(pdf, path)[0]
        text, tables, remarks = page_content(page)
    return [sheet_from(path, text, tables, remarks)]


def page_content(page: Page) -> tuple[str, list[list[Row]], str]:
    """What the reader uses of the page: its text, the cells of each table, and the text under the grid."""
    found = page.find_tables()
    tables = [t.extract() for t in found]
    bottom = max((t.bbox[3] for t in found), default=page.height)
    return page.extract_text() or "", tables, _remarks_text(page, bottom)


def sheet_from(path: Path, text: str, tables: list[list[Row]], remarks: str) -> ParsedSheet:
    """The sheet from a page's text and table cells (see page_content)."""
    text = nfkc(text)
    if not _is_form(text):
        raise NotASheet("目標設定シートではありません")
    cost_rows = next((t for t in tables if t and squeeze(t[0][0]) == "区分"), None)
    if cost_rows is None:
        raise NotASheet("事業費等の表が見つからないため、目標設定シートとして読めません")
    pairs = [p for t in tables if t is not cost_rows for p in _pairs(t)]
    builder = _builder(path, text, pairs)
    _narratives(builder, pairs)
    _marks(builder, tables)
    _bottom_tables(builder, cost_rows)
    builder.narrative(Section.OTHER, "備考", remarks, LOCATOR)
    return builder.build()


def _builder(path: Path, text: str, pairs: list[tuple[str, Section | None, str]]) -> SheetBuilder:
    values = {label: value for label, _, value in pairs}
    name, department = values.get("事務事業名", ""), values.get("担当部署名", "")
    if not name:
        raise NotASheet("事務事業名が見つからないため、目標設定シートとして読めません")
    # The title: 第７次〇〇市総合計画 前期基本計画 事務事業評価（令和６年度実施事業） NO. 1
    title = text.split("目標設定シート", 1)[0]
    m = re.search(r"((?:平成|令和)\s*(?:元|\d+)\s*年度)実施事業", title)
    label = m.group(1).replace(" ", "") if m else ""
    no = re.search(r"NO\.\s*(\d+)", title)
    sheet = new_sheet(municipality=city_in(title), project_id=no.group(1) if no else "", project_name=name,
                      department=department, fiscal_year=parse_year(label) if label else None,
                      printed_year_label=label, source_file=str(path), locator=LOCATOR, layout=NAME)
    return SheetBuilder(sheet)


def _label_of(cell: str | None) -> tuple[str, Section | None] | None:
    """The printed label and section if the cell is one of the form's labels."""
    key = squeeze(cell).replace(" ", "")
    for prefix, section, label in _LABELS:
        if key.startswith(prefix):
            return label, section
    for pattern, section in _YEAR_LABELS:
        m = pattern.match(key)
        if m:
            return m.group(1), section
    return None


def _pairs(rows: list[Row]) -> list[tuple[str, Section | None, str]]:
    """(label, section, value): a label cell, then the non-empty cells up to the next label."""
    out: list[tuple[str, Section | None, str]] = []
    for row in rows:
        current: tuple[str, Section | None] | None = None
        parts: list[str] = []
        for cell in row + ["\x00"]:  # a sentinel closes the last pair
            found = _label_of(cell) if cell != "\x00" else ("", None)
            if found is not None or cell == "\x00":
                if current is not None:
                    glue = "" if current[0] == "実施期間" else " "  # '令和','5','年度 ～ 令和' ...
                    out.append((current[0], current[1], glue.join(parts).strip()))
                current, parts = (found if found and cell != "\x00" else None), []
            elif current is not None and cell and not squeeze(cell).startswith(_NON_VALUE):
                parts.append(join_lines(cell))
    return out


def _narratives(b: SheetBuilder, pairs: list[tuple[str, Section | None, str]]) -> None:
    for label, section, value in pairs:
        if section is not None:
            b.narrative(section, label, value, LOCATOR)


def _marks(b: SheetBuilder, tables: list[list[Row]]) -> None:
    """(3) ○ marks: the SDG goals and the 意識すべき要素 that the sheet ticked."""
    goals: list[str] = []
    factors: list[str] = []
    for rows in tables:
        for row in rows:
            cells = [c for c in row if c is not None]
            for mark, item in zip(cells, cells[1:], strict=False):
                if mark.strip() == "○" and item.strip():
                    text = join_lines(item)
                    # SDG goals are numbered ('７ エネルギーを…'); the 要素 are not.
                    (goals if re.match(r"^[0-9０-９]+\s", text) else factors).append(text)
    goals.sort(key=lambda g: int(nfkc(g.split()[0])))
    b.narrative(Section.POLICY, "関連するSDGｓのゴール", "、".join(goals), LOCATOR)
    b.narrative(Section.OTHER, "行財政改革などに向けて特に意識すべき要素", "、".join(factors), LOCATOR)


def _bottom_tables(b: SheetBuilder, rows: list[Row]) -> None:
    head0, head1 = rows[0], rows[1]
    split = next(i for i, c in enumerate(head0) if squeeze(c) == "成果指標の内容")
    cost_cols = [i for i in range(split) if parse_kind(squeeze(head1[i])) != Kind.UNKNOWN]
    col_labels: dict[int, str] = {}
    year = ""
    for i in cost_cols:
        year = squeeze(head0[i]).replace(" ", "") or year  # R6年度 spans 予算 and 決算
        col_labels[i] = year + squeeze(head1[i]).replace(" ", "")
    _cost_rows(b, rows[2:], col_labels, cost_cols[0])
    _indicator_rows(b, rows, split)
    _evaluation_rows(b, rows[2:], split)
    parts = ["国・府支出金", "地方債", "その他", "一般財源"]
    money = [c for c in b.build().cells if c.table in (Table.COST, Table.FUNDING)]
    b.warnings += check_sum(money, parts, _TOTAL, "財源内訳")


def _left_label(row: Row, first_value: int) -> str:
    """Row label of the 事業費等 side; col 0 also holds the vertical 主な内訳/財源 captions."""
    inner = [c for c in row[1:first_value] if c]
    cell = inner[-1] if inner else (row[0] or "")
    if not inner and len(squeeze(cell).replace(" ", "")) <= 3:
        return ""  # a lone vertical caption character ('訳', '財', '源'), not a row label
    form = squeeze(cell.split("\n")[0] if cell.startswith("その他") else cell)
    if form == _TOTAL or form.startswith(_FORM_ROWS):
        return form  # the form's own labels, without their layout spacing
    return join_lines(cell)  # a 主な内訳 item: as printed


def _cost_rows(b: SheetBuilder, rows: list[Row], cols: dict[int, str], first: int) -> None:
    table = Table.COST
    for row in rows:
        label = _left_label(row, first)
        if label.startswith("国・府支出金"):  # the 財源 block starts here; 内訳 items above
            table = Table.FUNDING
        if label.startswith(_RATIO):
            _cost_cells(b, row, cols, Table.OTHER, label, "%")
            return
        if label:
            _cost_cells(b, row, cols, table, label, "千円")
        elif any(row[i] for i in cols):
            b.warnings.append(f"事業費等に行ラベルのない数値があります: {[row[i] for i in cols]}")


def _cost_cells(b: SheetBuilder, row: Row, cols: dict[int, str], table: Table, label: str,
                unit: str) -> None:
    table_label = "受益者負担率" if table is Table.OTHER else "事業費等（千円単位）"
    for i, col in cols.items():
        text = squeeze(row[i])
        b.cell(table=table, table_label=table_label, row_label=label, unit=unit,
               fiscal_year=parse_year(col), printed_year_label=col, kind=parse_kind(col),
               value=parse_number(text), value_text=text, locator=LOCATOR)


def _indicator_rows(b: SheetBuilder, rows: list[Row], split: int) -> None:
    """(5) 成果指標: name, 単位, then R5実績 / R6見込 / R6実績 / R9 (目標値) per indicator row."""
    unit_col = next(i for i, c in enumerate(rows[0]) if squeeze(c) == "単位")
    cols = {i: squeeze(c).replace(" ", "") for i, c in enumerate(rows[1])
            if i > unit_col and c and "年度" in c}
    eval_year = b.sheet.fiscal_year
    for row in rows[2:]:
        name = join_lines(row[split])
        if squeeze(name).startswith("成果指標の達成状況"):
            return
        if not name and not any(row[i] for i in cols):
            continue
        unit = normalize_unit(squeeze(row[unit_col]))
        for i, col in cols.items():
            year = parse_year(col)
            # The 目標値 group's last column is printed 「見込」, but a year beyond the evaluation
            # period is the plan's goal (R9 = final year of the 前期基本計画).
            kind = Kind.TARGET if year and eval_year and year > eval_year + 1 else parse_kind(col)
            text = squeeze(row[i])
            b.cell(table=Table.OUTCOME, table_label="成果指標", row_label=name, unit=unit,
                   fiscal_year=year, printed_year_label=col, kind=kind,
                   value=parse_number(text), value_text=text, locator=LOCATOR)


_EVAL_LABELS = {"成果指標の達成状況": Section.EVALUATION, "判断理由": Section.EVALUATION,
                "事業の有効性": Section.EVALUATION, "事業の効率性": Section.EVALUATION}
_DIRECTION_RE = re.compile(rf"^{_Y}以降の事業の方向性$")  # R7年度以降の事業の方向性 in the R6 edition
_OTHER_FUNDS_RE = re.compile(rf"^{_Y}における「その他」財源の主な内容$")


def _eval_section(label: str) -> Section | None:
    return Section.DIRECTION if _DIRECTION_RE.match(label) else _EVAL_LABELS.get(label)


def _evaluation_rows(b: SheetBuilder, rows: list[Row], split: int) -> None:
    """Right-hand evaluation block; a row with no label continues the previous label's text."""
    blocks: list[list[str]] = []
    for row in rows:
        label = squeeze(row[split]).replace(" ", "")
        text = next((join_lines(c) for c in row[split + 1:] if c), "")
        if _eval_section(label) is not None:
            blocks.append([label, text])
        elif not label and blocks and text:
            blocks[-1][1] += text
    section = Section.EVALUATION
    for label, text in blocks:
        if label != "判断理由":
            section = _eval_section(label) or section  # the 判断理由 after 方向性 belongs to DIRECTION
        b.narrative(section, label, text, LOCATOR)
    note_rows = rows[next((i for i, r in enumerate(rows)
                           if _left_label(r, 3).startswith(_RATIO)), len(rows)) + 1:]
    note = " ".join(join_lines(c) for r in note_rows for c in r[1:split] if c)
    # Its label ('R6年度における「その他」財源の主な内容') sits in the first column, under the note.
    printed = (squeeze(r[0]).replace(" ", "") for r in note_rows if r and r[0])
    label = next((t for t in printed if _OTHER_FUNDS_RE.match(t)), "「その他」財源の主な内容")
    b.narrative(Section.BUDGET_NOTE, label, note, LOCATOR)


def _remarks_text(page: Page, bottom: float) -> str:
    """※ 備考 sits under the grid, outside every table."""
    text = page.crop((0, bottom, page.width, page.height)).extract_text() or ""
    return join_lines(re.sub(r"^\s*※\s*備\s*考", "", text).strip())
