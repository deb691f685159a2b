"""What a conversation is about, turn by turn, as structured state rather than merged text.

The state is rebuilt from the history alone by replaying the user's earlier turns through the same
answering steps (`hyoka ask --jsonl` is stateless: it receives the history), so the chat and the CLI
give the same answer to the same conversation. A new turn keeps from the state only what it does
not say itself; a turn that names another project or topic starts afresh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ingest.kinds import KIND_OF_WORD
from ingest.records import Kind, Section, Table

from .query import AnswerType, Op, Query, YearRef, find_years, parse, subjectless


@dataclass(frozen=True)
class State:
    sheet_id: str = ""
    project: str = ""
    row: tuple[Table, str] | None = None    # the table row last answered
    section: Section | None = None          # the section last quoted
    asked: str = ""                         # what the last question asked of its project (its name left out)
    year: int | None = None                 # the year last answered (what 「その前の年度」 counts from)
    years: tuple[int, ...] = ()
    kind: Kind | None = None
    numeric: bool = False
    absent: str = ""                        # a project the user named that is not in the store

    def about_sheet(self) -> bool:
        return bool(self.sheet_id)


@dataclass(frozen=True)
class Turn:
    """How a question reads in its conversation: the query with what it inherits, and whether the
    sheet under discussion is meant (`follows`) or only a likely candidate (`continues`)."""

    query: Query
    follows: bool = False        # answer from the state's sheet
    continues: bool = False      # the state's sheet is a candidate with a head start
    row: tuple[Table, str] | None = None
    base_year: int | None = None
    compare_year: int | None = None


# A follow-up that names only another measure of the same thing: 「金額だと？」「人数は？」 after a
# count of 寄附 asks for the 寄附 row in that measure. The measure ends a row label (…寄附件数,
# …寄附額), so the label without its measure is what is measured.
_MEASURE_ONLY = re.compile(r"^(?:では|じゃあ|それなら)?[、,]?\s*(?:その)?(金額|額|費用|人数|件数|回数|割合|率)"
                           r"(?:だと|では|で言うと|でいうと|で見ると|は|なら|だったら)?\s*[?？]?$")
_LABEL_MEASURE = re.compile(r"(?:の)?(?:金額|額|費用|人数|件数|回数|割合|率|数|件)$")
_LABEL_MARK = re.compile(r"^[ア-ン]\s+")
_ASKS_CHANGE = re.compile(r"増え|減っ|減り|伸び|上が|下が|変わ|多く|少なく|増加|減少")
# A question that ends by naming a measure (…の数は？ …の金額は？ …の割合って？) asks for a figure.
_ENDS_IN_MEASURE = re.compile(r"(?:数|額|率|割合|量|件数|人数|回数)(?:は|って)?\s*[?？]?$")
_OWN_TOPIC = (AnswerType.DATE, AnswerType.WHO, AnswerType.REASON, AnswerType.DEPARTMENT, AnswerType.YESNO)


def read_turn(q: Query, state: State, names_other: bool) -> Turn:
    """Merge a question with the state. `names_other`: the question names a project by itself
    (a named phrase, or a strong match to a sheet other than the state's)."""
    if not state.about_sheet() and not state.absent:
        return Turn(q)
    if names_other:
        # 「では不法投棄対策事業は？」「じゃあ防犯灯設置事業のほうだと、その年度は？」: another project, and
        # nothing asked of it beyond its name: the same row, in the year under discussion.
        inherit = subjectless(q) or (q.leading and not q.sections and not q.numeric) or (
            not q.sections and q.answer not in _OWN_TOPIC and q.answer is not AnswerType.TOPIC
            and not _has_quantity(q, beyond=q.named))
        if inherit and state.row:  # 「では不法投棄対策事業は？」: the same row, another project
            return Turn(_inherit_figure(q, state), row=state.row, base_year=state.year)
        if inherit and state.asked and q.named:
            # 「北分室のほうは？」 after 「南分室はいつ建てられたの？」: the same question of the other project.
            again = parse(f"{q.named[0]}{state.asked}")
            return Turn(again.with_(municipality=q.municipality or again.municipality, named=q.named))
        # 「では防犯灯設置事業の同じ年度の人件費は？」: its own row, counted from the year under discussion.
        return Turn(q, base_year=state.year if any(y.relative is not None for y in q.years) else None)
    short = len(q.norm) <= 24
    explicit = q.demonstrative or q.leading or subjectless(q) or any(y.relative is not None for y in q.years)
    if not (explicit or short):
        return Turn(q, continues=True)
    new_topic = bool(q.sections) or q.answer in _OWN_TOPIC or q.answer is AnswerType.TOPIC
    if state.numeric and not q.numeric and _ENDS_IN_MEASURE.search(q.norm) and _has_quantity(q):
        # 「支援の対象にした世帯の数は？」 after a figure: another figure of the same sheet, in the
        # year under discussion, whatever section word (対象) it holds.
        q = q.with_(numeric=True, answer=AnswerType.NUMBER, sections=())
        new_topic = False
    own_quantity = q.numeric and (bool(q.tables) or _has_quantity(q))
    if new_topic and not q.numeric:
        return Turn(q, follows=True)
    if own_quantity:
        merged = q if (q.years or not state.years) else q.with_(years=_absolute(state))
        return Turn(merged, follows=True, base_year=state.year)
    m = _MEASURE_ONLY.match(q.norm)
    if m and state.row:
        label = re.sub(r"[｢｣「」『』]", "", _LABEL_MARK.sub("", state.row[1])).strip()
        thing = _LABEL_MEASURE.sub("", label)
        if thing and thing != label and not label.endswith(m.group(1)):
            asked = parse(f"{thing}の{m.group(1)}")
            merged = asked.with_(years=q.years or _absolute(state), numeric=True, answer=AnswerType.NUMBER,
                                 kinds=q.kinds or ((state.kind,) if state.kind else ()))
            return Turn(merged, follows=True, base_year=state.year)
    # 「増えた？」「減った？」 with no year: the change from the year before the one under discussion.
    if state.row and state.year is not None and not q.years and _ASKS_CHANGE.search(q.norm):
        prev = YearRef("前年度", -1, relative=-1)
        merged = _inherit_figure(q.with_(years=(prev,), op=Op.CHANGE), state)
        return Turn(merged, follows=True, row=state.row, base_year=state.year, compare_year=state.year)
    if state.row and not q.years and not q.numeric and not q.kinds and _has_predicate(q):
        # 「申し込みを断った人はいたの？」 after a figure: a question with a verb of its own asks
        # something new about the same sheet; a bare noun (「県の補助は？」) re-asks the figure.
        return Turn(q, follows=True)
    if state.asked and state.section and not state.row and not (q.tables or q.kinds) and not _has_quantity(q):
        # 「R3まではどうだった？」 after an amount quoted from the sheet's sentences: the same
        # sentences are asked, in the year named; the project's cost rows are not.
        return Turn(q.with_(numeric=False, answer=AnswerType.TEXT), follows=True)
    # The same row, other years: 「その前の年度は？」「では令和3年度は？」「令和4年度と比べると？」
    merged = _inherit_figure(q, state) if state.row else q
    compare = state.year if (q.op is Op.COMPARE or (q.years and q.op is Op.CHANGE)) else None
    return Turn(merged, follows=True, row=state.row, base_year=state.year, compare_year=compare)


def _inherit_figure(q: Query, state: State) -> Query:
    years = q.years or _absolute(state)
    kinds = q.kinds or ((state.kind,) if state.kind else ())
    if q.op in (Op.COMPARE, Op.CHANGE, Op.DIFF) and state.kind and q.kinds \
            and len(q.kinds) == sum(1 for y in q.years if y.kind is not None):
        # 「R5決算と比べると」: every kind said is its year's own, so the year under discussion, compared
        # with it, keeps the kind it was asked in (R6決算, not R6予算).
        kinds = (*q.kinds, state.kind)
    return q.with_(numeric=True, answer=AnswerType.NUMBER, kinds=kinds, years=years)


def _absolute(state: State) -> tuple[YearRef, ...]:
    return tuple(YearRef(f"{y}年度", -1, western=y) for y in state.years)


def _has_predicate(q: Query) -> bool:
    """The question's content words hold a verb or adjective (its dictionary form ends in kana), or a
    light verb makes one of a noun (派遣できなかった)."""
    from .match import content_tokens, inflected, light_verbs

    return any(inflected(t) for t in content_tokens(q.tokens)) or any(t in light_verbs() for t in q.tokens)


def _has_quantity(q: Query, beyond: tuple[str, ...] = ()) -> bool:
    """The question names a quantity of its own (人件費は？), beyond years, kinds, asking words and the
    names in `beyond`."""
    from .match import compact, content_tokens

    names = [*beyond, *(compact(n) for n in beyond)]  # compact drops kana: ごみ is in ごみ焼却業務 as written
    # A kind (「R7の計画だと」) or an era's letter (R, H) says which column, not which quantity.
    # A word that is a year of its own (前の年, 翌年度) says which year, not which quantity.
    said = [t for t in content_tokens(q.tokens) if t not in KIND_OF_WORD and t not in ("r", "h") and not find_years(t)]
    return any(not any(t in n for n in names) for t in said)


def after(state: State, **changes: object) -> State:
    return replace(state, **changes)
