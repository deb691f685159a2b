"""「新規・充実事業」 cards (京都市's, 令和６年度 edition): one project per PDF, 1-2 pages.

Recognised by the card's title and header grid. The card does not print its city (only the
project's own name may contain it), so the municipality is left to the user.

Every page repeats a header grid (Ｎｏ., 所管局, 事業名, 【事業実施期間】), then one body grid whose
rows alternate between numbered headings (１ 事業概要 … ７ 令和７年度の方向性) and their content;
a section may continue on page 2. Some headings are printed twice over themselves, so the text
layer doubles them (【【事事業業…); pages are read with dedupe_chars() and undouble() as fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pdfplumber.page import Page
from pdfplumber.table import Table as PdfTable

from ..errors import NotASheet
from ..normalize import YearContext, era_of, nfkc, parse_kind, parse_number, parse_year
from ..records import Kind, ParsedSheet, Section, SheetBuilder, Table, new_sheet
from ..years import ERA_IN_FORCE
from .pdfwords import first_page_text, join_lines, load_pages, open_pdf, undouble, words_in

NAME = "pdf_kyoto"
PERIOD_HEAD = "【事業実施期間】"

Row = list[str | None]

# Heading keyword -> canonical key; the longer 評価 heading must win over 事業目標.
_HEADINGS = [("事業目標及び取組実績を踏まえた評価", "評価"), ("役割分担評価", "役割分担評価"),
             ("事業概要", "事業概要"), ("事業目標", "事業目標"), ("経費", "経費"),
             ("取組実績", "取組実績"), ("方向性", "方向性")]
_HEADING_RE = re.compile(r"^[1-9]\s+(\S.*)$")  # "１ 事業概要", never "2050年…"
# A year block starts on its own line; an inline （令和5年度） inside a sentence is not one.
_YEAR_MARK = re.compile(r"^\s*(（令和\s*[０-９0-9元]+\s*年度）)\s*$", re.MULTILINE)
_MONEY = re.compile(r"^\s*([△▲\-]?[\d,]+)\s*(?:\(\s*([△▲\-]?[\d,]*)\s*\))?")


@dataclass
class _Part:
    """One numbered section of the body: its printed heading, content rows and pages."""

    key: str
    heading: str
    rows: list[Row] = field(default_factory=list)
    pages: set[int] = field(default_factory=set)

    def locator(self) -> str:
        lo, hi = min(self.pages, default=1), max(self.pages, default=1)
        return f"p.{lo}" if lo == hi else f"p.{lo}-{hi}"

    def text(self) -> str:
        return "\n".join(c for row in self.rows for c in row if c)


def sniff(path: Path, head: bytes) -> bool:
    if path.suffix.lower() != ".pdf":
        return False
    text = undouble(first_page_text(path))
    return "新規・充実事業" in text and "所管局" in text


def read(path: Path) -> list[ParsedSheet]:
    with open_pdf(path) as pdf:
        pages = load_pages(pdf, path)
        first = undouble(pages[0].extract_text() or "")
        if "新規・充実事業" not in first or "所管局" not in first:
            raise NotASheet("新規・充実事業の評価シートではありません")
        page_tables = [p.find_tables() for p in pages]
        header = _header(pages[0], page_tables[0], path)
        parts = _parts(page_tables)
        locator = "p.1" if len(pages) == 1 else f"p.1-{len(pages)}"
    b = _builder(path, header, first, locator)
    _fill(b, parts, header.get("period", ""))
    return [b.build()]


def _cell(text: str | None) -> str:
    return undouble(text or "")


def _is_header(table: PdfTable) -> bool:
    rows = table.extract()
    return len(rows) >= 2 and _cell(rows[1][0]).startswith("事業名")


def _header(page: Page, tables: list[PdfTable], path: Path) -> dict[str, str]:
    """Ｎｏ., 所管局, 事業名 and 事業実施期間 from the header grid.

    The 事業名 cell also holds 【事業実施期間】 and its period at the right, sometimes on the
    same text line as the name, so the two are told apart by x position, not by text order.
    """
    table = next((t for t in tables if _is_header(t)), None)
    if table is None:
        raise NotASheet("事業名の欄が見つからないため、新規・充実事業の評価シートとして読めません")
    rows = table.extract()
    values = [c for c in rows[0] if c]
    out = {"no": nfkc(_cell(values[0])).strip() if values else "",
           "department": join_lines(_cell(values[-1])) if len(values) > 1 else "",
           "year_label": nfkc(_cell(rows[1][0]))}
    bbox = table.rows[1].cells[1]
    words = words_in(page, bbox) if bbox else []
    mark = next((w for w in words if PERIOD_HEAD in undouble(w["text"])), None)
    split = mark["x0"] - 2 if mark else float("inf")
    out["name"] = "".join(undouble(w["text"]) for w in words if w["x0"] < split)
    period = [undouble(w["text"]) for w in words if w["x0"] >= split and w is not mark]
    out["period"] = "".join(period).replace(PERIOD_HEAD, "")
    if not out["name"]:
        raise NotASheet(f"{path.name}: 事業名が空のため、評価シートとして読めません")
    return out


def _builder(path: Path, header: dict[str, str], first: str, locator: str) -> SheetBuilder:
    # The card names its own year beside 事業名 （令和６年度）; the title's 令和５年度 is the year
    # the project was new, so it is only a fallback (+1).
    year = parse_year(header["year_label"])
    printed = re.search(r"(?:平成|令和)\s*(?:元|\d+)\s*年度", nfkc(header["year_label"]))
    label = printed.group(0) if year and printed else ""
    if year is None:
        m = re.search(r"((?:平成|令和)\s*\S+?年度)新規", nfkc(first))
        before = parse_year(m.group(1)) if m else None
        year = before + 1 if before else None
    sheet = new_sheet(municipality="", project_id=header["no"], project_name=header["name"],
                      department=header["department"], fiscal_year=year, printed_year_label=label,
                      source_file=str(path), locator=locator, layout=NAME)
    return SheetBuilder(sheet)


def _parts(page_tables: list[list[PdfTable]]) -> list[_Part]:
    """Body rows of every page grouped under their numbered headings, across page breaks."""
    parts: list[_Part] = []
    for page_no, tables in enumerate(page_tables, start=1):
        for table in tables:
            if _is_header(table):
                continue
            for raw in table.extract():
                row = [_cell(c) if c is not None else None for c in raw]
                key = _heading_key(row[0])
                if key is not None:
                    parts.append(_Part(key, join_lines(row[0])))
                    row = [None, *row[1:]]
                if parts and any(row):
                    parts[-1].rows.append(row)
                    parts[-1].pages.add(page_no)
    return parts


def _heading_key(cell: str | None) -> str | None:
    m = _HEADING_RE.match(nfkc(cell or "").strip())
    if not m or "\n" in (cell or "").strip():
        return None
    return next((key for word, key in _HEADINGS if word in m.group(1)), None)


def _fill(b: SheetBuilder, parts: list[_Part], period: str) -> None:
    b.narrative(Section.PERIOD, "事業実施期間", period, "p.1")
    for part in parts:
        label = re.sub(r"^\S\s*", "", part.heading).strip()  # without its number
        loc = part.locator()
        if part.key == "事業概要":
            b.narrative(Section.OVERVIEW, label, join_lines(part.text()), loc)
        elif part.key == "事業目標":
            b.narrative(Section.INDICATOR_NOTE, label, join_lines(part.text()), loc)
            _targets(b, join_lines(part.text()), period, loc)
        elif part.key == "経費":
            _cost(b, part.rows, loc, label)
        elif part.key == "取組実績":
            _activities(b, part.text(), loc)
        elif part.key == "評価":
            b.narrative(Section.EVALUATION, label, join_lines(part.text()), loc)
        elif part.key == "役割分担評価":
            b.narrative(Section.EVALUATION, label, _roles(part.rows), loc)
        elif part.key == "方向性":
            _direction(b, label, part.rows, loc)


def _targets(b: SheetBuilder, text: str, period: str, loc: str) -> None:
    """【数値目標：8,339kW（…）】 after each 指標 as a 目標 cell, when the figure parses cleanly.

    The target belongs to the whole 事業実施期間, so it is dated to the period's last year.
    """
    end = re.search(r"[～~]\s*(?:令和|平成)?\s*(\d+)\s*年度", nfkc(period))
    # '令和5年度～9年度': the end year is in the era the period starts in.
    year = YearContext(era_of(period) or ERA_IN_FORCE).bare(int(end.group(1))) if end else None
    year_label = f"数値目標（{period}）" if period else "数値目標"
    table = Table.OUTCOME
    for chunk in re.split(r"(＜[^＞]*＞)", text):
        if chunk.startswith("＜"):
            table = Table.ACTIVITY if "アウトプット" in chunk else Table.OUTCOME
            continue
        for m in re.finditer(r"指標：\s*([^【]+?)\s*【数値目標：\s*([^（(】]+)", chunk):
            figure = re.match(r"^([\d,.]+)\s*(\S*)$", nfkc(m.group(2)).strip())
            if not figure or parse_number(figure.group(1)) is None:
                continue  # prose targets stay in the narrative only
            b.cell(table=table, table_label="事業目標", row_label=m.group(1), unit=figure.group(2),
                   fiscal_year=year, printed_year_label=year_label, kind=Kind.TARGET,
                   value=parse_number(figure.group(1)), value_text=m.group(2).strip(), locator=loc)


def _money(b: SheetBuilder, label: str, text: str, loc: str, table_label: str, year: int | None = None) -> None:
    """'326,800（0）': 経費 and, in brackets, the part paid from 一般財源 (一財)."""
    m = _MONEY.match(nfkc(text))
    total, general = (m.group(1), m.group(2) or "") if m else (nfkc(text).strip(), "")
    kind, year = parse_kind(label), parse_year(label) or year
    for row_label, table, value in (("経費", Table.COST, total),
                                    ("経費のうち一般財源", Table.FUNDING, general)):
        b.cell(table=table, table_label=table_label, row_label=row_label, unit="千円",
               fiscal_year=year, printed_year_label=label, kind=kind,
               value=parse_number(value), value_text=value, locator=loc)


def _cost(b: SheetBuilder, rows: list[Row], loc: str, heading: str) -> None:
    head = next((r for r in rows if nfkc(r[0] or "").startswith("年度")), None)
    body = next((r for r in rows if nfkc(r[0] or "").startswith("経費")), None)
    if head is None or body is None:
        b.warnings.append("経費の表が読めませんでした")
        return
    for i, col in enumerate(head[1:], start=1):
        if col:
            _money(b, nfkc(join_lines(col)), body[i] or "", loc, heading)


def _activities(b: SheetBuilder, text: str, loc: str) -> None:
    """One record per （令和○年度） block; text before the first marker goes with the section."""
    pieces = _YEAR_MARK.split(text)  # [before, mark, body, mark, body, ...]
    if pieces[0].strip():
        b.narrative(Section.ACTIVITIES, "取組実績", join_lines(pieces[0]), loc)
    for mark, body in zip(pieces[1::2], pieces[2::2], strict=True):
        b.narrative(Section.ACTIVITIES, f"取組実績{mark}", join_lines(body), loc)


def _roles(rows: list[Row]) -> str:
    """役割分担評価: each criterion with the option ticked (■); unticked options are form text."""
    out = []
    for row in rows:
        cells = [c for c in row if c]
        if len(cells) < 2:
            continue
        criterion, options = cells[-2], cells[-1]
        ticked = [ln.strip() for ln in options.split("\n") if ln.strip().startswith("■")]
        out.append(f"{join_lines(criterion)}：{' '.join(ticked) or '（選択なし）'}")
    return " ".join(out)


def _direction(b: SheetBuilder, heading: str, rows: list[Row], loc: str) -> None:
    """７ 令和７年度の方向性: 予算案 (a figure, also kept as cells) and 方向性 (a word)."""
    year = parse_year(heading)
    for row in rows:
        cells = [c for c in row if c]
        if len(cells) < 2:
            continue
        label, value = join_lines(cells[-2]), cells[-1]
        if label.startswith("予算案"):
            # The label cell carries the figure's unit ('経費（一財）、単位（千円）'); keep it.
            lines = cells[-2].split("\n")
            printed = f"{lines[0]}（{''.join(lines[1:])}）" if len(lines) > 1 else lines[0]
            b.narrative(Section.DIRECTION, printed, join_lines(value), loc)
            # The column prints no year ('予算案'); the heading's year (７ 令和７年度の方向性) is its year.
            _money(b, "予算案", value.split("\n")[0], loc, heading, year)
        else:
            b.narrative(Section.DIRECTION, label, join_lines(value), loc)
