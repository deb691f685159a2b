"""Answers in Japanese, rendered from the chosen evidence only: every figure a cited cell, every quote
a cited passage, every refusal saying what the sheet does have."""

from __future__ import annotations

import re

from ingest.kinds import STANDS_IN
from ingest.normalize import format_number
from ingest.records import Kind, NarrativeRecord, ParsedSheet, Section, Sheet, TableCell
from ingest.units import Unit
from ingest.years import show_year
from vectorstore.store import Filters, SheetRow

from .answer import Answer, Chart, Citation, Status, cite_cell, cite_narrative, cite_sheet
from .evidence import Scored, says_nothing
from .query import Op, Query, asks_share

_COMPATIBLE = STANDS_IN  # kinds that answer for the asked one when it is not printed (ingest/kinds.py)
SECTION_TEXT_WHOLE = 300  # a section this short is quoted whole


def who(s: Sheet) -> str:
    return f"「{s.project_name}」（{s.municipality}）" if s.municipality else f"「{s.project_name}」"


def value_phrase(cell: TableCell) -> str:
    """The value as printed with its unit; a value printed with its unit (「666.0人」) keeps it once."""
    if not cell.value_text:
        return "空欄"
    return cell.value_text if cell.unit and cell.value_text.endswith(cell.unit) else f"{cell.value_text}{cell.unit}"


def year_phrase(c: TableCell) -> str:
    """「令和2年度（32年度見込）」: the year as staff write it, then as printed (ingest.years.show_year);
    the kind is added only where neither says it."""
    shown = show_year(c)
    kind = c.kind.value
    return shown if kind in shown or kind == "不明" else f"{shown}（{kind}）"


def row_quote(label: str, cells: tuple[TableCell, ...]) -> str:
    """The whole row with all its years: the UI highlights the cited one."""
    return f"{label}: " + " / ".join(f"{show_year(c)} {value_phrase(c)}" for c in cells)


def cells_for(cells: tuple[TableCell, ...], year: int, kind: Kind | None) -> list[TableCell]:
    here = [c for c in cells if c.fiscal_year == year]
    if kind is None:
        plain = [c for c in here if c.kind is not Kind.ACHIEVEMENT]
        return plain or here
    exact = [c for c in here if c.kind is kind]
    if exact:
        return exact
    return [c for c in here if c.kind in _COMPATIBLE.get(kind, ())]


# --- figures ----------------------------------------------------------------------------
def figure(q: Query, ps: ParsedSheet, unit: Unit, years: list[int]) -> tuple[Answer, int | None]:
    """The asked cells of a row, with the arithmetic a derived question asks for; (answer, the year
    now under discussion)."""
    s = ps.sheet
    cells = unit.cells
    head = f"{who(s)}の{unit.label}"
    quote = row_quote(unit.label, cells)
    if not years or q.op is Op.TREND:
        return _series(head, s, cells, quote, years)
    kinds = _kinds_per_year(q, years)
    groups = [(y, k, cells_for(cells, y, k)) for y, k in kinds]
    for y, k, got in groups:
        if not got:
            return _missing(head, s, cells, y, k, quote), y
    picked = [got for _, _, got in groups]
    if len(picked) >= 2 and q.op in (Op.DIFF, Op.CHANGE, Op.RATE, Op.SUM, Op.COMPARE):
        picked = _same_kind(picked, [k for _, k, _ in groups])
    blank = [g[0] for g in picked if all(c.value is None for c in g)]
    if blank:
        c = blank[0]
        return Answer(status=Status.NOT_FOUND, intent="figure", citations=(cite_cell(1, s, c, quote),),
                      answer=f"{head}の{year_phrase(c)}の値は空欄で、シートに記載がありません[1]。"), c.fiscal_year
    if len(picked) >= 2 and q.op in (Op.DIFF, Op.CHANGE, Op.RATE, Op.SUM, Op.COMPARE):
        return _derived(q, head, s, picked, quote), picked[-1][0].fiscal_year
    cites: list[Citation] = []
    parts = []
    shown: list[TableCell] = []
    for got in picked:
        for c in got:
            cites.append(cite_cell(len(cites) + 1, s, c, quote))
            parts.append(f"{year_phrase(c)}は {value_phrase(c)}[{len(cites)}]")
            shown.append(c)
    text = f"{head}は、{'、'.join(parts)}です。"
    if asks_share(q.norm) and not is_share(unit.label, shown):
        used = _execution(shown[0], shown[1]) if len(shown) == 2 else ""
        if not used:
            # 「何％」 asked, an amount found: the figure is not the answer, and the sheet prints no share.
            return (Answer(status=Status.NOT_FOUND, intent="figure", citations=tuple(cites),
                           answer=text + "お尋ねの割合はシートに記載がなく、この値だけでは出せません。"),
                    picked[-1][0].fiscal_year)
        text += used
    return (Answer(status=Status.ANSWERED, intent="figure", citations=tuple(cites), answer=text),
            picked[-1][0].fiscal_year)


def is_share(label: str, cells: list[TableCell]) -> bool:
    """A row that is itself a share: printed in ％ or 割, or named a rate (執行率, 加入率, 割合)."""
    return any(c.unit in ("%", "％", "割") for c in cells) or bool(re.search(r"率|割合|比率|%|％", label))


# Arithmetic across years without a kind asked is done on one kind found in every year: what
# happened first (実績, 決算), then what was expected, then what was planned.
_RESULT_FIRST = (Kind.ACTUAL, Kind.SETTLED, Kind.SETTLED_ESTIMATE, Kind.ESTIMATE, Kind.BUDGET, Kind.PLAN, Kind.TARGET)


def _same_kind(picked: list[list[TableCell]], asked: list[Kind | None]) -> list[list[TableCell]]:
    if any(k is not None for k in asked) or all(len(g) == 1 for g in picked):
        return picked
    for kind in _RESULT_FIRST:
        same = [[c for c in g if c.kind is kind] for g in picked]
        if all(same):
            return same
    return picked


def _kinds_per_year(q: Query, years: list[int]) -> list[tuple[int, Kind | None]]:
    """A kind written right after a year applies to it alone; one year and two kinds (予算と決算の差)
    asks for both."""
    if len(years) == 1 and len(set(q.kinds)) >= 2 and q.op in (Op.DIFF, Op.RATE, Op.SUM, Op.CHANGE, Op.COMPARE):
        return [(years[0], k) for k in list(dict.fromkeys(q.kinds))[:2]]
    refs = [r for r in q.years]
    # A kind written right after a year is that year's alone; one written apart applies to the others.
    attached = [r.kind for r in refs if r.kind is not None]
    loose = list(q.kinds)
    for k in attached:
        if k in loose:
            loose.remove(k)
    general = loose[0] if len(set(loose)) == 1 else None
    out = []
    for i, y in enumerate(years):
        # The year's own kind: from the reference that names this year (the years may have been put
        # in order), else from the reference at its place.
        by_year = [r for r in refs if r.kind and r.relative is None and y in r.candidates()]
        named = any(r.relative is None and y in r.candidates() for r in refs)
        if by_year:
            own = by_year[0].kind
        elif named:
            own = None  # the year is said with no kind of its own (「予算で見て、R8はR7決算見込と比べ」)
        elif len(years) > len(refs) and q.year_range:
            # A year inside a range the question spans (R4決算からR6決算): the kind both ends share. A
            # year added by the conversation (「令和3年度の決算と比較したら」 after R6's budget) keeps its own.
            ends = [r.kind for r in refs if r.relative is None]
            own = ends[0] if len(set(ends)) == 1 else None
        else:
            own = refs[i].kind if i < len(refs) and refs[i].kind else None
        out.append((y, own or general))
    return out


def _series(head: str, s: Sheet, cells: tuple[TableCell, ...], quote: str, years: list[int]
            ) -> tuple[Answer, int | None]:
    shown = [c for c in cells if not years or c.fiscal_year in years] or list(cells)
    filled = [c for c in shown if c.value is not None]
    if not filled:
        return (Answer(status=Status.NOT_FOUND, intent="figure", citations=(cite_cell(1, s, shown[0], quote),),
                       answer=f"{head}はすべての年度で空欄です[1]。"), None)
    cites, parts = _listed(s, filled, quote)
    return (Answer(status=Status.ANSWERED, intent="trend", citations=cites, answer=f"{head}の推移は、{parts} です。",
                   chart=_line_chart(head, list(enumerate(filled, start=1)))), filled[-1].fiscal_year)


def _listed(s: Sheet, cells: list[TableCell], quote: str) -> tuple[tuple[Citation, ...], str]:
    """Cells of one row, each cited in order: the citations and 「令和2年度（実績） 1,235千円[1]、…」."""
    cites = tuple(cite_cell(i, s, c, quote) for i, c in enumerate(cells, start=1))
    return cites, "、".join(f"{year_phrase(c)} {value_phrase(c)}[{i}]" for i, c in enumerate(cells, start=1))


def _line_chart(head: str, numbered: list[tuple[int, TableCell]]) -> Chart | None:
    """A line chart of the filled cells, each with its citation number; none when their units differ."""
    filled = [(n, c) for n, c in numbered if c.value is not None]
    if not filled or len({c.unit for _, c in filled}) != 1:
        return None
    return Chart(kind="line", title=head.replace("「", "").replace("」", ""), unit=filled[0][1].unit,
                 labels=tuple(year_phrase(c) for _, c in filled), values=tuple(float(c.value or 0) for _, c in filled),
                 cited=tuple(n for n, _ in filled))


def _missing(head: str, s: Sheet, cells: tuple[TableCell, ...], year: int, kind: Kind | None, quote: str) -> Answer:
    have = "、".join(dict.fromkeys(year_phrase(c) for c in cells))
    what = f"{year}年度の{kind.value}" if kind is not None and any(c.fiscal_year == year for c in cells) else "お尋ねの年度"
    return Answer(status=Status.NOT_FOUND, intent="figure", citations=(cite_cell(1, s, cells[-1], quote),),
                  answer=f"{head}について、{what}の値はシートに記載がありません。記載があるのは {have} です[1]。")


def _derived(q: Query, head: str, s: Sheet, picked: list[list[TableCell]], quote: str) -> Answer:
    if q.op is Op.SUM and len(picked) > 2:
        return _sum_of([(c, quote) for c in (g[0] for g in picked)], s, head)
    if len(picked) > 2:
        return _change_over(head, s, [g[0] for g in picked], quote)
    a, b = picked[0][0], picked[1][0]
    cites = (cite_cell(1, s, a, quote), cite_cell(2, s, b, quote))
    text = f"{head}は、{year_phrase(a)} {value_phrase(a)}[1]、{year_phrase(b)} {value_phrase(b)}[2]です。"
    if a.value is None or b.value is None:
        return Answer(status=Status.ANSWERED, intent="derived", citations=cites, answer=text)
    unit = a.unit if a.unit == b.unit else ""
    if q.op is Op.SUM:
        text += f"合計は {format_number(a.value)} + {format_number(b.value)} = {format_number(a.value + b.value)}{unit} です。"
    else:
        text += _change_text(a.value, b.value, unit)
        used = _execution(a, b)
        if used:
            text += used
    return Answer(status=Status.ANSWERED, intent="derived", citations=cites, answer=text)


def _change_text(a: float, b: float, unit: str) -> str:
    """The change from a to b and its rate, with the arithmetic shown."""
    diff = b - a
    sign = "増加" if diff > 0 else ("減少" if diff < 0 else "増減なし")
    text = (f"差は {format_number(b)} − {format_number(a)} = {format_number(diff)}{unit}"
            f"（{format_number(abs(diff))}{unit}の{sign}）です。")
    if a != 0:
        text += f" 増減率は {format_number(diff)} ÷ {format_number(a)} = {diff / a * 100:.1f}% です。"
    return text


def _change_over(head: str, s: Sheet, cells: list[TableCell], quote: str) -> Answer:
    """Every year of a range, each cited, then the change from its first year to its last: how a
    figure moved in between and overall."""
    cites, parts = _listed(s, cells, quote)
    text = f"{head}は、{parts}です。"
    a, b = cells[0], cells[-1]
    if a.value is not None and b.value is not None:
        text += f"{year_phrase(a)}から{year_phrase(b)}への" + _change_text(a.value, b.value, a.unit if a.unit == b.unit else "")
    return Answer(status=Status.ANSWERED, intent="derived", citations=cites, answer=text,
                  chart=_line_chart(head, list(enumerate(cells, start=1))))


def _execution(a: TableCell, b: TableCell) -> str:
    """One year's budget against what was spent of it (決算 or 実績): the share used, 執行率, which an
    auditor asks as 「予算に対して何％使われたか」."""
    if a.fiscal_year != b.fiscal_year:
        return ""
    budget = next((c for c in (a, b) if c.kind is Kind.BUDGET), None)
    spent = next((c for c in (a, b) if c.kind in (Kind.SETTLED, Kind.ACTUAL)), None)
    if budget is None or spent is None or not budget.value or spent.value is None:
        return ""
    return (f" 予算に対する執行率は {format_number(spent.value)} ÷ {format_number(budget.value)}"
            f" = {spent.value / budget.value * 100:.1f}% です。")


def _sum_of(cells: list[tuple[TableCell, str]], s: Sheet, head: str, label_of=None) -> Answer:
    """The sum of several cited cells (the years of a range, or two rows of one year). A blank is
    named, never counted as 0."""
    cites = tuple(cite_cell(i, s, c, quote) for i, (c, quote) in enumerate(cells, start=1))
    parts = "、".join(f"{label_of(c) + ' ' if label_of else ''}{year_phrase(c)} {value_phrase(c)}[{i}]"
                      for i, (c, _) in enumerate(cells, start=1))
    text = f"{head}は、{parts}です。"
    blank = [c for c, _ in cells if c.value is None]
    units = {c.unit for c, _ in cells}
    if blank:
        return Answer(status=Status.ANSWERED, intent="derived", citations=cites,
                      answer=text + f"{year_phrase(blank[0])}が空欄のため、合計は出せません。")
    if len(units) > 1:
        return Answer(status=Status.ANSWERED, intent="derived", citations=cites,
                      answer=text + "単位が異なるため、合計は出せません。")
    total = sum(c.value for c, _ in cells if c.value is not None)
    text += f"合計は {' + '.join(format_number(c.value) for c, _ in cells if c.value is not None)} = {format_number(total)}{units.pop()} です。"
    return Answer(status=Status.ANSWERED, intent="derived", citations=cites, answer=text)


def two_rows(ps: ParsedSheet, a: Unit, ca: TableCell, b: Unit, cb: TableCell, share: bool) -> Answer:
    """Two rows of one year: their sum, or the share of the second in the first."""
    s = ps.sheet
    qa, qb = row_quote(a.label, a.cells), row_quote(b.label, b.cells)
    if not share:
        return _sum_of([(ca, qa), (cb, qb)], s, who(s), label_of=lambda c: a.label if c is ca else b.label)
    cites = (cite_cell(1, s, ca, qa), cite_cell(2, s, cb, qb))
    text = (f"{who(s)}の{a.label}は{year_phrase(ca)} {value_phrase(ca)}[1]、"
            f"{b.label}は{year_phrase(cb)} {value_phrase(cb)}[2]です。")
    if ca.value is None or cb.value is None or ca.value == 0 or ca.unit != cb.unit:
        why = "空欄の値がある" if ca.value is None or cb.value is None else "単位が異なるか分母が0の"
        return Answer(status=Status.ANSWERED, intent="derived", citations=cites, answer=text + f"{why}ため、割合は出せません。")
    pct = cb.value / ca.value * 100
    text += f"割合は {format_number(cb.value)} ÷ {format_number(ca.value)} = {pct:.1f}%（約{round(pct)}%）です。"
    return Answer(status=Status.ANSWERED, intent="derived", citations=cites, answer=text)


_YEN_IN = {"円": 1, "千円": 1000, "万円": 10_000, "百万円": 1_000_000, "億円": 100_000_000}


def per_unit(ps: ParsedSheet, amounts: list[tuple[Unit, TableCell]], b: Unit, cb: TableCell) -> Answer:
    """Amounts of one year over a count (the cost per 件): every cell cited, each division shown, an
    amount in 千円 also given in 円. Several amounts: the cost with staff (トータルコスト) and without."""
    s = ps.sheet
    cites = [cite_cell(i, s, c, row_quote(u.label, u.cells)) for i, (u, c) in enumerate(amounts, start=1)]
    n = len(amounts) + 1
    cites.append(cite_cell(n, s, cb, row_quote(b.label, b.cells)))
    said = "、".join(f"{u.label}は{year_phrase(c)} {value_phrase(c)}[{i}]" for i, (u, c) in enumerate(amounts, start=1))
    text = f"{who(s)}の{said}、{b.label}は{year_phrase(cb)} {value_phrase(cb)}[{n}]です。"
    if cb.value is None or cb.value == 0:
        why = "空欄" if cb.value is None else "0"
        return Answer(status=Status.ANSWERED, intent="derived", citations=tuple(cites),
                      answer=text + f"割る数が{why}のため、割り算はできません。")
    shown = []
    for u, c in amounts:
        if c.value is None:
            shown.append(f"{u.label}は空欄のため出せません")
            continue
        x = c.value / cb.value
        per = f"{c.unit}/{cb.unit}" if cb.unit else c.unit
        part = f"{u.label}で {format_number(c.value)} ÷ {format_number(cb.value)} = {format_number(round(x, 1))}{per}"
        if round(x, 1) != round(x) and round(x) != 0:  # 「約0千円/人」 says nothing: the yen figure follows
            part += f"（約{format_number(round(x))}{per}）"
        if c.unit in _YEN_IN and c.unit != "円":
            part += f"、円にすると約{format_number(round(x * _YEN_IN[c.unit]))}円"
        shown.append(part)
    text += f"1{cb.unit}あたりは、" + "。".join(shown) + "です。"
    return Answer(status=Status.ANSWERED, intent="derived", citations=tuple(cites), answer=text)


def no_row(ps: ParsedSheet, filters: Filters) -> Answer:
    """The asked quantity is on no row of the sheet: say so, and list its tables and rows."""
    rows = ps.rows()
    by_table: dict[str, list[str]] = {}
    for (table, label), _ in rows.items():
        by_table.setdefault(table, []).append(label)
    listing = "／".join(f"{t}: {'、'.join(dict.fromkeys(labels))}" for t, labels in by_table.items())[:400]
    cite = cite_sheet(1, ps.sheet).model_copy(update={"quote": listing, "section": "表の項目"})
    return Answer(status=Status.NOT_FOUND, intent="figure", citations=(cite,),
                  answer=f"{who(ps.sheet)}のシートには、お尋ねの項目の数値が見当たりません[1]。"
                         f"シートにある表と項目: {listing}{_filter_note(filters)}")


# --- passages ---------------------------------------------------------------------------
def quote_of(ps: ParsedSheet, p: Scored) -> tuple[str, str]:
    """(quote, record id): a short section whole; else the passage, with its neighbour when short."""
    u = p.unit
    rec = next(n for n in ps.narratives if n.record_id == u.record_id)
    if len(rec.text) <= SECTION_TEXT_WHOLE:
        return rec.text, rec.record_id
    if u.start == 0:
        # The section's first passage: its opening, up to a readable length, at a sentence end.
        end = u.end
        while end < len(rec.text) and end < SECTION_TEXT_WHOLE:
            nxt = rec.text.find("。", end)
            if nxt < 0 or nxt + 1 > SECTION_TEXT_WHOLE + 60:
                break
            end = nxt + 1
        return rec.text[:end].strip(), rec.record_id
    text = u.text
    if len(text) < 40:
        after = rec.text[u.end:u.end + 120]
        nxt = after.split("。")[0] + ("。" if "。" in after else "")
        text = (text + " " + nxt.strip()).strip()
    return text, rec.record_id


def _quotes(ps: ParsedSheet, chosen: list[Scored]) -> list[tuple[str, NarrativeRecord]]:
    """The quotes of the chosen passages, best first, each said once: a quote that another holds (two
    passages of a short section quoted whole, a sentence of a section some sheets print twice) is
    not repeated, and a longer quote takes the place of the shorter ones it holds."""
    out: list[tuple[str, NarrativeRecord]] = []
    for p in chosen:
        quote, rid = quote_of(ps, p)
        if any(quote in q for q, _ in out):
            continue
        rec = next(n for n in ps.narratives if n.record_id == rid)
        held = [i for i, (q, _) in enumerate(out) if q in quote]
        if held:
            out[held[0]] = (quote, rec)
            out = [x for i, x in enumerate(out) if i not in held[1:]]
        else:
            out.append((quote, rec))
    return out


def passages(ps: ParsedSheet, chosen: list[Scored]) -> Answer:
    s = ps.sheet
    cites = []
    lines = []
    for quote, rec in _quotes(ps, chosen):
        cites.append(cite_narrative(len(cites) + 1, s, rec, quote))
        lines.append(f"・{rec.section.value}（{_short(rec.label)}）: 「{quote}」[{len(cites)}]")
    return Answer(status=Status.ANSWERED, intent="narrative", citations=tuple(cites),
                  answer=f"{who(s)}のシートには、次のように記載されています。\n" + "\n".join(lines))


def combine(answers: list[Answer], same_figure: bool = False) -> Answer:
    """Several sheets answer to the name asked (namesakes), or print the same figures: each sheet's
    answer, citations renumbered."""
    import re

    cites: list[Citation] = []
    parts = []
    for a in answers:
        shift = len(cites)
        cites += [c.model_copy(update={"n": c.n + shift}) for c in a.citations]
        parts.append("・" + re.sub(r"\[(\d+)\]", lambda m, k=shift: f"[{int(m.group(1)) + k}]", a.answer))
    status = Status.ANSWERED if any(a.status is Status.ANSWERED for a in answers) else Status.NOT_FOUND
    return Answer(status=status, intent=answers[0].intent, citations=tuple(cites),
                  answer=(f"同じ数値が{len(answers)}件のシートに記載されています。\n" if same_figure else
                          f"お尋ねの名前に当たるシートが{len(answers)}件あります。\n") + "\n".join(parts))


def passages_several(groups: list[tuple[ParsedSheet, list[Scored]]]) -> Answer:
    """Two sheets answer (almost) equally well: show both, each named, rather than guess."""
    cites: list[Citation] = []
    parts = []
    for ps, chosen in groups:
        lines = []
        for quote, rec in _quotes(ps, chosen):
            cites.append(cite_narrative(len(cites) + 1, ps.sheet, rec, quote))
            lines.append(f"・{rec.section.value}: 「{quote}」[{len(cites)}]")
        parts.append(f"{who(ps.sheet)}:\n" + "\n".join(lines))
    return Answer(status=Status.ANSWERED, intent="narrative", citations=tuple(cites),
                  answer="該当する記載が複数のシートにあります。\n" + "\n".join(parts))


def no_text(ps: ParsedSheet, filters: Filters) -> Answer:
    s = ps.sheet
    have = "、".join(dict.fromkeys(n.section.value for n in ps.narratives))
    tables = "、".join(dict.fromkeys(str(t) for t, _ in ps.rows()))
    return Answer(status=Status.NOT_FOUND, intent="out_of_scope",
                  answer=f"お尋ねの内容は、取り込まれたシートに記載が見当たりません。最も近いシート{who(s)}にある欄: {have}"
                         + (f"。表: {tables}" if tables else "") + _filter_note(filters))


# --- sheets -----------------------------------------------------------------------------
def department(s: Sheet) -> Answer:
    if not s.department:
        return Answer(status=Status.NOT_FOUND, answer=f"{who(s)}のシートには担当部署の記載がありません。",
                      citations=(cite_sheet(1, s),), intent="department")
    return Answer(status=Status.ANSWERED, intent="department", citations=(cite_sheet(1, s),),
                  answer=f"{who(s)}の担当は {s.department} です[1]。")


def topic(found: list[tuple[ParsedSheet, Scored | None]], by_meaning: bool = False) -> Answer:
    cites: list[Citation] = []
    lines = []
    for ps, p in found:
        s = ps.sheet
        if p is not None:
            quote, rid = quote_of(ps, p)
            rec = next(n for n in ps.narratives if n.record_id == rid)
            cites.append(cite_narrative(len(cites) + 1, s, rec, quote))
            line = quote if len(quote) <= 80 or len(found) == 1 else quote[:80] + "…"
        else:
            cites.append(cite_sheet(len(cites) + 1, s))
            line = ""
        dept = "・".join(x for x in (s.municipality, s.department) if x)
        lines.append(f"・{s.project_name}（{dept}）[{len(cites)}]" + (f": {line}" if line else ""))
        if len(found) == 1:
            # One project found: what it does, in the sheet's own words, for 「どんなことをしているの」.
            for rec in described(ps, exclude=cites[-1].quote):
                quote = _opening(rec.text)
                cites.append(cite_narrative(len(cites) + 1, s, rec, quote))
                lines.append(f"　{rec.section.value}（{_short(rec.label)}）: 「{quote}」[{len(cites)}]")
    head = "該当する事務事業は次のとおりです。" if len(found) > 1 else "該当する事務事業があります。"
    if by_meaning:
        head = "お尋ねの内容に最も近い事務事業は次のシートです（言葉は一致していないため、内容をご確認ください）。"
    return Answer(status=Status.ANSWERED, intent="topic", citations=tuple(cites), answer=head + "\n" + "\n".join(lines))


OVERVIEW_SHORT = 60  # an overview this short (「姉妹都市への派遣・受入を実施する。」) is told with its means


def described(ps: ParsedSheet, exclude: str = "") -> list[NarrativeRecord]:
    """The sections that say what a project does: its overview, and its means when the overview is a
    line (Ikeda's 事業内容 says what, its 事業の手段・方法 says how)."""
    filled = [n for n in ps.narratives if n.text.strip() and not says_nothing(n.text)]
    said = [n for n in filled if n.section is Section.OVERVIEW]
    if sum(len(n.text) for n in said) < OVERVIEW_SHORT:
        said += [n for n in filled if n.section is Section.MEANS]
    return [n for n in said if not (exclude and exclude in n.text)][:2]


def _opening(text: str) -> str:
    """A section whole when short; else its opening, cut at a sentence end."""
    if len(text) <= SECTION_TEXT_WHOLE:
        return text
    end = text.rfind("。", 0, SECTION_TEXT_WHOLE + 1)
    return text[:end + 1] if end > SECTION_TEXT_WHOLE // 2 else text[:SECTION_TEXT_WHOLE] + "…"


def no_topic() -> Answer:
    return Answer(status=Status.NOT_FOUND, intent="topic",
                  answer="お尋ねの内容に当たる事務事業のシートは、取り込まれたシートの中に見当たりません。")


def absent(name: str, closest: SheetRow | None) -> Answer:
    where = f"（{closest.municipality}）" if closest and closest.municipality else ""
    hint = f"名前の近いシートに「{closest.project_name}」{where}があります。" if closest else ""
    return Answer(status=Status.NOT_FOUND, intent="absent",
                  answer=f"「{name}」のシートは取り込まれていません。{hint}"
                         "別の事業についてのお尋ねでしたら、事業名を添えてもう一度お尋ねください。")


def other_city(city: str, municipalities: list[str]) -> Answer:
    have = "、".join(m for m in municipalities if m)
    return Answer(status=Status.NOT_FOUND, intent="absent",
                  answer=f"{city}のシートは取り込まれていません。" + (f"取り込まれているのは {have} のシートです。" if have else ""))


def absent_again(name: str) -> Answer:
    what = f"「{name}」" if name else "お尋ねの事業"
    return Answer(status=Status.NOT_FOUND, intent="absent", answer=f"{what}のシートは取り込まれていないため、お答えできません。")


def nothing(filters: Filters) -> Answer:
    return Answer(status=Status.NOT_FOUND, answer="該当する事務事業のシートが見つかりません。" + _filter_note(filters))


def _filter_note(filters: Filters) -> str:
    set_ = [x for x in (filters.municipality, filters.department,
                        f"{filters.fiscal_year}年度" if filters.fiscal_year else "", filters.section, filters.table) if x]
    return f"（絞り込み: {'・'.join(set_)}）" if set_ else ""


def _short(label: str) -> str:
    return label if len(label) <= 30 else label[:30] + "…"
