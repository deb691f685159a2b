"""Finding the table row and the cell a figure question asks for, and the arithmetic of derived ones."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ingest.normalize import format_number
from ingest.records import Kind, ParsedSheet, Table, TableCell

from .understand import Question, YearRef, asked_unit

_LETTER = re.compile(r"^[ア-ンA-Za-z]\s+")
_MARKERS = re.compile(r"[（(][A-Za-z/＋+]+[）)]|[（）()「」・\s、。:：+＋]")
_QUOTED = re.compile(r"[「『]([^」』]+)[」』]")
# When a question names a table but not a row, these rows answer it.
_TOTALS = ("トータルコスト", "合計", "計", "歳出", "事業費")


def _core(text: str) -> str:
    """Label text compared without letters, markers or hiragana: 貸し出された ~ 貸出, の/を/は vanish."""
    t = _MARKERS.sub("", _LETTER.sub("", unicodedata.normalize("NFKC", text)))
    return "".join(ch for ch in t if not ("\u3041" <= ch <= "\u3096"))


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} if len(text) > 1 else {text}


@dataclass(frozen=True)
class RowMatch:
    score: float
    table: Table
    row_label: str
    cells: tuple[TableCell, ...]


_ASKING = re.compile(r"いくら|いくつ|何回|何件|何人|何円|ですか|でしたか|ますか|教えて|ください|どれだけ|どのくらい|"
                     r"違います|違う|でした|だった|どうだった|知りたい|の値|値は|[はをがにでとへのも?？、。]")


def _remainder(text: str, project_name: str) -> str:
    """What the question says besides the project's name, the years and the asking words."""
    from difflib import SequenceMatcher

    name = unicodedata.normalize("NFKC", project_name)
    m = SequenceMatcher(None, text, name, autojunk=False).find_longest_match(0, len(text), 0, len(name))
    if m.size >= 3:
        text = text[: m.a] + " " + text[m.a + m.size:]
    return _core(_ASKING.sub(" ", text))


def match_rows(ps: ParsedSheet, q: Question) -> list[RowMatch]:
    """Rows of the sheet ranked by how well the question names them: the share of the row label
    the question holds, or the share of the question's own words (besides name and years) the
    label holds, whichever is larger."""
    text = unicodedata.normalize("NFKC", q.text if not q.followup else q.subject)
    for ref in q.years:
        text = text.replace(unicodedata.normalize("NFKC", ref.text), " ")
    qcore = _core(text)
    qgrams = _bigrams(qcore)
    rest = _remainder(text, ps.sheet.project_name)
    rgrams = _bigrams(rest) if len(rest) >= 2 else set()
    quoted = [_core(x) for x in _QUOTED.findall(text)]
    unit = asked_unit(text)
    out = []
    for (table, label), cells in ps.rows().items():
        if all(c.value is None for c in cells):
            continue  # a row with no figure at all (an unnamed slot)
        core = _core(label)
        if not core:
            continue
        grams = _bigrams(core)
        score = len(grams & qgrams) / len(grams)
        if rgrams:
            score = max(score, 0.9 * len(rgrams & grams) / len(rgrams))
        if any(x and (x in core or core in x) for x in quoted):
            score += 1.0
        score += _table_bonus(q, Table(table), core)
        if unit and cells[0].unit.endswith(unit):
            score += 0.1  # 何点 asks for the row counted in 点
        out.append(RowMatch(score, Table(table), label, tuple(cells)))
    out.sort(key=lambda r: -r.score)
    if q.kinds and q.kinds[0] in _MONEY_KINDS and (not out or out[0].score < 0.5):
        main = _main_cost_row(out)
        if main is not None:  # 「予算はいくら」: the project's own total is what is asked
            out.insert(0, RowMatch(0.55, main.table, main.row_label, main.cells))
    return out


_MONEY_KINDS = (Kind.BUDGET, Kind.SETTLED, Kind.SETTLED_ESTIMATE)
_MAIN_COST = ("トータルコスト", "事業費計", "事業費", "合計", "歳出", "経費")


def _main_cost_row(rows: list[RowMatch]) -> RowMatch | None:
    for word in _MAIN_COST:
        for r in rows:
            if r.table in (Table.COST, Table.TOTAL_COST) and _core(r.row_label).startswith(word):
                return r
    return None


def _table_bonus(q: Question, table: Table, core: str) -> float:
    if table not in q.tables:
        return 0.0
    bonus = 0.4
    if table is Table.TOTAL_COST or any(core.startswith(t) or core.endswith(t) for t in _TOTALS):
        bonus += 0.15
    return bonus


def resolve_years(refs: tuple[YearRef, ...], available: set[int], base: int | None) -> list[int]:
    """Western years for the refs: bare years in the era the sheet's columns use, relative ones from base."""
    out: list[int] = []
    for ref in refs:
        if ref.relative is not None:
            if base is not None:
                out.append(base + ref.relative)
            continue
        cands = ref.candidates()
        hit = next((y for y in cands if y in available), None)
        out.append(hit if hit is not None else cands[0])
    return out


def cells_for(row: RowMatch, year: int, kind: Kind | None) -> list[TableCell]:
    cells = [c for c in row.cells if c.fiscal_year == year]
    if kind is not None:
        exact = [c for c in cells if c.kind == kind]
        if exact:
            return exact
        if kind in (Kind.SETTLED, Kind.ACTUAL):
            close = [c for c in cells if c.kind in (Kind.SETTLED, Kind.ACTUAL, Kind.SETTLED_ESTIMATE)]
            return close or []
        return []
    return cells


def value_phrase(cell: TableCell) -> str:
    return f"{cell.value_text}{cell.unit}" if cell.value_text else "空欄"


def derive(q: Question, a: TableCell, b: TableCell) -> str:
    """The arithmetic shown for a derived question over two cited cells [1] and [2]."""
    assert a.value is not None and b.value is not None
    unit = a.unit if a.unit == b.unit else ""
    if q.derived == "sum":
        return f"合計は {format_number(a.value)} + {format_number(b.value)} = {format_number(a.value + b.value)}{unit} です。"
    diff = b.value - a.value
    sign = "増加" if diff > 0 else ("減少" if diff < 0 else "増減なし")
    text = (f"差は {format_number(b.value)} − {format_number(a.value)} = {format_number(diff)}{unit}"
            f"（{format_number(abs(diff))}{unit}の{sign}）です。")
    if q.derived == "rate" and a.value != 0:
        text += f" 増減率は {format_number(diff)} ÷ {format_number(a.value)} = {diff / a.value * 100:.1f}% です。"
    return text
