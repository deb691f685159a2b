"""Tab-separated text export of the 行政評価 template (the 栃木 sample's layout).

The export keeps the form's grid: header cells as label/value pairs, narrative cells on the left
of each indicator table, the 総事業費 grid, and the (3) 環境変化・市民意見 questions.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..checks import check_sum
from ..errors import NotASheet
from ..normalize import YearContext, normalize_unit, parse_kind, parse_number, parse_year
from ..records import Kind, ParsedSheet, Section, SheetBuilder, Table, new_sheet, tidy_text
from ..textio import head_text, looks_textual, read_text
from ..years import bare_year_era, bare_years

NAME = "tsv_sheet"

_HEADER_LABELS = {"事務事業名", "担当", "政策名", "施策名", "関連個別計画", "事業期間", "法令根拠",
                  "根拠法令", "予算科目", "事業概要", "増補版施策名"}
_MUNICIPALITY_RE = re.compile(r"([^\s\t、。（）()]{1,6}?[市町村区])(?:役所|役場|長|$)")

# Left-hand narrative cells: the circled number and its canonical section.
_LEFT_SECTIONS = {"①": Section.MEANS, "②": Section.TARGET, "③": Section.PURPOSE, "④": Section.RESULT}
# (3) 環境変化・市民意見等: ① きっかけ, ② 環境変化, ③ 関係者意見.
_PART3_SECTIONS = {"①": Section.ORIGIN, "②": Section.CHANGES, "③": Section.OPINIONS}
_TABLE_BY_MARK = {"⑤": Table.ACTIVITY, "⑥": Table.TARGET, "⑦": Table.OUTCOME, "⑧": Table.UPPER_OUTCOME}
_COST_ROWS = {
    "国庫支出金": Table.FUNDING, "県支出金": Table.FUNDING, "地方債": Table.FUNDING, "その他": Table.FUNDING,
    "一般財源": Table.FUNDING, "事業費計(A)": Table.COST, "正規職員従事人数": Table.PERSONNEL,
    "延べ業務時間": Table.PERSONNEL, "人件費計(B)": Table.PERSONNEL, "トータルコスト(A)+(B)": Table.TOTAL_COST,
}
_YEAR_HEADER_RE = re.compile(r"\d+年度\s*[(（].+[)）]")


def sniff(path: Path, head: bytes) -> bool:
    if path.suffix.lower() not in {".txt", ".tsv", ".tab"} or not looks_textual(head):
        return False
    return "事務事業名\t" in head_text(head)


def read(path: Path) -> list[ParsedSheet]:
    text = read_text(path)
    lines = [line.rstrip("\r") for line in text.split("\n")]
    header = _header(lines)
    if not header.get("事務事業名"):
        raise NotASheet("事務事業名が見つからないため、評価シートとして読めません")
    year_cols = _year_columns(lines)
    ctx = YearContext(era=bare_year_era(text, bare_years(" ".join(year_cols))))
    eval_year, eval_label = _evaluation_year(year_cols, ctx)
    sheet = new_sheet(municipality=_municipality(text), project_name=header["事務事業名"],
                      department=header.get("担当", ""), fiscal_year=eval_year, printed_year_label=eval_label,
                      source_file=str(path), locator="全体", layout=NAME)
    b = SheetBuilder(sheet)
    _header_narratives(b, header)
    _body(b, lines, ctx)
    cost = [c for c in b.build().cells if c.table in {Table.COST, Table.FUNDING, Table.PERSONNEL,
                                                       Table.TOTAL_COST}]
    b.warnings += check_sum(cost, ["事業費計(A)", "人件費計(B)"], "トータルコスト(A)+(B)", "トータルコスト")
    b.warnings += check_sum(cost, ["国庫支出金", "県支出金", "地方債", "その他", "一般財源"], "事業費計(A)",
                            "財源内訳")
    return [b.build()]


def _cells(line: str) -> list[str]:
    return [tidy_text(c) for c in line.split("\t")]


def _header(lines: list[str]) -> dict[str, str]:
    """Label/value pairs of the header grid: a known label, then its first non-empty neighbour."""
    out: dict[str, str] = {}
    for line in lines:
        if line.startswith(("1. 現状把握", "(1)", "①")):
            break
        cells = _cells(line)
        for i, cell in enumerate(cells):
            if cell in _HEADER_LABELS and cell not in out:
                # A value runs until the next label on the same line.
                values = []
                for c in cells[i + 1:]:
                    if c in _HEADER_LABELS:
                        break
                    if c and not (cell in {"政策名", "施策名"} and "<input" in c):
                        values.append(c)
                if cell not in {"政策名", "施策名", "予算科目"}:
                    values = values[:1]
                out[cell] = _chosen_option(" ".join(values))
    return out


def _chosen_option(text: str) -> str:
    """Checkbox options as exported ('<input…> 単年度のみ <input…> 単年度繰返（開始年度 平成 3 年度～）…').

    The export loses which box was ticked; the one option whose blanks were filled in (a year) is
    the chosen one. Otherwise all options are kept as printed."""
    options = [tidy_text(o) for o in re.split(r"<input[^>]*>", text) if tidy_text(o)]
    filled = [o for o in options if re.search(r"\d", o)]
    if "<input" in text and len(options) > 1 and len(filled) == 1:
        return filled[0]
    return _strip_checkboxes(text)


def _strip_checkboxes(text: str) -> str:
    return tidy_text(re.sub(r"<input[^>]*>", "", text))


def _header_narratives(b: SheetBuilder, header: dict[str, str]) -> None:
    mapping = [("事業概要", Section.OVERVIEW), ("政策名", Section.POLICY), ("施策名", Section.POLICY),
               ("関連個別計画", Section.POLICY), ("事業期間", Section.PERIOD), ("法令根拠", Section.LEGAL_BASIS),
               ("根拠法令", Section.LEGAL_BASIS), ("予算科目", Section.OTHER)]
    for label, section in mapping:
        if header.get(label):
            b.narrative(section, label, header[label], locator=label)


def _year_columns(lines: list[str]) -> list[str]:
    for line in lines:
        cols = [c for c in _cells(line) if _YEAR_HEADER_RE.fullmatch(c)]
        if len(cols) >= 2:
            return cols
    return []


def _evaluation_year(year_cols: list[str], ctx: YearContext) -> tuple[int | None, str]:
    """The form's last column is the year being planned (見込): the year the sheet was written in.

    The sheet prints no 年度 of its own, so this is the only place it says when it was written;
    that column's label ('32年度(見込)') is what it prints for the year.
    """
    if not year_cols:
        return None, ""
    year = parse_year(year_cols[-1], ctx)
    return year, (year_cols[-1] if year else "")


def _municipality(text: str) -> str:
    """The city only where the sheet names itself (e.g. 〇〇市役所); many exports do not."""
    for line in text.split("\n")[:5]:
        m = _MUNICIPALITY_RE.search(line)
        if m and "協議会" not in m.group(1):
            return m.group(1)
    return ""


def _body(b: SheetBuilder, lines: list[str], ctx: YearContext) -> None:
    table: Table | None = None
    table_label = ""
    years: list[str] = []
    part3 = False
    for n, line in enumerate(lines, start=1):
        cells = _cells(line)
        first = next((c for c in cells if c), "")
        if not first:
            continue
        if first.startswith("(3)"):
            part3, table = True, None
            continue
        if part3:
            _part3_line(b, cells, n)
            continue
        if first.startswith("(2)") and "総事業費" in first:
            table, table_label, years = Table.COST, first, [c for c in cells if _YEAR_HEADER_RE.fullmatch(c)]
            continue
        marked = _marked_table(cells)
        if marked:
            table, table_label = marked
            _left_narrative(b, cells[0], n)
            continue
        if "名称" in cells and "単位" in cells:
            years = [c for c in cells if _YEAR_HEADER_RE.fullmatch(c)]
            continue
        if table is not None and years:
            _table_row(b, cells, table, table_label, years, ctx, n)


def _marked_table(cells: list[str]) -> tuple[Table, str] | None:
    for c in cells[1:]:
        if c[:1] in _TABLE_BY_MARK:
            return _TABLE_BY_MARK[c[:1]], c
    return None


def _left_narrative(b: SheetBuilder, cell: str, n: int) -> None:
    mark = cell[:1]
    section = _LEFT_SECTIONS.get(mark)
    if section is None:
        return
    label, body = _split_label(cell)
    if section is Section.MEANS:
        parts = re.split(r"(\d+年度(?:実績|計画))", body)
        if len(parts) >= 3:
            for head, text in zip(parts[1::2], parts[2::2], strict=False):
                kind = Section.MEANS_DONE if "実績" in head else Section.MEANS_PLAN
                b.narrative(kind, f"{label} {head}", text, locator=f"行{n}")
            return
    b.narrative(section, label, body, locator=f"行{n}")


def _split_label(cell: str) -> tuple[str, str]:
    """'④ 結果（どんな結果（上位施策）に…）本文' -> (label up to the balanced close, body)."""
    depth = 0
    for i, ch in enumerate(cell):
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth -= 1
            if depth == 0:
                body = re.sub(r"^\s*\*\S+", "", cell[i + 1:])  # '*人や自然資源等' is a form hint
                return cell[: i + 1], body.strip()
    return cell, ""


def _table_row(b: SheetBuilder, cells: list[str], table: Table, table_label: str, years: list[str],
               ctx: YearContext, n: int) -> None:
    unit_at = _unit_index(cells)
    if unit_at is None:
        return
    labels = [c for c in cells[:unit_at] if c]
    if table is Table.COST or table_label.startswith("(2)"):
        row_label = labels[-1] if labels else ""
        if row_label == "財源内訳":
            row_label = "事業費（財源内訳）"
        row_table = _COST_ROWS.get(row_label.replace("（", "(").replace("）", ")"), Table.COST)
    else:
        if len(labels) < 2:
            return  # an empty indicator slot (ア–オ with no name)
        row_label, row_table = f"{labels[0]} {labels[1]}", table
    unit = normalize_unit(cells[unit_at])
    for col, raw in zip(years, cells[unit_at + 1:unit_at + 1 + len(years)], strict=False):
        b.cell(table=row_table, table_label=table_label, row_label=row_label, unit=unit,
               fiscal_year=parse_year(col, ctx), printed_year_label=col,
               kind=parse_kind(col, Kind.UNKNOWN), value=parse_number(raw), value_text=raw,
               locator=f"行{n}")


def _unit_index(cells: list[str]) -> int | None:
    """The unit column: the last non-numeric cell that is followed by the year columns."""
    for i in range(len(cells) - 1, -1, -1):
        c = cells[i]
        if c and parse_number(c) is None:
            return i if len(cells) - i - 1 >= 1 else None
    return None


def _part3_line(b: SheetBuilder, cells: list[str], n: int) -> None:
    filled = [c for c in cells if c]
    if len(filled) < 2:
        return
    question, answer = filled[0], " ".join(filled[1:])
    section = _PART3_SECTIONS.get(question[:1])
    if section is not None:
        b.narrative(section, question, answer, locator=f"行{n}")
