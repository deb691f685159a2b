"""question (+history) -> Answer: find the sheet, then the cell or the sentences, and cite them.

Extractive and deterministic: every figure in an answer is a cell of a sheet, every quote a
section's text. When the records don't hold the answer the status is not_found, and the answer
says what the sheet does have.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ingest.records import ParsedSheet, Section, TableCell
from vectorstore.store import Filters, Hit, Store
from vectorstore.tokens import tokenize

from .answer import Answer, Citation, Status, cite_cell, cite_narrative, cite_sheet
from .figures import RowMatch, cells_for, derive, match_rows, resolve_years, value_phrase
from .narrative import Passage, find_passages
from .understand import Question, answer_pattern, parse_question, with_history

AMBIGUOUS = 0.05      # two sheets whose answerability differs less than this are both shown
STRONG_NAME = 70.0     # the question names the project (see Store._name_scores)
ROW_MATCH = 0.5        # a table row the question names
STRONG_ROW = 0.75      # ... names without doubt
COVERAGE = 0.5         # share (idf-weighted) of the question's content words a passage must hold
CANDIDATES = 5
_SECTIONS = {s.value for s in Section}


def row_quote(row: RowMatch) -> str:
    """The whole row with all its years: the UI highlights the cited one."""
    cells = " / ".join(f"{c.fiscal_year_label} {value_phrase(c)}" for c in row.cells)
    return f"{row.row_label}: {cells}"


@dataclass(frozen=True)
class _Plan:
    sheet: ParsedSheet
    hit: Hit
    row: RowMatch | None
    passages: tuple[Passage, ...]
    score: float


class Assistant:
    """Answers from the store; the LLM mode (if any) wraps this and falls back to it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def ask(self, question: str, history: list[dict] | None = None, filters: Filters | None = None) -> Answer:
        question = (question or "").strip()
        if not question:
            return Answer(status=Status.NOT_FOUND, answer="質問を入力してください。")
        if not self.store.catalogue():
            return Answer(status=Status.NOT_FOUND, answer="シートがまだ取り込まれていません。"
                          "`hyoka ingest フォルダ` で評価シートを取り込んでください。")
        q = parse_question(question)
        filters = self._municipality_filter(q.text, filters or Filters())
        # An explicit follow-up (「では…」「その事業の…」) is merged with the history at once; any other
        # question with history is merged only if it does not name a project by itself.
        hits = [] if history and q.followup else self.store.search(q.subject, k=10, filters=filters)
        if history and (q.followup or not _strong(hits)):
            q = with_history(q, history)
            filters = self._municipality_filter(q.subject, filters)
            hits = self.store.search(q.subject, k=10, filters=filters)
        if not hits:
            return Answer(status=Status.NOT_FOUND, answer="該当する事務事業のシートが見つかりません。")
        if q.list_ and not _strong(hits):
            return self._list(q, hits)
        return self._single(q, hits, filters)

    def ask_stream(self, question: str, history: list[dict] | None = None,
                   filters: Filters | None = None) -> Iterator[str | Answer]:
        """Text deltas as they are ready, then the final Answer (the UI streams the deltas).

        The extractive answer is ready at once; it is streamed by sentence so both modes look alike."""
        answer = self.ask(question, history, filters)
        for piece in re.split(r"(?<=[。\n])", answer.answer):
            if piece:
                yield piece
        yield answer

    # --- routing ------------------------------------------------------------------------
    def _municipality_filter(self, text: str, filters: Filters) -> Filters:
        if filters.municipality:
            return filters
        for m in self.store.municipalities():
            stem = m[:-1] if len(m) > 2 and m[-1] in "市町村区" else m
            if stem and stem in text:
                return replace(filters, municipality=m)
        return filters

    def _candidates(self, hits: list[Hit]) -> list[Hit]:
        top = max(h.name for h in hits)
        if top >= STRONG_NAME:
            return [h for h in hits if h.name >= top - 5][:CANDIDATES]
        return hits[:CANDIDATES]

    def _single(self, q: Question, hits: list[Hit], filters: Filters) -> Answer:
        cands = self._candidates(hits)
        top = max(h.score for h in cands)
        tokens, wants = tokenize(q.text), answer_pattern(q.text)
        plans = [self._plan(q, h, top, filters, tokens, wants) for h in cands]
        plans = [p for p in plans if p is not None]
        if not plans:
            return Answer(status=Status.NOT_FOUND, answer="該当するシートを読み込めませんでした。")
        best = max(plans, key=lambda p: p.score)
        if q.department and not q.tables:
            return self._department(best.sheet)
        if best.row is not None and (q.figure_hint or best.row.score >= 1.0) and \
                not self._narrative_fits_better(q, best):
            return self._figure(q, best.sheet, best.row)
        if q.figure_hint and q.tables and best.row is None:
            return self._no_row(q, best.sheet)
        rivals = [p for p in plans if p is not best and best.score - p.score < AMBIGUOUS
                  and p.sheet.sheet.sheet_id != best.sheet.sheet.sheet_id and _answerable(p)]
        if rivals and _answerable(best):
            return self._narrative_several(best, rivals[0])
        return self._narrative(q, best)

    def _narrative_fits_better(self, q: Question, plan: _Plan) -> bool:
        """A quantity asked in words the table rows barely share, that a sentence states exactly
        (「3人目以降の子にいくら分の商品券が…」): quote the sentence rather than a loosely matched row."""
        if plan.row is None or plan.row.score >= STRONG_ROW or not plan.passages or q.tables:
            return False
        p = plan.passages[0]
        return not p.routed and p.coverage >= 0.8 and p.answers

    def _plan(self, q: Question, hit: Hit, top_score: float, filters: Filters, tokens: list[str],
              wants: re.Pattern[str] | None) -> _Plan | None:
        """How well this sheet can answer: the row (with the asked years) or the passages,
        plus how strongly retrieval (name, and the fused ranking) points at it."""
        ps = self.store.sheet(hit.sheet.sheet_id)
        if ps is None:
            return None
        rows = [r for r in match_rows(ps, q)
                if not filters.table or r.table.value == filters.table]
        # A chosen table with a single row: that row is what is asked, however the question words it.
        chosen = bool(filters.table) and len(rows) == 1
        row = rows[0] if rows and (rows[0].score >= ROW_MATCH or chosen) else None
        exclude = set(tokenize(f"{ps.sheet.project_name} {ps.sheet.municipality}"))
        sections = (Section(filters.section),) if filters.section in _SECTIONS else q.sections
        passages = tuple(p for p in find_passages(ps, tokens, sections, self.store.bm25.idf, exclude, wants)
                         if not filters.section or p.record.section.value == filters.section)
        if filters.section and not filters.table:
            row = None  # a section was chosen: the answer is text from it
        coverage = 0.0
        if passages:
            first = passages[0]
            coverage = first.coverage + (0.5 if first.routed and not _says_nothing(first.quote) else 0.0)
        fig = 0.0
        if row is not None and q.figure_hint:
            fig = row.score if self._has_years(q, ps, row) else row.score * 0.3
        retrieval = hit.name / 100 + 0.3 * hit.score / top_score
        return _Plan(ps, hit, row, passages, max(fig, coverage) + retrieval)

    def _has_years(self, q: Question, ps: ParsedSheet, row: RowMatch) -> bool:
        available = _available(row)
        return all(y in available for y in _asked_years(q, row, ps.sheet.fiscal_year))

    # --- answers ------------------------------------------------------------------------
    def _department(self, ps: ParsedSheet) -> Answer:
        s = ps.sheet
        if not s.department:
            return Answer(status=Status.NOT_FOUND, answer=f"「{s.project_name}」のシートには担当部署の記載がありません。",
                          citations=(cite_sheet(1, s),), intent="narrative")
        return Answer(status=Status.ANSWERED, intent="narrative", citations=(cite_sheet(1, s),),
                      answer=f"{_who(s)}の担当は {s.department} です[1]。")

    def _figure(self, q: Question, ps: ParsedSheet, row: RowMatch) -> Answer:
        s = ps.sheet
        years = _asked_years(q, row, s.fiscal_year)
        head = f"{_who(s)}の{row.row_label}"
        quote = row_quote(row)
        if not years:
            return self._trend(head, s, row, quote)
        groups = self._pick_cells(q, row, years)
        for y, cells in groups:
            if not cells:
                return self._missing_year(head, s, row, y, quote)
        picked = [cells for _, cells in groups]
        blank = [cells[0] for cells in picked if all(c.value is None for c in cells)]
        if blank:
            c = blank[0]
            return Answer(status=Status.NOT_FOUND, intent="figure", citations=(cite_cell(1, s, c, quote),),
                          answer=f"{head}の{c.fiscal_year_label}の値は空欄で、シートに記載がありません[1]。")
        if len(picked) >= 2 and q.derived:
            return self._derived(q, head, s, picked, quote)
        cites: list[Citation] = []
        parts = []
        for cells in picked:
            for c in cells:
                cites.append(cite_cell(len(cites) + 1, s, c, quote))
                parts.append(f"{year_phrase(c)}は {value_phrase(c)}[{len(cites)}]")
        return Answer(status=Status.ANSWERED, intent="figure", citations=tuple(cites),
                      answer=f"{head}は、{'、'.join(parts)}です。")

    def _pick_cells(self, q: Question, row: RowMatch, years: list[int]) -> list[tuple[int, list[TableCell]]]:
        """(year, cells) per year asked; a kind written right after a year applies to it alone.
        One year and two kinds (予算と決算の差) gives one group per kind."""
        if len(years) == 1 and len(q.kinds) >= 2 and q.derived:
            return [(years[0], cells_for(row, years[0], k)) for k in q.kinds[:2]]
        refs = list(q.years)
        kinds = [(refs[i].kind if i < len(refs) and refs[i].kind else q.kind) for i in range(len(years))]
        return [(y, cells_for(row, y, k)) for y, k in zip(years, kinds, strict=True)]

    def _trend(self, head: str, s, row: RowMatch, quote: str) -> Answer:
        filled = [c for c in row.cells if c.value is not None]
        if not filled:
            return Answer(status=Status.NOT_FOUND, intent="figure", citations=(cite_cell(1, s, row.cells[0], quote),),
                          answer=f"{head}はすべての年度で空欄です[1]。")
        parts = "、".join(f"{c.fiscal_year_label} {value_phrase(c)}" for c in row.cells)
        return Answer(status=Status.ANSWERED, intent="trend", citations=(cite_cell(1, s, filled[-1], quote),),
                      answer=f"{head}の推移は、{parts} です[1]。")

    def _missing_year(self, head: str, s, row: RowMatch, year: int, quote: str) -> Answer:
        have = "、".join(dict.fromkeys(c.fiscal_year_label for c in row.cells))
        return Answer(status=Status.NOT_FOUND, intent="figure", citations=(cite_cell(1, s, row.cells[-1], quote),),
                      answer=f"{head}について、お尋ねの年度の値はシートに記載がありません。"
                             f"記載があるのは {have} です[1]。")

    def _derived(self, q: Question, head: str, s, picked: list[list[TableCell]], quote: str) -> Answer:
        a, b = picked[0][0], picked[1][0]
        cites = (cite_cell(1, s, a, quote), cite_cell(2, s, b, quote))
        text = (f"{head}は、{year_phrase(a)} {value_phrase(a)}[1]、{year_phrase(b)} {value_phrase(b)}[2]"
                f"です。{derive(q, a, b)}")
        return Answer(status=Status.ANSWERED, intent="derived", citations=cites, answer=text)

    def _no_row(self, q: Question, ps: ParsedSheet) -> Answer:
        labels = "、".join(dict.fromkeys(label for _, label in ps.rows()))[:300]
        cite = cite_sheet(1, ps.sheet).model_copy(update={"quote": labels, "section": "表の項目"})
        return Answer(status=Status.NOT_FOUND, intent="figure", citations=(cite,),
                      answer=f"「{ps.sheet.project_name}」のシートには、お尋ねの項目の数値が見当たりません[1]。"
                             f"シートにある項目: {labels}")

    def _narrative(self, q: Question, plan: _Plan) -> Answer:
        s = plan.sheet.sheet
        good = _quotable(plan)
        if not good:
            have = "、".join(dict.fromkeys(n.section.value for n in plan.sheet.narratives))
            return Answer(status=Status.NOT_FOUND, intent="out_of_scope",
                          answer=f"お尋ねの内容は、取り込まれたシートに記載がありません。"
                                 f"最も近いシート「{s.project_name}」にある欄: {have}")
        chosen = _pick_passages(good)
        cites = tuple(cite_narrative(i, s, p.record, p.quote) for i, p in enumerate(chosen, start=1))
        body = "\n".join(f"・{p.record.section.value}: 「{p.quote}」[{i}]" for i, p in enumerate(chosen, start=1))
        return Answer(status=Status.ANSWERED, intent="narrative", citations=cites,
                      answer=f"{_who(s)}のシートには、次のように記載されています。\n{body}")

    def _narrative_several(self, *plans: _Plan) -> Answer:
        """Two sheets answer (almost) equally well: show both, each named, rather than guess."""
        cites: list[Citation] = []
        parts = []
        for plan in plans:
            s = plan.sheet.sheet
            lines = []
            for p in _pick_passages(_quotable(plan)):
                cites.append(cite_narrative(len(cites) + 1, s, p.record, p.quote))
                lines.append(f"・{p.record.section.value}: 「{p.quote}」[{len(cites)}]")
            parts.append(f"{_who(s)}:\n" + "\n".join(lines))
        return Answer(status=Status.ANSWERED, intent="narrative", citations=tuple(cites),
                      answer="該当する記載が複数のシートにあります。\n" + "\n".join(parts))

    def _list(self, q: Question, hits: list[Hit]) -> Answer:
        relevant = [h for h in hits if h.bm25 > 0 or h.name >= 50][:8] or hits[:5]
        cites = []
        lines = []
        for h in relevant:
            ps = self.store.sheet(h.sheet.sheet_id)
            if ps is None:
                continue
            cites.append(cite_sheet(len(cites) + 1, ps.sheet))
            lines.append(f"・{ps.sheet.project_name}（{ps.sheet.municipality} {ps.sheet.department}）[{len(cites)}]")
        return Answer(status=Status.ANSWERED, intent="list", citations=tuple(cites),
                      answer="関連する事務事業は次のとおりです。\n" + "\n".join(lines))


def _who(s) -> str:
    return f"「{s.project_name}」（{s.municipality}）" if s.municipality else f"「{s.project_name}」"


def year_phrase(c: TableCell) -> str:
    """'30年度(実績)' as printed; the kind is added only where the label does not already say it."""
    kind = c.kind.value
    return c.fiscal_year_label if kind in c.fiscal_year_label or kind == "不明" else f"{c.fiscal_year_label}（{kind}）"


_NOTHING = {"特になし", "なし", "該当なし", "特にない", "ない", "-", "―", "－", "無し", "特に無し"}


def _says_nothing(text: str) -> bool:
    """「特になし。」: the section is filled in, but says there is nothing to report."""
    return text.strip().rstrip("。.").strip() in _NOTHING


def _strong(hits: list[Hit]) -> bool:
    return bool(hits) and max(h.name for h in hits) >= STRONG_NAME


def _available(row: RowMatch) -> set[int]:
    return {c.fiscal_year for c in row.cells if c.fiscal_year is not None}


def _asked_years(q: Question, row: RowMatch, sheet_year: int | None) -> list[int]:
    """The Western years asked, read against the row's columns. Relative years (前年度) count from
    the year discussed earlier, else the year named in the question, else the sheet's own year."""
    absolute = [y for ref in q.years for y in ref.candidates()[:1] if ref.relative is None]
    base = q.context_years[-1] if q.context_years else (absolute[0] if absolute else sheet_year)
    return resolve_years(q.years, _available(row), base)


def _quotable(plan: _Plan) -> list[Passage]:
    """Passages good enough to quote: the asked section, or sentences that hold the question."""
    return [p for p in plan.passages if (p.routed or p.coverage >= COVERAGE) and p.answers]


def _answerable(plan: _Plan) -> bool:
    """A narrative plan with a passage good enough to quote (and no figure row in play)."""
    return plan.row is None and bool(_quotable(plan))


def _pick_passages(good: list[Passage]) -> list[Passage]:
    """The best passage, and a second one when it answers nearly as well (two sections often
    say complementary things: 事業内容 and 手段・方法)."""
    if good[0].routed:
        routed = [p for p in good if p.routed]
        return routed[:2]
    if len(good) >= 2 and good[1].coverage >= max(COVERAGE, 0.75 * good[0].coverage):
        return good[:2]
    return good[:1]


