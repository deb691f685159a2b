"""question (+history) -> Answer, by ranked evidence.

1. The history's user turns are replayed into a conversation State (assistant/state.py).
2. The question becomes a typed Query (assistant/query.py) and is read against the state.
3. Candidate sheets come from the store (names, BM25 over every unit, dense profiles); a project the
   question names must exist, or the answer is not_found (with the closest sheet suggested).
4. Every unit of every candidate is scored (assistant/evidence.py); the best evidence for what is
   asked wins: a row for a figure, passages for a text, sheets for a topic.
5. The answer is rendered from the chosen evidence only (assistant/render.py): every figure a cell,
   every quote a section's text. Below the calibrated thresholds the answer is not_found, and says
   what the sheet does have.

Deterministic: every ranking breaks ties by stable ids.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from ingest.records import Kind, Section, Table, TableCell
from ingest.units import UnitKind
from vectorstore.store import Filters, Hit, Store
from vectorstore.tokens import thing_nouns, tokenize

from . import render
from .answer import Answer, Status
from .crosssheet import CrossSheet
from .evidence import (
    MONEY_UNITS,
    MONEY_WORDS,
    Scored,
    Scorer,
    SheetScore,
    W,
    Weights,
    cost_rows,
    counted,
    inflected_half,
    label_coverage,
    main_cost_row,
    name_fit,
    names_something,
    same_unit,
    says_nothing,
    strip_name,
)
from .match import compact, content_tokens, expand, generic_cost, name_key, token_coverage
from .messages import History
from .query import (
    AnswerType,
    Op,
    Query,
    asks_share,
    contrast_subject,
    normalize,
    other_city,
    parse,
    section_priors,
)
from .state import State, Turn, read_turn

CANDIDATES = 8
MAX_QUESTION = 1000
STRONG_NAME = 90.0  # a store name score this high means the question spells out a sheet's name
ROW_NAMED = 0.8     # a row label this well covered names the quantity asked
NAMES_SHEET = 70.0  # ... this high: 7 characters of a name, or all of a short one (vectorstore.store)


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    state: State


class Assistant:
    """Answers from the store; the LLM mode (if any) wraps this and falls back to it."""

    def __init__(self, store: Store, weights: Weights = W) -> None:
        self.store = store
        self.w = weights
        self.scorer = Scorer(store, weights)
        self.cross = CrossSheet(store)
        self._trace: list[str] | None = None

    def explain(self, question: str, history: History | None = None, filters: Filters | None = None) -> str:
        """Why the answer is what it is: the typed query, the turn, and each candidate's best evidence
        with the parts of its score (`hyoka ask --explain`)."""
        self._trace = []
        try:
            answer = self.ask(question, history, filters)
            lines = self._trace
        finally:
            self._trace = None
        return "\n".join([*lines, f"=> {answer.status.value}: {answer.answer}"])

    def _note(self, text: str) -> None:
        if self._trace is not None:
            self._trace.append(text)

    def ask(self, question: str, history: History | None = None, filters: Filters | None = None) -> Answer:
        question = (question or "").strip()
        if not question:
            return Answer(status=Status.NOT_FOUND, answer="質問を入力してください。")
        if not self.store.catalogue():
            return Answer(status=Status.NOT_FOUND, answer="シートがまだ取り込まれていません。"
                          "`hyoka ingest フォルダ` で評価シートを取り込んでください。")
        filters = filters or Filters()
        state = self.replay(history or [], filters)
        return self.turn(question[:MAX_QUESTION], state, filters).answer

    def ask_stream(self, question: str, history: History | None = None,
                   filters: Filters | None = None) -> Iterator[str | Answer]:
        """Text deltas as they are ready, then the final Answer (the UI streams the deltas).

        The extractive answer is ready at once; it is streamed by sentence so both modes look alike."""
        answer = self.ask(question, history, filters)
        for piece in re.split(r"(?<=[。\n])", answer.answer):
            if piece:
                yield piece
        yield answer

    def replay(self, history: History, filters: Filters) -> State:
        """The conversation's state after the user's earlier turns, rebuilt from the history alone."""
        state = State()
        for item in history:
            if item.role == "user":
                text = item.content.strip()
                if text:
                    state = self.turn(text[:MAX_QUESTION], state, filters).state
        return state

    # --- one turn -----------------------------------------------------------------------
    def turn(self, text: str, state: State, filters: Filters) -> Outcome:
        q = parse(text, tuple(self.store.municipalities()))
        if not q.municipality and (city := other_city(q.norm, tuple(self.store.municipalities()))):
            self._note(f"other city: {city}")
            return Outcome(render.other_city(city, self.store.municipalities()), State())
        if not q.municipality and filters.municipality:
            q = q.with_(municipality=filters.municipality)
        if q.municipality and not filters.municipality:
            filters = replace(filters, municipality=q.municipality)
        cq = self.cross.read(q, text)
        if cq is not None:  # about many sheets: lists, counts, rankings, totals, comparisons
            self._note(f"cross: {cq}")
            return Outcome(self.cross.answer(cq), State())
        qvec_list = self.store.embed_query(q.norm)
        qvec = np.asarray(qvec_list, dtype=np.float32)
        hits = self.store.search(q.norm, k=12, filters=filters, tokens=list(q.tokens), vector=qvec_list)
        hits = _inner_names_demoted(q.norm, hits)
        spelled = [_spelled(q.norm, h.sheet.project_name) for h in hits if h.name >= NAMES_SHEET]
        if any(spelled):  # read the question's intent again with the sheets' names masked
            q = parse(text, tuple(self.store.municipalities()), mask=tuple(x for x in spelled if x))
        named, fits = self._named(q, hits, filters)
        q = q.with_(named=tuple(p for p in q.named if names_something(p, self.store.name_idf)))
        subject = contrast_subject(q.norm) if state.sheet_id and not q.named else ""
        if subject and (other := self._contrasted(q, subject, hits, state)):
            named, fits = other[0], {sid: 1.0 for sid in other}
            q = q.with_(named=(subject,))
        elif subject and (project := _project_phrase(subject, q.municipality)):
            # 「では…を育てる事業は？」: another project, by a name the store does not hold.
            if self._named(q.with_(named=(project,)), hits, filters)[0] is None:
                return self._absent(q.with_(named=(project,)), hits, state)
        names_other = bool(state.sheet_id) and (
            (bool(q.named) and named is not None and named != state.sheet_id)
            or any(h.name >= STRONG_NAME and h.sheet.sheet_id != state.sheet_id and h.sheet.project_name != state.project
                   and normalize(h.sheet.project_name) in q.norm for h in hits[:3]))
        turn = read_turn(q, state, names_other)
        q = turn.query
        if filters.section in {sec.value for sec in Section}:  # a section chosen in the chat is the one asked
            q = q.with_(sections=((Section(filters.section), 1.0),), numeric=False, answer=AnswerType.TEXT)
        if filters.table in {t.value for t in Table}:
            q = q.with_(tables=(Table(filters.table),), numeric=True, answer=AnswerType.NUMBER)
        self._note(f"query: answer={q.answer.value} op={q.op.value} numeric={q.numeric} counter={q.counter!r} "
                   f"money={q.money} years={[(y.text, y.western, y.bare, y.relative, y.kind) for y in q.years]} "
                   f"kinds={[k.value for k in q.kinds]} tables={[t.value for t in q.tables]} named={q.named} "
                   f"sections={[(s.value, w) for s, w in q.sections]}")
        self._note(f"turn: follows={turn.follows} continues={turn.continues} row={turn.row} base={turn.base_year} "
                   f"compare={turn.compare_year} state={state.project or state.absent or '-'} named_sheet={named}")
        if q.named and named is None and not turn.follows:
            return self._absent(q, hits, state)
        if turn.follows and not state.sheet_id:
            return Outcome(render.absent_again(state.absent), state)
        cands = self._candidates(q, turn, state, hits, fits, named)
        if not cands:
            return Outcome(render.nothing(filters), State())
        scored = [ss for ss in (self._score(q, sid, hit, prior, fit, qvec) for sid, hit, prior, fit in cands)
                  if ss is not None]
        if not scored:
            return Outcome(render.nothing(filters), State())
        if self._trace is not None:
            for ss in scored:
                self._note(f"sheet {ss.ev.sheet.sheet.project_name} prior={ss.prior:.2f} name={ss.name_fit:.2f} "
                           f"asked={list(ss.asked)}")
                for r in ss.rows[:3]:
                    self._note(f"   row {r.score:.2f} {r.unit.label[:30]} {_fmt(r.parts)}")
                for p in ss.passages[:3]:
                    self._note(f"   psg {p.score:.2f} [{p.unit.section}] {p.unit.text[:40]} {_fmt(p.parts)}")
        if q.answer is AnswerType.DEPARTMENT:
            best = max(scored, key=lambda ss: (ss.prior, ss.sheet_id))
            return Outcome(render.department(best.ev.sheet.sheet), _state_of(best, state, asked=_asked_of(q, best)))
        if q.answer is AnswerType.TOPIC and not q.named and not turn.follows:
            if q.subject and any(name_fit(q.subject, ss.ev.sheet.sheet.project_name, self.store.name_idf)
                                 >= self.w.named_min for ss in scored):
                # 「空家等対策推進はどんな事業ですか」: what a named project is, not which project.
                q = q.with_(answer=AnswerType.TEXT, sections=((Section.OVERVIEW, 1.0), (Section.PURPOSE, 0.6)))
            else:
                return self._topic(q, scored, state)
        # A change between two years said (「R3から6年度でどう伸びた」) speaks of a series of figures: a row
        # holding half the words is enough; otherwise a row must be named nearly whole.
        over_years = q.op in (Op.CHANGE, Op.DIFF, Op.TREND) and len([y for y in q.years if y.relative is None]) >= 2
        named_at = self.w.row_min_label if over_years else ROW_NAMED
        if not q.numeric and not q.sections and (any(y.relative is None for y in q.years) or q.op is not Op.VALUE) \
                and any(ss.rows and ss.rows[0].parts["label"] >= named_at for ss in scored):
            # 「3年度のその他は前年度より増えた？」: a row's label holds the question's words, and it asks
            # about years: the evidence says figure, whatever the wording.
            q = q.with_(numeric=True, answer=AnswerType.NUMBER)
        if q.numeric or turn.row is not None or _EACH.search(q.norm) or _DIVIDE.search(q.norm):
            out = self._per_unit(q, turn, scored, state)
            if out is not None:
                return out
        if q.numeric or turn.row is not None:
            out = self._two_rows(q, turn, scored, state)
            if out is not None:
                return out
            out = self._figure(q, turn, scored, state, filters)
            if out is not None:
                return out
        return self._passage(q, scored, state, filters, settled=turn.follows or turn.continues)

    # --- sheets -------------------------------------------------------------------------
    def _named(self, q: Query, hits: list[Hit], filters: Filters) -> tuple[str | None, dict[str, float]]:
        """The sheet a named project is (None if it names one the store lacks), and each sheet's fit."""
        idf = self.store.name_idf
        q_named = tuple(p for p in q.named if names_something(p, idf))
        if not q_named:
            return None, {}
        q = q.with_(named=q_named)
        pool = {h.sheet.sheet_id: h for h in hits}
        for phrase in q.named:
            for h in self.store.search(phrase, k=5, filters=filters):
                pool.setdefault(h.sheet.sheet_id, h)
        fits = {sid: max(name_fit(p, h.sheet.project_name, idf) for p in q.named) for sid, h in pool.items()}
        whole = {sid for sid, h in pool.items() if any(name_key(p) == name_key(h.sheet.project_name) for p in q.named)}
        if whole:  # a name spelled whole is that project's; a longer name holding it (企業版…) is another's
            fits = {sid: f if sid in whole else min(f, 0.8) for sid, f in fits.items()}
        best = max(fits.items(), key=lambda kv: (kv[1], pool[kv[0]].score, kv[0]), default=(None, 0.0))
        if best[0] is not None and best[1] >= self.w.named_min:
            return best[0], fits
        # Not a project's name: it may still be written in a sheet (a council, a facility).
        for phrase in q.named:
            if any(self._mentions(sid, phrase) for sid in list(pool)[:CANDIDATES]):
                return (hits[0].sheet.sheet_id if hits else None), {}
        return None, fits

    def _contrasted(self, q: Query, subject: str, hits: list[Hit], state: State) -> list[str]:
        """The sheets a contrastive follow-up (「北部地区のほうは？」) turns to: those among the hits whose
        name holds its subject, when the subject is not a part of the sheet under discussion: its
        name, a row of it (「国庫支出金のほうは？」), a section or a table."""
        # A subject naming a section or table of the form (「課題のほうは？」) is a part of this sheet.
        named_part = bool(section_priors(subject)[0] or parse(subject).tables)
        subject = compact(subject)
        if len(subject) < 2 or named_part or subject in compact(state.project):
            return []
        ev = self.store.evidence(state.sheet_id)
        if ev is None or any(subject in compact(u.label) for u in ev.units if u.kind is UnitKind.ROW):
            return []
        return list(dict.fromkeys(h.sheet.sheet_id for h in hits[:CANDIDATES]
                                  if subject in compact(h.sheet.project_name) and h.sheet.sheet_id != state.sheet_id))

    def _mentions(self, sheet_id: str, phrase: str) -> bool:
        from .match import compact

        ev = self.store.evidence(sheet_id)
        target = compact(phrase)
        return ev is not None and bool(target) and any(target in compact(u.text) for u in ev.units)

    def _candidates(self, q: Query, turn: Turn, state: State, hits: list[Hit], fits: dict[str, float],
                    named: str | None) -> list[tuple[str, Hit | None, float, float]]:
        if turn.follows:
            return [(state.sheet_id, None, 1.0, 1.0)]
        prior = _priors(hits)
        out: dict[str, tuple[str, Hit | None, float, float]] = {}
        if fits and named is not None:
            best = max(fits.values())
            keep = {sid for sid, f in fits.items() if f >= best - 0.1}
            by_id = {h.sheet.sheet_id: h for h in hits}
            for sid in sorted(keep, key=lambda s: (-fits[s], s)):
                h = by_id.get(sid)
                out[sid] = (sid, h, max(fits[sid], prior.get(sid, 0.0)), fits[sid])
        else:
            # A question that spells out a sheet's name is about that sheet (or its namesakes): a
            # look-alike elsewhere must not answer for it.
            strongest = max((h.name for h in hits), default=0.0)
            pool = [h for h in hits if h.name >= strongest - 5] if strongest >= NAMES_SHEET else hits
            for h in pool[:CANDIDATES + 6]:
                out[h.sheet.sheet_id] = (h.sheet.sheet_id, h, prior[h.sheet.sheet_id], h.name / 100.0)
        if turn.continues and state.sheet_id:
            sid, h, prior, fit = out.get(state.sheet_id, (state.sheet_id, None, 0.0, 0.0))
            out[state.sheet_id] = (sid, h, max(prior, 0.7), fit)
        return sorted(out.values(), key=lambda c: (-c[2], c[0]))[:CANDIDATES + 4]

    def _score(self, q: Query, sid: str, hit: Hit | None, prior: float, fit: float,
               qvec: np.ndarray) -> SheetScore | None:
        ev = self.store.evidence(sid)
        if ev is None:
            return None
        return self.scorer.score_sheet(q, ev, hit, prior, fit, qvec)

    # --- figures ------------------------------------------------------------------------
    def _figure(self, q: Query, turn: Turn, scored: list[SheetScore], state: State,
                filters: Filters) -> Outcome | None:
        choices = []
        for ss in scored:
            row = self._row(q, turn, ss, filters)
            if row is not None:
                choices.append((self.w.sheet_prior * ss.prior + row.score, ss, row))
        subject = max(scored, key=lambda ss: (ss.name_fit, ss.sheet_id))
        if choices and subject.name_fit >= 0.5 and not turn.follows:
            # The question's words name a project: a row of a project they do not name is a look-alike.
            choices = [c for c in choices if c[1].name_fit >= subject.name_fit - 0.3] or \
                ([] if subject.passages else choices)
        if choices:
            choices.sort(key=lambda c: (-c[0], c[1].sheet_id))
            _, ss, row = choices[0]
            if not turn.follows and not q.named and ss.name_fit < self.w.named_min and \
                    (stranger := _subject_elsewhere(q, ss, row)):
                self._note(f"subject not on the sheet: {stranger}")
                return Outcome(render.absent("・".join(stranger), ss.ev.sheet.sheet), State())
            years = _resolve_years(q, turn, row.unit.cells, ss.ev.sheet.sheet.fiscal_year)
            answer, year = render.figure(q, ss.ev.sheet, row.unit, years)
            new = _state_of(ss, state, row=(row.unit.table, row.unit.label), year=year,
                            years=tuple(years) if years else state.years, kind=q.kind, numeric=True)
            # Other sheets that answer alike: namesakes of the name asked (True), or, asked of no name,
            # sheets printing the same figures (False).
            alike = [(o, r, by_name) for _, o, r in choices[1:]
                     if (by_name := _namesake(ss, o, self.w, q.named)) or (not q.named and _same_figure(row, r))][:3]
            if alike and not turn.follows:
                more = [render.figure(q, o.ev.sheet, r.unit,
                                      _resolve_years(q, turn, r.unit.cells, o.ev.sheet.sheet.fiscal_year))[0]
                        for o, r, _ in alike]
                return Outcome(render.combine([answer, *more], same_figure=not any(b for _, _, b in alike)), new)
            return Outcome(answer, new)
        # No row holds the quantity: a count or sum written in a sentence may (「衛生監視員（34人）」).
        texts = []
        asks_count = bool(q.counter) or bool(re.search(r"いくつ|幾つ|どれくらい|どのくらい", q.norm))
        for ss in scored:
            for p in ss.passages[:3]:
                if (asks_count and counted(p.unit.text, q.counter)) or (q.money and p.parts.get("type", 0.0) > 0):
                    if p.parts.get("cov", 0.0) >= self.w.text_figure_cov:
                        texts.append((self.w.sheet_prior * ss.prior + p.score, ss, p))
        if texts:
            return None  # the passage path answers it
        if q.answer is AnswerType.NUMBER and not turn.follows and not q.named and not _names_a_sheet(scored):
            return None  # nothing names a sheet: perhaps the question is about a text after all
        best = max(scored, key=lambda ss: (ss.prior, ss.sheet_id))
        return Outcome(render.no_row(best.ev.sheet, filters), _state_of(best, state, numeric=True))

    def _row(self, q: Query, turn: Turn, ss: SheetScore, filters: Filters) -> Scored | None:
        rows = [r for r in ss.rows if not filters.table or r.unit.table.value == filters.table]  # pyright: ignore[reportOptionalMemberAccess] - a row's unit has a table
        if not rows:
            return None
        if turn.row is not None:
            same = [r for r in rows if (r.unit.table, r.unit.label) == turn.row]
            own = rows[0]
            names_own = own.parts["label"] >= self.w.row_min_label and (own.unit.table, own.unit.label) != turn.row
            if same and not names_own:  # 「その前の年度は？」 keeps the row; 「そのうち光熱水費は？」 names one
                return same[0]
        if filters.table and len(rows) == 1:
            return rows[0]
        generic = generic_cost(ss.row_asked)
        named_rows = [r for r in rows if r.parts["label"] >= self.w.row_min_label and r.parts.get("unit", 1.0) > 0]
        if named_rows and not generic:
            return named_rows[0]  # rows are in score order: the best of those the question names
        if not generic and _clear_near_miss(rows, self.w):
            return rows[0]
        if (not ss.row_asked or generic) and (q.money or q.tables or q.kinds or generic):
            main = main_cost_row(ss)
            if main is not None and (not q.tables or main.unit.table in q.tables or not any(
                    r.unit.table in q.tables for r in rows)):
                return main
            in_table = [r for r in rows if r.unit.table in q.tables]
            return in_table[0] if in_table else None
        return None

    def _two_rows(self, q: Query, turn: Turn, scored: list[SheetScore], state: State) -> Outcome | None:
        """Arithmetic over two rows of one sheet in one year: 「国と県の支出金を合わせて」 (a sum),
        「事業費のうち国庫支出金は何％」「事業費に占めるその他の割合」 (a share). Each part must name
        its row as a figure question would (label coverage), or the question is read as usual."""
        ss = max(scored, key=lambda x: (x.prior, x.sheet_id))
        # The project's name is not a part (特定教育・保育施設… holds a ・).
        text = strip_name(q.norm, ss.ev.sheet.sheet.project_name)
        for n in q.named:
            text = text.replace(n, " ")
        m = _TWO_SUM.search(text)
        share = _SHARE.search(text) if m is None else None
        if (m is None and share is None) or len([y for y in q.years if y.relative is None]) > 1:
            return None
        if ss.name_fit < 0.5 and _clearly_first(scored, self.w) is not ss and not turn.follows and len(scored) > 1:
            return None
        first, second = (m.group(1), m.group(2)) if m else (share.group(1), share.group(2))  # pyright: ignore[reportOptionalMemberAccess] - one of them matched
        rows = [self._row_named(q, ss, part) for part in (first, second)]
        a, b = rows
        if a is None or b is None or a.unit.unit_id == b.unit.unit_id:
            return None
        if _unit_of(a) != _unit_of(b):
            return None  # 園 and %: not two parts of one quantity
        found = _one_year_cells(q, turn, ss, a, b)
        if found is None:
            return None
        year, ca, cb = found
        answer = render.two_rows(ss.ev.sheet, a.unit, ca, b.unit, cb, share=m is None)
        new = _state_of(ss, state, row=(a.unit.table, a.unit.label), year=year, years=(year,), numeric=True)
        return Outcome(answer, new)

    def _per_unit(self, q: Query, turn: Turn, scored: list[SheetScore], state: State) -> Outcome | None:
        """One row over another in one year: 「事業費を交付件数で割ると」, 「寄附1件あたり平均いくら」
        (the amount the question names, or the sheet's cost, over the row counted in 件). A sheet that
        prints the figure per head itself (「1人当たり…」) answers with its own row instead."""
        ss = max(scored, key=lambda x: (x.prior, x.sheet_id))
        if ss.name_fit < 0.5 and _clearly_first(scored, self.w) is not ss and not turn.follows and len(scored) > 1:
            return None
        if len({y.western or y.text for y in q.years if y.relative is None}) > 1:
            return None  # two years asked (the same year said twice, 「R6決算の…をR6の…で」, is one)
        if any((_PRINTED_PER.search(r.unit.label) or r.unit.table is Table.UNIT_COST)
               and r.parts["label"] >= self.w.row_min_label for r in ss.rows):
            return None
        text = strip_name(q.norm, ss.ev.sheet.sheet.project_name)
        divide, each = _DIVIDE.search(text), _EACH.search(text)
        a = b = None
        also: list[Scored] = []
        if divide:
            a = self._row_named(q, ss, divide.group(1))
            if a is None and (generic_cost(content_tokens(tokenize(divide.group(1)))) or q.money):
                a = main_cost_row(ss)
            b = self._row_named(q, ss, divide.group(2))
        elif each:
            # The words left once 「1件あたり平均」 is gone name the rows: 「寄附って1件あたり」 is the
            # 寄附 amount over the 寄附 count; with no amount named, the sheet's cost.
            rest = _PRINTED_PER.sub(" ", text[:each.start()] + " " + text[each.end():])
            counts = [r for r in ss.rows if same_unit(_unit_of(r), each.group(1))]
            per = _PER_NOUN.search(text[:each.start()])
            if per and re.search(r"[\u4e00-\u9fff\u30a0-\u30ff]", per.group(1)):
                # 「市民1人あたり」「コンテナ1個あたり」: per one of these; a sheet that counts none of them
                # (no 市民 row) has no such figure.
                b = self._row_named(q, ss, per.group(1), among=counts)
            else:
                b = self._row_named(q, ss, rest, among=counts) or (counts[0] if len(counts) == 1 else None)
            a = self._row_named(q, ss, rest, among=[r for r in ss.rows if _unit_of(r) in MONEY_UNITS])
            if a is None and any(_AMOUNT.search(t) and not generic_cost([t]) for t in content_tokens(tokenize(rest))):
                return None  # 「1台あたりの燃料代」: an amount the sheet has no row for
            if a is None:
                # No amount named: the cost per 件, with staff (トータルコスト) and without (事業費), both shown.
                costs = cost_rows(ss)
                a, also = (costs[0], costs[1:]) if costs else (None, [])
        if a is None or b is None or a.unit.unit_id == b.unit.unit_id:
            return None
        found = _one_year_cells(q, turn, ss, a, b)
        if found is None:
            return None
        year, ca, cb = found
        kind = q.kinds[0] if q.kinds else None
        more = [(r.unit, c[0]) for r in also if (c := render.cells_for(r.unit.cells, year, kind))]
        answer = render.per_unit(ss.ev.sheet, [(a.unit, ca), *more], b.unit, cb)
        new = _state_of(ss, state, row=(a.unit.table, a.unit.label), year=year, years=(year,), numeric=True)
        return Outcome(answer, new)

    def _row_named(self, q: Query, ss: SheetScore, part: str, among: list[Scored] | None = None) -> Scored | None:
        """The sheet's row a part of the question names (its label covered at least row_min_label)."""
        for y in q.years:
            part = part.replace(y.text, " ")
        quoted = [compact(x) for x in re.findall(r"「([^」]+)」", part)]
        words = tuple(content_tokens(tokenize(re.sub(r"「[^」]*」", " ", part))))
        if not words and not quoted:
            return None
        idf = self.store.bm25.idf
        best: tuple[float, Scored] | None = None
        for r in ss.rows if among is None else among:
            label = compact(r.unit.label)
            printed = _MARKER.sub("", unicodedata.normalize("NFKC", r.unit.label)).strip()
            if quoted and any(x and x == label for x in quoted):
                cov = 2.0  # 「その他」: the label as printed, before any label merely covering the words
            elif len(printed) >= 2 and printed in unicodedata.normalize("NFKC", part):
                cov = 1.0 + len(printed) / 100  # written out whole (その他の財源): the longest such label
            elif words:
                # Equal cover: the label the part spells more of (寄附件数, not 寄附ページへのアクセス件数).
                cov = token_coverage(words, tokenize(r.unit.label), idf, label) \
                    + 0.01 * label_coverage(compact(part), r.unit.label)
            else:
                cov = 0.0
            if cov >= self.w.row_min_label and (best is None or cov > best[0]):
                best = (cov, r)
        return best[1] if best else None

    # --- passages -----------------------------------------------------------------------
    def _passage(self, q: Query, scored: list[SheetScore], state: State, filters: Filters,
                 settled: bool = False) -> Outcome:
        """The best passage over the sheets. A sheet is ranked by its best passage, by how strongly
        retrieval points at it, and (unless the conversation has settled which sheet: `settled`) by how
        many of the question's words it holds anywhere: a passage that only sits in the section asked
        (開始のきっかけ for 「いつから」) is no answer from a sheet that says nothing of what is asked."""
        def usable(ss: SheetScore) -> list[Scored]:
            out = [p for p in ss.passages if not filters.section or p.unit.section.value == filters.section]  # pyright: ignore[reportOptionalMemberAccess] - a passage's unit has a section
            if (not q.sections or q.counter or q.money) and any(y.relative is None for y in q.years):
                # 「H25年度の…は？」 with no section named, or a count or amount asked of a year (「R7の実績は
                # 何件」): only a passage that speaks of that year answers.
                out = [p for p in out if p.parts.get("years", 1.0) > 0]
            if q.answer is AnswerType.DATE:
                dated = [p for p in out if p.parts.get("type", 0.0) > 0]
                out = dated or out
            return out

        # The question's words name a project: a passage of a project whose name they do not touch
        # at all is a look-alike (越喜来診療所… asked, a 下水処理 sheet's 「1人あたり…円」 answering).
        subject = max(scored, key=lambda ss: (ss.name_fit, ss.sheet_id))
        first = max(scored, key=lambda ss: (ss.prior, ss.sheet_id))
        named_only = subject.name_fit >= 0.5 and subject is first and len(scored) > 1
        ranked = []
        for ss in scored:
            if named_only and ss.name_fit < 0.2:
                continue
            held = 0.0 if settled else self.scorer.holds(q, ss.ev)
            if not settled and held == 0.0 and ss.name_fit < 0.5:
                continue  # a sheet holding none of the question's words, anywhere, and not named by it
            ps = usable(ss)
            if ps:
                ranked.append((self.w.sheet_prior * ss.prior + ps[0].score + self.w.sheet_held * held, ss, ps))
        ranked.sort(key=lambda r: (-r[0], r[1].sheet_id))
        routed = self._routed(q, ranked) if ranked and ranked[0][2][0].score < self.w.p_min else None
        if routed is not None:
            ranked = [routed]
        elif not ranked or ranked[0][2][0].score < self.w.p_min:
            best = ranked[0][1] if ranked else max(scored, key=lambda ss: (ss.prior, ss.sheet_id))
            return Outcome(render.no_text(best.ev.sheet, filters), _state_of(best, state))
        total, ss, ps = ranked[0]
        chosen = _with_reasons(ss, _cued_first(q, ps, _pick(ps, self.w)))
        if _figure_not_in(q, chosen):
            return Outcome(render.no_text(ss.ev.sheet, filters), _state_of(ss, state))
        rivals = [r for r in ranked[1:] if r[2][0].score >= self.w.p_min and abs(r[1].name_fit - ss.name_fit) < 0.05
                  and (total - r[0] < self.w.ambiguous or _namesake(ss, r[1], self.w, q.named))]
        if rivals:
            other = rivals[0]
            answer = render.passages_several([(ss.ev.sheet, chosen),
                                              (other[1].ev.sheet, _with_reasons(other[1], _pick(other[2], self.w)))])
        else:
            answer = render.passages(ss.ev.sheet, chosen)
        return Outcome(answer, _state_of(ss, state, section=chosen[0].unit.section, asked=_asked_of(q, ss)))

    def _routed(self, q: Query, ranked: list) -> tuple | None:
        """The project the question is clearly about, and the section its cue words name first
        (「…事業はいつ、どういう経緯で」 → 開始のきっかけ): that section's best passage answers at a
        lower score, since the question has said both where to look and what about. None otherwise."""
        if not q.sections or q.sections[0][1] < 1.0:
            return None
        section = q.sections[0][0]
        clear = _clearly_first([r[1] for r in ranked], self.w)
        for i, (total, ss, ps) in enumerate(ranked):
            # The sheet the question is about: its name spelled out, or retrieval pointing at it alone
            # (「給食センターができたのは」 names 学校給食センター運営事業 in part, and nothing else near).
            if ss.name_fit < 0.95 and not (i == 0 and ss is clear):
                continue
            inside = [p for p in ps if p.unit.section is section and not says_nothing(p.unit.text)]
            if inside and inside[0].score >= self.w.p_min_routed:
                if all(len(p.unit.text) <= _CHOICE_CHARS for p in inside):
                    # The section holds only choices ticked on the form: the sheet's sentences follow, for _pick.
                    inside += [p for p in ps if p not in inside]
                return (total, ss, inside)
            return None
        return None

    # --- topics -------------------------------------------------------------------------
    def _topic(self, q: Query, scored: list[SheetScore], state: State) -> Outcome:
        """Which projects do X: the sheets whose name or text holds the topic's words, best first; a sheet
        named with them (「消防団運営事業」 for 消防団) is as good an answer as its text."""
        ranked = []
        # A topic is told by what it is about (鹿, 駆除); the asker's verbs (荒らす, 困る) count for half.
        idf = inflected_half(self.store.bm25.idf)
        # The topic's words as asked: a sheet's own name is not stripped from them here, it is what they match.
        muni = set(tokenize(q.municipality)) | set(tokenize(q.municipality[:-1])) if q.municipality else set()
        topic = tuple(content_tokens([t for t in q.tokens if t not in muni]))
        if not topic:
            return Outcome(render.no_topic(), State())
        for ss in scored:
            name = ss.ev.sheet.sheet.project_name
            named = token_coverage(topic, tokenize(name), idf, compact(name))
            cov_p, at = _field_coverage(topic, ss, idf)
            best = next((p for p in ss.passages if at and p.unit.unit_id == at), None)
            cov = max(cov_p, named)
            ranked.append((cov + 0.3 * ss.prior, cov, ss, best))
        ranked.sort(key=lambda r: (-r[0], r[2].sheet_id))
        if not ranked or ranked[0][1] < 0.5:
            near = self._topic_by_meaning(scored)
            if near is not None:
                overview = next((p for p in near.passages if p.unit.section is Section.OVERVIEW), None)
                return Outcome(render.topic([(near.ev.sheet, overview)], by_meaning=True), _state_of(near, state))
            return Outcome(render.no_topic(), State())
        top = ranked[0][0]
        shown = [r for r in ranked if r[0] >= top - 0.15 and r[1] >= 0.5][:8]
        answer = render.topic([(r[2].ev.sheet, r[3]) for r in shown])
        return Outcome(answer, _state_of(shown[0][2], state) if len(shown) == 1 else State())

    def _topic_by_meaning(self, scored: list[SheetScore]) -> SheetScore | None:
        """A topic told in other words than the sheet's: the sheet
        whose profile is nearest in meaning, when it is near and clearly nearer than any other
        (古い家の耐震を手伝う制度 for 木造住宅耐震改修支援事業)."""
        near = sorted(((ss.hit.dense, ss) for ss in scored if ss.hit is not None and ss.hit.dense),
                      key=lambda x: (-x[0], x[1].sheet_id))
        if not near or near[0][0] < self.w.topic_dense:
            return None
        second = near[1][0] if len(near) > 1 else 0.0
        return near[0][1] if near[0][0] - second >= self.w.topic_margin else None

    def _absent(self, q: Query, hits: list[Hit], state: State) -> Outcome:
        closest = hits[0].sheet if hits else None
        return Outcome(render.absent(q.named[0], closest), State(absent=q.named[0]))


def _project_phrase(subject: str, municipality: str) -> str:
    """The subject of a contrastive follow-up when it names a project (it ends in 事業, 業務, 事務),
    without the city's name before it."""
    if municipality:
        subject = re.sub(rf"^{re.escape(municipality)}(?:の)?", "", subject)
    return subject if len(subject) > 2 and subject.endswith(("事業", "業務", "事務")) else ""


def _field_coverage(topic: tuple[str, ...], ss: SheetScore, idf: Callable[[str], float]) -> tuple[float, str]:
    """How much of a topic one field of the sheet says (a section's text, all its passages together: a
    project is described over a few sentences, not in one), and the passage of that field that says
    most of it, to quote."""
    fields: dict[str, tuple[set[str], list[str], list[tuple[float, str]]]] = {}
    for u, toks in zip(ss.ev.units, ss.ev.tokens, strict=True):
        if u.kind is not UnitKind.PASSAGE:
            continue
        held, texts, own = fields.setdefault(u.record_id, (set(), [], []))
        text = compact(u.text)
        held.update(toks)
        texts.append(text)
        own.append((token_coverage(topic, toks, idf, text), u.unit_id))
    best = (0.0, "")
    for held, texts, own in fields.values():
        cov = token_coverage(topic, held, idf, "".join(texts))
        quote = max(own, key=lambda o: o[0])[1]  # the first of equals: the field reads in order
        best = max(best, (cov, quote), key=lambda b: b[0])
    return best


def _subject_elsewhere(q: Query, ss: SheetScore, row: Scored) -> list[str]:
    """The nouns the question says besides the row's own words, when the sheet holds none of them
    anywhere (「空港ターミナルの清掃の人件費」 on a sheet that never mentions 空港 or ターミナル): what the
    question is about is not this sheet, whatever row of it measures the same thing."""
    label = set(tokenize(f"{row.unit.label} {row.unit.table.value if row.unit.table else ''}"))
    if _unit_of(row) in MONEY_UNITS:
        label |= set(MONEY_WORDS)  # 「お金」 is what a row in 千円 measures
    said = thing_nouns(q.norm)
    own = compact(row.unit.label)
    rest = [t for t in ss.asked if t in said and t not in label and compact(t) not in own
            and not any(x in label or x in own for x in expand(t))]  # 補助金 for 支出金: the row's word
    if not rest:
        return []
    held = {t for toks in ss.ev.tokens for t in toks}
    name = ss.ev.sheet.sheet.project_name
    text = "".join(u.text for u in ss.ev.units) + name
    if any(t in held or t in text or _abbreviates(t, name) for t in rest):
        return []
    return rest


def _abbreviates(word: str, name: str) -> bool:
    """A Japanese abbreviation keeps characters of the full name in order (三鉄 for 三陸鉄道, 国保 for
    国民健康保険): the word's characters found in that order in a short stretch of the name."""
    if len(word) < 2 or not all("\u4e00" <= c <= "\u9fff" for c in word):
        return False
    for start in (i for i, c in enumerate(name) if c == word[0]):
        at = start
        for c in word[1:]:
            at = name.find(c, at + 1)
            if at < 0:
                break
        else:
            if at - start < 3 * len(word):
                return True
    return False

# 「AとBを合わせて」「AとBを足すと」: two rows of one year summed. 「XのうちYは何％」「Xに占めるYの割合」:
# the share of one row in another.
_MARKER = re.compile(r"^[ア-ンA-Za-z]\s+")
_CH = r"(?:[^、。？?とはをのでにがか「」]|「[^」]{1,12}」)"
_PART = rf"({_CH}{{1,16}}?(?:の{_CH}{{1,10}}?){{0,2}})"
_TWO_SUM = re.compile(_PART + r"(?:と|及び|・)" + _PART
                      + r"(?:(?:から|で|が|に)[^、。？?]{0,14}?)?(?:を|は|の)?(?:合わせ|あわせ|足す|足し|合計)")
_SHARE = re.compile(_PART + r"(?:のうち|に占める|の中で)" + _PART + r"(?:が|の)?(?:占める)?(?:は|の)?(?:何\s*[%％]|割合|比率|何割|率)")


# 「AをBで割ると」: A over B. 「1件あたり」「子ども1人当たり」: per one of what a row counts.
_DIVIDE = re.compile(_PART + r"を" + _PART + r"で割")
_EACH = re.compile(r"(?:1|一)\s*(人|件|個|回|世帯|か所|ヶ所|箇所|カ所|校|台|日|隻|頭|戸|団体|事業所|施設|園|本|枚|冊|食)"
                   r"(?:あたり|当たり|当り|につき)")
_PER_NOUN = re.compile(r"(?:^|[、。,\sはがをにでとへやっ])([^、。,\sはがをにでとへやっ]{1,12})$")
_AMOUNT = re.compile(r"(?:費|代|料|金|額)$")
_PRINTED_PER = re.compile(r"あたり|当たり|当り|平均")


def _unit_of(r: Scored) -> str:
    return next((c.unit for c in r.unit.cells if c.unit), "")


def _namesake(a: SheetScore, b: SheetScore, w: Weights, named: tuple[str, ...] = ()) -> bool:
    """Both sheets answer to the name the question spells out, equally well (「協議会参画事業」 ends
    the names of several projects): neither may be chosen over the other. A name spelled whole is
    that project's, not also a longer one's that holds it (企業版… holds the name of another)."""
    if any(name_key(n) == name_key(a.ev.sheet.sheet.project_name) for n in named) and \
            not any(name_key(n) == name_key(b.ev.sheet.sheet.project_name) for n in named):
        return False
    return a.name_fit >= w.named_min and abs(a.name_fit - b.name_fit) < 0.02 and b.sheet_id != a.sheet_id


def _same_figure(a: Scored, b: Scored) -> bool:
    """Two sheets print the same row with the same figures (a port's cargo on each of the projects that
    support it): asked of neither by name, the figure is both sheets', and both are cited."""
    # The same figures over three years or more are the same row, whatever each sheet calls it
    # (コンテナ貨物取扱量 on one, 貨物取扱量 on another).
    mine = [(c.fiscal_year, c.kind.value, c.value) for c in a.unit.cells]
    return a.unit.sheet_id != b.unit.sheet_id and sum(v is not None for _, _, v in mine) >= 3 \
        and mine == [(c.fiscal_year, c.kind.value, c.value) for c in b.unit.cells]


def _inner_names_demoted(text: str, hits: list[Hit]) -> list[Hit]:
    """A name spelled whole only as part of a longer name the question spells (ふるさと… inside
    広域ふるさと…) is not what the question names: its name score drops below a spelled name's."""
    t = name_key(text)
    whole = {name_key(h.sheet.project_name) for h in hits if name_key(h.sheet.project_name) in t}
    inner = {n for n in whole if any(n != m and n in m for m in whole)}
    if not inner:
        return hits
    return [replace(h, name=min(h.name, 80.0)) if name_key(h.sheet.project_name) in inner else h for h in hits]



def _spelled(text: str, project_name: str) -> str:
    """The run of the question that spells the project's name (3 characters or more), if any."""
    from difflib import SequenceMatcher

    name = unicodedata.normalize("NFKC", project_name)
    m = SequenceMatcher(None, text, name, autojunk=False).find_longest_match(0, len(text), 0, len(name))
    return text[m.a:m.a + m.size] if m.size >= 3 else ""


def _priors(hits: list[Hit]) -> dict[str, float]:
    """How strongly retrieval points at each sheet, in [0, 1]: how much of its name the question holds,
    its best units' BM25 against the best sheet's, its profile's similarity against the best's."""
    top_bm = max((h.bm25 for h in hits), default=0.0) or 1.0
    out = {}
    for h in hits:
        # The profile's similarity on an absolute scale, not relative to whatever else came back:
        # a sheet's prior should not move with the rest of the candidate set.
        d = min(1.0, max(0.0, (h.dense - W.dense_floor) / W.dense_span)) if h.dense else 0.0
        out[h.sheet.sheet_id] = 0.5 * h.name / 100.0 + 0.3 * h.bm25 / top_bm + 0.2 * d
    return out


def _fmt(parts: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.2f}" for k, v in parts.items() if v)


def _clearly_first(sheets: list[SheetScore], w: Weights) -> SheetScore | None:
    """The sheet retrieval points at alone: strongly (prior ≥ clear_prior) and well ahead of the next."""
    if not sheets:
        return None
    first = max(sheets, key=lambda ss: (ss.prior, ss.sheet_id))
    second = max((ss.prior for ss in sheets if ss is not first), default=0.0)
    return first if first.prior >= w.clear_prior and first.prior - second >= w.clear_margin else None


def _clear_near_miss(rows: list[Scored], w: Weights) -> bool:
    """The best row falls just short of naming the quantity (label ≥ row_near_label) but no other row of
    the sheet comes near it (row_clear_margin ahead) and its unit is the one asked: the question says
    it in words of its own (祝い金を受け取った子 for 支給対象延べ児童数)."""
    if not rows or rows[0].parts["label"] < w.row_near_label or rows[0].parts.get("unit", 0.0) < 1.0:
        return False
    return len(rows) == 1 or rows[0].score - rows[1].score >= w.row_clear_margin


def _figure_not_in(q: Query, chosen: list[Scored]) -> bool:
    """「委員は何人」「予算はどれくらい減った」「入居率は」: a figure is asked, and none of the chosen
    passages holds one of its kind (a count in 人, an amount in 円, a share in ％). Quoting them
    would answer a different question."""
    if not q.numeric:
        return False
    if q.counter or q.money or q.counted:
        return all(p.parts.get("type", 1.0) == 0.0 for p in chosen)
    if asks_share(q.norm):
        return not any(re.search(r"\d\s*(?:%|％|割)", unicodedata.normalize("NFKC", p.unit.text)) for p in chosen)
    if q.count_noun in _FIXED_UNIT:  # 「待ち時間はどのくらい」: a span of time, and no passage states one
        return not any(counted(p.unit.text, q.count_noun) for p in chosen)
    return False


# Counts whose noun fixes the unit they are written in: 件数 in 件, 回数 in 回, a time in 時間 or 分. (A 者数
# may count 事業者 in 社 or 箇所, a 施設数 in か所: those nouns fix no unit.)
_FIXED_UNIT = ("件", "回", "時間")


def _names_a_sheet(scored: list[SheetScore]) -> bool:
    return any(ss.name_fit >= 0.7 for ss in scored)


_CHOICE_CHARS = 40  # a rating chosen on the form (「B.改善の余地がある」「現状維持」) is no longer than this


def _pick(ps: list[Scored], w: Weights = W) -> list[Scored]:
    """The best passage, and the next best ones (up to `p_shown` in all) that answer nearly as well:
    a fact is often told over two or three sentences or sections, and the reader sees each cited."""
    best = ps[0]
    out = [best, *[p for p in ps[1:w.p_shown] if p.score >= w.p_also * best.score]]
    if all(len(p.unit.text) <= _CHOICE_CHARS for p in out):
        # Only choices ticked on the form (「２ 改革改善」「向上」): the best passage that says something
        # in sentences is quoted too, or the reader gets a verdict without its words.
        said = next((p for p in ps[len(out):] if len(p.unit.text) > _CHOICE_CHARS
                     and p.score >= w.p_also * best.score), None)
        if said is not None:
            out.append(said)
    return out


def _cued_first(q: Query, ps: list[Scored], chosen: list[Scored]) -> list[Scored]:
    """The section the question names outright (「きっかけ」「課題」「意見」: the form's own label words)
    is quoted first when the sheet fills it in and the passages chosen by the question's words come
    from no section it names: those words are often the project's own (設置 on a ○○設置事業
    sheet), held in every part of the sheet."""
    if not q.sections or q.sections[0][1] < 1.0 or any(p.parts.get("prior", 0.0) > 0 for p in chosen):
        return chosen
    cued = next((p for p in ps if p.unit.section is q.sections[0][0] and not says_nothing(p.unit.text)), None)
    return chosen if cued is None else [cued, *chosen]


def _with_reasons(ss: SheetScore, chosen: list[Scored]) -> list[Scored]:
    """A rating chosen on the form is quoted with the reason printed for it: forms that print the
    choice and its 判断理由 as two fields (Ikeda's 「事業の効率性: B.改善の余地がある」, then
    「判断理由: …」) answer 「改善の余地ありと判断した理由は」 with the second."""
    recs = ss.ev.sheet.narratives
    at = {r.record_id: i for i, r in enumerate(recs)}
    out: list[Scored] = []
    for p in chosen:
        out.append(p)
        i = at.get(p.unit.record_id)
        if i is None or len(recs[i].text) > _CHOICE_CHARS or i + 1 >= len(recs):
            continue
        nxt = recs[i + 1]
        if nxt.section is recs[i].section and "理由" in nxt.label:
            reason = sorted((x for x in ss.passages if x.unit.record_id == nxt.record_id), key=lambda x: x.unit.start)
            out += [x for x in reason if x not in out]
    return out


def _one_year_cells(q: Query, turn: Turn, ss: SheetScore, a: Scored, b: Scored
                    ) -> tuple[int, TableCell, TableCell] | None:
    """Two rows' cells of the one year their arithmetic is done in (the year asked, else the first
    row's latest 実績), of the kind asked; None when either row has no such cell."""
    years = _resolve_years(q, turn, a.unit.cells, ss.ev.sheet.sheet.fiscal_year)
    if len(years) != 1:
        done = [c.fiscal_year for c in a.unit.cells if c.fiscal_year is not None and c.kind is Kind.ACTUAL
                and c.value is not None]
        years = [max(done)] if done and not q.years else []
    if not years:
        return None
    kind = q.kinds[0] if q.kinds else None
    ca = render.cells_for(a.unit.cells, years[0], kind)
    cb = render.cells_for(b.unit.cells, years[0], kind)
    return (years[0], ca[0], cb[0]) if ca and cb else None


def _state_of(ss: SheetScore, state: State, **changes: object) -> State:
    s = ss.ev.sheet.sheet
    base = State(sheet_id=s.sheet_id, project=s.project_name)
    if state.sheet_id == s.sheet_id:
        base = replace(state, row=None, section=None, asked="") if ("row" in changes or "section" in changes) \
            else state
        base = replace(base, absent="")
    return replace(base, **changes)


def _asked_of(q: Query, ss: SheetScore) -> str:
    """What the question asked of the sheet's project: its words with the project's name left out
    (「…はいつ建てられたの？」), for a follow-up that asks the same of another project."""
    text = strip_name(q.norm, ss.ev.sheet.sheet.project_name)
    for n in q.named:
        text = text.replace(n, " ")
    return text if text.strip() != q.norm.strip() else ""


def _resolve_years(q: Query, turn: Turn, cells: tuple[TableCell, ...], sheet_year: int | None) -> list[int]:
    """Western years asked, read against the row's columns. Relative years count from the year under
    discussion, else from a year the question names, else from the sheet's own year."""
    available = {c.fiscal_year for c in cells if c.fiscal_year is not None}
    absolute = []
    for ref in q.years:
        if ref.relative is None:
            cands = ref.candidates()
            absolute.append(next((y for y in cands if y in available), cands[0] if cands else None))
    base = turn.base_year if turn.base_year is not None else (absolute[0] if absolute else sheet_year)
    if q.op in (Op.CHANGE, Op.COMPARE) and turn.base_year is None and q.years and not absolute:
        # 「前年度と比べて増えた？」 on its own: the latest year with a result, against the one before.
        done = {c.fiscal_year for c in cells if c.fiscal_year is not None and c.kind is Kind.ACTUAL and c.value is not None}
        base = max(done or available, default=base)
        if base is not None:
            return sorted(dict.fromkeys([base + (ref.relative or 0) for ref in q.years if ref.relative] + [base]))
    out: list[int] = []
    for ref in q.years:
        if ref.relative is not None:
            if base is not None:
                out.append(base + ref.relative)
        else:
            y = absolute.pop(0)
            if y is not None:
                out.append(y)
    if turn.compare_year is not None and turn.compare_year not in out:
        out.append(turn.compare_year)
    if q.op in (Op.CHANGE, Op.COMPARE, Op.DIFF) and len(out) == 2:
        out.sort()  # a change or a difference between years reads from the earlier to the later
    if (q.op is Op.SUM and q.year_range and len(out) == 2) or (q.op is Op.CHANGE and (q.year_range or len(out) > 2)):
        # A sum over a range (「令和元年度から3年度までの合計」) takes every year of it the row has, not
        # its two ends; so does a change over one (「H28〜H31の動き」): how it moved in between, and overall.
        lo, hi = min(out), max(out)
        inside = sorted(y for y in available if lo <= y <= hi)
        if lo in inside and hi in inside:
            out = inside
    return list(dict.fromkeys(out)) if q.op is not Op.DIFF or len(set(out)) > 1 else out
