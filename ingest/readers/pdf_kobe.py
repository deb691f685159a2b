"""事務事業評価シート of 神戸市's form (平成25年度 edition, 行財政改革2015), one PDF per project.

The form prints neither its city nor an era: its columns say 20年度決算 … 25年度予算. The era
is read from the dates the sheet writes out (normalize: bare_year_era), the evaluation year is the
year of the ≪事業別コスト等≫ 予算 column (the year the sheet was written in), and the municipality
is left to the user.

The text layer interleaves columns (所属名 beside 評価責任者, the vertical 「コ ス ト」 labels), so the
reader works on the ruled grid: pdfplumber finds the tables, and each cell's text is taken from
the characters inside that cell only. A file may hold more than one sheet (007 carries a second
sheet from page 5) and 別紙 pages that belong to the sheet before them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pdfplumber

from ..checks import check_sum
from ..errors import NotASheet, SheetFileError
from ..normalize import UNITS, YearContext, nfkc, normalize_unit, parse_kind, parse_number, parse_year
from ..records import Kind, ParsedSheet, Section, SheetBuilder, Table, new_sheet, tidy_text
from ..years import bare_year_era, bare_years

NAME = "pdf_kobe"
# Column headers print bare years (20年度決算).
_YEAR_RE = re.compile(r"\d{1,2}年度")

_BASIC = {"目的": Section.PURPOSE, "行財政改革2015の項目": Section.POLICY, "根拠法令等": Section.LEGAL_BASIS,
          "対象者": Section.TARGET, "事業内容": Section.OVERVIEW, "事業開始年度": Section.PERIOD}
_STATUS = (("外部評価委員会", Section.EXTERNAL_REVIEW), ("取組の方向性", Section.DIRECTION),
           ("取組み及び成果", Section.ACTIVITIES), ("他都市の状況", Section.OTHER_CITIES),
           ("課題認識", Section.ISSUES))
# The two ○/● scales of ≪評価・分析≫, in the order the marks are printed.
_SCALES = {"達成見込み": ("達成", "おおむね達成", "達成までは困難", "その他（方針変更等）"),
           "取組への評価": ("積極的な取組実施", "おおむね十分", "やや不十分", "不十分")}
_COST_PARTS = ["人件費", "物件費", "減価償却費", "公債利子"]
_COST_TOTAL = "合計（A）"
_ITEM_START = re.compile(r"\s*(?:[①-⑳・※○●◎■□◆◇【［〔]|\(?\d+[)）.．])")
_UNIT_IN_PARENS = re.compile(r"[（(]単位[:：]\s*([^）)]+)[）)]|[（(]([^（）()]{1,4})[）)]$")


@dataclass
class Cell:
    lines: list[tuple[str, float]]  # (text, right edge)
    x1: float
    size: float = 10.0

    @property
    def label(self) -> str:
        """Labels are justified with spaces and wrapped or set vertically: squeeze them."""
        return re.sub(r"[\s\u3000]", "", "".join(t for t, _ in self.lines))

    @property
    def first(self) -> str:
        return self.lines[0][0].strip() if self.lines else ""

    @property
    def text(self) -> str:
        """Lines joined as paragraphs: a line that runs (nearly) to the cell's right edge was wrapped
        and continues without a space, unless it closes a sentence or the next line starts an item."""
        out = ""
        for i, (t, right) in enumerate(self.lines):
            out += t
            if i + 1 < len(self.lines):
                short = right < self.x1 - 3 * self.size  # half-width digits make a full line shorter
                item = _ITEM_START.match(self.lines[i + 1][0]) is not None
                out += "\n" if short or item or t.rstrip().endswith("。") else ""
        return out


Row = list[Cell | None]


@dataclass
class Page:
    number: int
    tables: list[list[Row]]
    annex: str = ""  # the text of a （別紙） page, tables flattened row by row
    heading: str = ""
    sheet_start: bool = False
    text: str = ""


@dataclass
class _State:
    b: SheetBuilder
    ctx: YearContext
    page: int = 1
    cost_cols: list[tuple[int, str]] = field(default_factory=list)
    group: str = ""  # 内部評価 / 外部評価, printed once for several rows


def sniff(path: Path, head: bytes) -> bool:
    if path.suffix.lower() != ".pdf":
        return False
    try:
        with pdfplumber.open(path, pages=[1]) as pdf:
            text = pdf.pages[0].extract_text() or ""
    except Exception:  # sniff must never raise: any unreadable file is simply not ours
        return False
    return "事務事業評価シート" in text and ("≪基本事項≫" in text or "事業別コスト" in text)


def read(path: Path) -> list[ParsedSheet]:
    pages = _load(path)
    starts = [i for i, p in enumerate(pages) if p.sheet_start]
    if not starts:
        raise NotASheet("「事務事業名」「所属名」の表が無く、この様式の事務事業評価シートではありません")
    bounds = list(zip(starts, starts[1:] + [len(pages)], strict=True))
    return [_parse_sheet(path, pages[a:b]) for a, b in bounds]


def _year_context(pages: list[Page]) -> YearContext:
    """The era of the bare column years, from the dates the sheet writes out (行財政改革2015,
    事業開始年度 平成12年, …): see years.bare_year_era."""
    text = "\n".join(p.text for p in pages)
    headers = [c.label for p in pages for t in p.tables for r in t for c in r
               if c is not None and _YEAR_RE.match(c.label)]
    return YearContext(era=bare_year_era(text, bare_years(" ".join(headers))))


def _evaluation_year(pages: list[Page], ctx: YearContext) -> tuple[int | None, str]:
    """The year the sheet was written in: ≪事業別コスト等≫ ends with that year's 予算 (25年度予算
    after 20–24年度決算). Without a 予算 column, the latest year of the table's header."""
    for page in pages:
        for table in page.tables:
            for row in table:
                cols = _year_cols(row)
                if len(cols) >= 2:
                    budget = [label for _, label in cols if parse_kind(label) is Kind.BUDGET]
                    label = budget[-1] if budget else max((lab for _, lab in cols),
                                                           key=lambda x: parse_year(x, ctx) or 0)
                    return parse_year(label, ctx), label
    return None, ""


# ---- loading --------------------------------------------------------------------------------

def _load(path: Path) -> list[Page]:
    try:
        with pdfplumber.open(path) as pdf:
            pages = [_read_page(p, i + 1) for i, p in enumerate(pdf.pages)]
    except Exception as exc:  # pdfminer raises many unrelated types for broken or encrypted files
        raise SheetFileError(str(path), f"PDFを読み込めません（破損・暗号化・途中で切れている可能性があります: "
                                        f"{type(exc).__name__}）") from exc
    if not pages:
        raise SheetFileError(str(path), "PDFにページがありません")
    return pages


def _read_page(page, number: int) -> Page:
    found = page.find_tables()
    boxes = [t.bbox for t in found]
    roots = [t for t in found if not any(_inside(t.bbox, o) for o in boxes if o != t.bbox)]
    tables = [[[_cell(page, c) for c in row.cells] for row in t.rows] for t in roots]
    text = page.extract_text() or ""
    first = tables[0] if tables else []
    start = (len(first) >= 2 and _label(first[0]) == "事務事業名" and _label(first[1]) == "所属名")
    out = Page(number, tables, sheet_start=start, text=text)
    head = text.strip().split("\n", 1)[0]
    if head.startswith("（別紙）"):
        leaves = [t for t in found if not any(_inside(o, t.bbox) for o in boxes if o != t.bbox)]
        out.heading, out.annex, out.tables = head, _annex_text(page, leaves), []
    return out


def _inside(a: tuple, b: tuple) -> bool:
    return a[0] >= b[0] - 1 and a[1] >= b[1] - 1 and a[2] <= b[2] + 1 and a[3] <= b[3] + 1


def _cell(page, bbox: tuple | None) -> Cell | None:
    if bbox is None:
        return None
    x0, top, x1, bottom = bbox

    def centred(obj: dict) -> bool:
        # A glyph straddling a rule (the 「）」 of 一般財源（B）) belongs to the cell holding its centre.
        if obj.get("object_type") != "char":
            return True
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return x0 <= cx < x1 and top <= cy < bottom

    lines = page.filter(centred).crop(bbox, strict=False).extract_text_lines()
    size = lines[0]["chars"][0]["size"] if lines and lines[0]["chars"] else 10.0
    return Cell([(ln["text"], ln["x1"]) for ln in lines], x1, size)


def _annex_text(page, tables) -> str:
    """A 別紙 page in reading order: loose text lines and table rows, top to bottom."""
    blocks: list[tuple[float, str]] = []
    for t in tables:
        for row in t.rows:
            cells = [_cell(page, c) for c in row.cells]
            text = " ".join(tidy_text(c.text.replace("\n", " ")) for c in cells if c and c.lines)
            if text.strip():
                blocks.append((row.bbox[1], text))
    for ln in page.extract_text_lines():
        mid = ((ln["x0"] + ln["x1"]) / 2, (ln["top"] + ln["bottom"]) / 2)
        if not any(t.bbox[0] <= mid[0] <= t.bbox[2] and t.bbox[1] <= mid[1] <= t.bbox[3] for t in tables):
            blocks.append((ln["top"], ln["text"]))
    lines = [t for _, t in sorted(blocks, key=lambda b: b[0])]
    # The heading becomes the label; the page footer (－ 14 －) is not content.
    return " ".join(t for t in lines[1:] if not re.fullmatch(r"－\s*\d+\s*－", t.strip()))


def _label(row: Row) -> str:
    return next((c.label for c in row if c is not None and c.lines), "")


def _texts(row: Row) -> list[Cell]:
    return [c for c in row if c is not None and c.lines]


# ---- one sheet ------------------------------------------------------------------------------

def _parse_sheet(path: Path, pages: list[Page]) -> ParsedSheet:
    header = pages[0].tables[0]
    name_cell = _texts(header[0])[1] if len(_texts(header[0])) > 1 else None
    if name_cell is None:
        raise NotASheet("事務事業名が空欄です")
    department = _department(_texts(header[1])[1] if len(_texts(header[1])) > 1 else None)
    name = tidy_text(name_cell.first)
    ctx = _year_context(pages)
    year, printed = _evaluation_year(pages, ctx)
    sheet = new_sheet(municipality="", project_name=name, department=department, fiscal_year=year,
                      printed_year_label=printed, source_file=str(path),
                      locator=f"p.{pages[0].number}-{pages[-1].number}", layout=NAME)
    st = _State(SheetBuilder(sheet), ctx, page=pages[0].number)
    if len(name_cell.lines) > 1:  # 007's second sheet lists its facilities under the name
        st.b.narrative(Section.OVERVIEW, "事務事業名", " ".join(t for t, _ in name_cell.lines[1:]),
                       f"p.{st.page}")
    for page in pages:
        st.page = page.number
        if page.annex:
            st.b.narrative(_annex_section(page.heading), page.heading, page.annex, f"p.{page.number}")
        for i, table in enumerate(page.tables):
            _table(st, table[2:] if (page is pages[0] and i == 0) else table)
    cost = [c for c in st.b.build().cells if c.table in {Table.COST, Table.PERSONNEL, Table.TOTAL_COST}]
    st.b.warnings += check_sum(cost, _COST_PARTS, _COST_TOTAL, "事業別コスト合計")
    return st.b.build()


def _department(cell: Cell | None) -> str:
    """Two 所属 are printed on two lines; a line ending in 局/部 is one 所属 wrapped, not two."""
    if cell is None:
        return ""
    out = ""
    for t, _ in cell.lines:
        t = t.strip()
        out += t if not out or out.endswith(("局", "部")) else "・" + t
    return out


def _annex_section(heading: str) -> Section:
    if "外部評価" in heading:
        return Section.EXTERNAL_REVIEW
    if "他都市" in heading:
        return Section.OTHER_CITIES
    return Section.RESULT if "実績" in heading else Section.OTHER


def _table(st: _State, rows: list[Row]) -> None:
    """020 prints the whole first page as one grid: split it at the ≪…≫ headings first."""
    cuts = [i for i, r in enumerate(rows) if _label(r).startswith("≪")] + [len(rows)]
    for a, b in zip([0] + cuts[:-1], cuts, strict=True):
        part = rows[a + (a in cuts):b]
        if part:
            _block(st, part)


def _block(st: _State, rows: list[Row]) -> None:
    labels = {_label(r) for r in rows}
    if any("人件費" in lab for lab in labels) or any(c.label == "人件費" for r in rows for c in _texts(r)):
        _cost_table(st, rows)
    elif any(lab.startswith("実施方法") for lab in labels):
        _staff_table(st, rows)
    elif any("項目" in c.label for r in rows[:1] for c in _texts(r)):
        _performance_table(st, rows)
    elif st.cost_cols and rows and all(len(r) == len(st.cost_cols) + 1 for r in rows):
        _reference_rows(st, rows)
    else:
        for row in rows:
            _text_row(st, row)


# ---- narrative rows -------------------------------------------------------------------------

def _text_row(st: _State, row: Row) -> None:
    cells = _texts(row)
    if not cells:
        return
    head = cells[0].label
    if head in _BASIC:
        st.b.narrative(_BASIC[head], head, _join(cells[1:]), f"p.{st.page}")
        return
    for word, section in _STATUS:
        if word in head:
            st.b.narrative(section, head, _join(cells[1:]), f"p.{st.page}")
            return
    if head in {"内部評価", "外部評価"}:
        st.group, cells = head, cells[1:]
    if len(cells) >= 2 and st.group:
        label = cells[0].label
        text = _choice(label, cells[1]) or _join(cells[1:])
        st.b.narrative(Section.EVALUATION, f"{st.group} {label}", text, f"p.{st.page}")


def _join(cells: list[Cell]) -> str:
    return " ".join(c.text for c in cells)


def _choice(label: str, cell: Cell) -> str:
    """The option marked ● on a ○/● scale, or '' when the marks cannot be read unambiguously."""
    scale = next((opts for key, opts in _SCALES.items() if key in label), None)
    marks = "".join(ch for t, _ in cell.lines for ch in t if ch in "○●")
    if scale is None or len(marks) != len(scale) or marks.count("●") != 1:
        return ""
    return scale[marks.index("●")]


# ---- figures --------------------------------------------------------------------------------

def _year_cols(row: Row) -> list[tuple[int, str]]:
    return [(i, tidy_text(c.label)) for i, c in enumerate(row)
            if c is not None and _YEAR_RE.match(c.label)]


def _add(st: _State, table: Table, label: str, unit: str, cols: list[tuple[int, str]], row: Row,
         table_label: str, default_kind: Kind = Kind.UNKNOWN) -> None:
    for idx, year_label in cols:
        c = row[idx] if idx < len(row) else None
        text = tidy_text(c.text) if c is not None else ""
        number = text[: -len(unit)] if unit and text.endswith(unit) else text
        st.b.cell(table=table, row_label=label, unit=unit, fiscal_year=parse_year(year_label, st.ctx),
                  printed_year_label=year_label, kind=parse_kind(year_label, default_kind),
                  value=parse_number(number), value_text=text, table_label=table_label,
                  locator=f"p.{st.page}")


def _cost_table(st: _State, rows: list[Row]) -> None:
    cols: list[tuple[int, str]] = []
    group = parent = ""
    for row in rows:
        if not cols:
            cols = _year_cols(row)
            st.cost_cols = cols
            continue
        first = cols[0][0]
        heads = [(i, c) for i, c in enumerate(row[:first]) if c is not None and c.lines]
        _mend_bracket(row, heads, first)
        if heads and heads[0][0] == 0 and all(len(t.strip()) == 1 for t, _ in heads[0][1].lines):
            group, heads = heads[0][1].label, heads[1:]  # vertical group label: コスト / 収入
        elif heads and heads[0][0] == 0:
            group = ""
        if not heads:
            continue
        level, cell = heads[-1]
        if level >= 2:
            label = f"{parent} 内訳 {cell.label}"
        else:
            parent = label = tidy_text(cell.first)
            label = f"{group} {label}" if group == "収入" else label
        _add(st, *_cost_kind(label, group), cols, row, "事業別コスト等")


def _mend_bracket(row: Row, heads: list[tuple[int, Cell]], first: int) -> None:
    """「（差引）一般財源（B」 + 「） 375,620」: the label overruns its cell and its closing bracket
    lands in the first figure's cell. Give the bracket back; the figure is not touched."""
    value = row[first]
    if not heads or value is None or not value.lines:
        return
    cell = heads[-1][1]
    t, right = value.lines[0]
    if cell.first.count("（") > cell.first.count("）") and t.lstrip().startswith("）"):
        cell.lines[0] = (cell.lines[0][0] + "）", cell.lines[0][1])
        value.lines[0] = (t.lstrip()[1:].strip(), right)


def _cost_kind(label: str, group: str) -> tuple[Table, str, str]:
    if label.startswith("従事人員"):
        return Table.PERSONNEL, label, "人"
    if label == "人件費":
        return Table.PERSONNEL, label, "千円"
    if label.startswith("合計（A"):
        return Table.TOTAL_COST, label, "千円"
    if group == "収入" or "一般財源" in label:
        return Table.FUNDING, label, "千円"
    return Table.COST, label, "千円"


def _reference_rows(st: _State, rows: list[Row]) -> None:
    """018 prints (参考) 経常収支 / 当年度純利益 under the cost table, in its columns."""
    for row in rows:
        shifted: Row = [None] * (st.cost_cols[0][0] - 1) + row
        if row[0] is not None and row[0].lines:
            _add(st, Table.OTHER, row[0].label, "千円", st.cost_cols, shifted, "（参考）")


def _staff_table(st: _State, rows: list[Row]) -> None:
    """≪執行体制≫ is text per year (直営/一部委託, 人数): kept as narrative, year by year."""
    cols = _year_cols(rows[0])
    staff: list[str] = []
    for row in rows[1:]:
        cells = [(i, c) for i, c in enumerate(row) if c is not None and c.lines and i < cols[0][0]]
        if not cells:
            continue
        label = cells[-1][1].label
        values = [(y, _text_of(row[i])) for i, y in cols]
        if label.startswith("実施方法"):
            st.b.narrative(Section.DELIVERY, "実施方法", _per_year(values), f"p.{st.page}")
        elif any(v for _, v in values):
            staff.append(f"{label}: {_per_year(values)}")
    st.b.narrative(Section.STAFFING, "職種別人数", "; ".join(staff), f"p.{st.page}")


def _text_of(cell: Cell | None) -> str:
    return tidy_text(cell.text) if cell is not None else ""


def _per_year(values: list[tuple[str, str]]) -> str:
    if len({v for _, v in values}) == 1:
        return f"{values[0][0]}～{values[-1][0]} {values[0][1]}"
    return ", ".join(f"{y} {v or '（空欄）'}" for y, v in values)


def _performance_table(st: _State, rows: list[Row]) -> None:
    """≪事業実績等≫: per block (事業実績（C）, 単位あたりコスト（A／C）, 市民一人あたり…), item rows
    alternate a merged description line and a line of six figures."""
    header_unit = _unit(_texts(rows[0])[0].text if _texts(rows[0]) else "")
    cols: list[tuple[int, str]] = []
    block, desc = "", ""
    for row in rows[1:]:
        if not cols:
            cols = _year_cols(row)
            continue
        if row[0] is not None and row[0].lines:
            block, desc = row[0].label, ""
        if sum(c is not None for c in row[1:]) == 1:  # the merged description line
            desc = tidy_text(row[1].text) if row[1] is not None else ""
            continue
        values = [_text_of(row[i]) for i, _ in cols]
        if not desc and all(v in {"", "-", "－"} for v in values):
            continue  # an unused item slot of the form
        _performance_row(st, block, desc, header_unit, cols, row)


def _performance_row(st: _State, block: str, desc: str, header_unit: str,
                     cols: list[tuple[int, str]], row: Row) -> None:
    if block.startswith("市民一人あたり"):
        cell = row[0]
        lines = [t for t, _ in cell.lines] if cell else []
        label = "".join(t for t in lines if "単位" not in t).replace(" ", "")
        table, unit, title = Table.UNIT_COST, _unit(" ".join(lines)) or "円", "市民一人あたり充当額"
    elif block.startswith("単位あたりコスト"):
        table, label, unit, title = Table.UNIT_COST, desc or block, _unit(desc), block
    else:
        table, label, title = Table.PERFORMANCE, desc or block, block
        unit = _unit(desc) or header_unit
    _add(st, table, label, unit, cols, row, title, Kind.ACTUAL)


def _unit(text: str) -> str:
    """A unit printed as （単位：千円） anywhere, or a unit-like （件） closing the item's name."""
    for m in _UNIT_IN_PARENS.finditer(nfkc(tidy_text(text))):
        if m.group(1):
            return normalize_unit(m.group(1))
        cand = normalize_unit(m.group(2))
        if cand in UNITS or re.fullmatch(r"[千百万]?(円|人|件|回|日|t|m3|ha)", cand):
            return cand
    return ""
