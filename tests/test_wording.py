"""Everyday wording read the way the forms mean it: units said aloud, section cues in plain words,
topics asked by what a project does, follow-ups that ask something new. Unit tests: no store."""

import pytest

from assistant.core import _pick
from assistant.evidence import Scored, same_unit
from assistant.query import AnswerType, parse
from assistant.state import State, read_turn
from ingest.records import Section, Table


@pytest.mark.parametrize(("unit", "said"), [
    ("ｔ", "トン"), ("t", "トン"), ("kg", "キロ"), ("km", "キロ"), ("kg/年", "キロ"), ("㎡", "平方メートル"),
    ("人", "名"), ("箇所", "か所"), ("世帯", "世帯"), ("千円", "円"),
])
def test_a_unit_said_aloud_is_the_unit_printed(unit, said):
    assert same_unit(unit, said)


@pytest.mark.parametrize(("unit", "said"), [("件", "人"), ("m", "キロ"), ("千円", "人"), ("", "件")])
def test_a_different_unit_is_not_the_one_asked(unit, said):
    assert not same_unit(unit, said)


@pytest.mark.parametrize(("question", "counter"), [
    ("令和5年度の回収量は何トン？", "トン"),
    ("回収した古紙は何キロ？", "キロ"),
    ("配った冊子は何万部？", "部"),
    ("街路灯は何灯ある？", "灯"),
])
def test_how_many_in_a_unit_asks_for_a_figure_in_it(question, counter):
    q = parse(question)
    assert q.numeric and q.counter == counter


@pytest.mark.parametrize(("question", "section"), [
    ("住民からどんなお願いがあった？", Section.OPINIONS),
    ("料金に不満はある？", Section.OPINIONS),
    ("この先は続けるの？", Section.DIRECTION),
    ("将来はどうなる予定？", Section.DIRECTION),
    ("利用が伸びない原因は？", Section.ISSUES),
    ("うまくいっていないところはある？", Section.ISSUES),
    ("この仕組みができたのはいつ？", Section.ORIGIN),
])
def test_a_section_asked_for_in_plain_words(question, section):
    q = parse(question)
    assert q.sections and q.sections[0] == (section, 1.0)


@pytest.mark.parametrize("question", [
    "古紙を回収している事業はどれ？",
    "空き家の相談を受け付けている事業は？",
    "高齢者の見守りをしている制度はある？",
])
def test_which_project_does_something_asks_for_a_topic(question):
    assert parse(question).answer is AnswerType.TOPIC


def test_a_follow_up_with_a_verb_of_its_own_leaves_the_figure():
    state = State(sheet_id="s1", project="某事業", row=(Table.COST, "事業費"), year=2024, years=(2024,), numeric=True)
    new = read_turn(parse("申し込みを断った人はいたの？"), state, names_other=False)
    assert new.follows and new.row is None and not new.query.numeric
    same = read_turn(parse("その前の年度は？"), state, names_other=False)
    assert same.follows and same.row == (Table.COST, "事業費") and same.query.numeric


@pytest.mark.parametrize(("question", "word"), [
    ("説明会を夜にやるようになったのはなぜ？", "夜"),
    ("この窓口で相談できる内容は？", "相談"),
])
def test_a_light_verb_is_not_a_word_a_passage_must_hold(question, word):
    from assistant.evidence import asked_tokens

    asked = asked_tokens(parse(question), "某事業", "某市")
    assert word in asked and not any(t in asked for t in ("遣る", "やる", "出来る", "できる"))


def test_a_follow_up_whose_verb_is_a_noun_and_a_light_verb_asks_something_new():
    state = State(sheet_id="s1", project="某事業", row=(Table.COST, "事業費"), year=2024, years=(2024,), numeric=True)
    new = read_turn(parse("派遣できなかった先はあったの？"), state, names_other=False)
    assert new.follows and new.row is None and not new.query.numeric


def _scored(score: float, i: int) -> Scored:
    from ingest.units import Unit, UnitKind

    unit = Unit(unit_id=f"u{i}", sheet_id="s1", record_id=f"r{i}", kind=UnitKind.PASSAGE, text=f"文{i}。",
                section=Section.OVERVIEW, label="事業概要")
    return Scored(unit, score)


def test_a_narrative_answer_quotes_the_passages_that_answer_nearly_as_well():
    ps = [_scored(s, i) for i, s in enumerate((0.8, 0.7, 0.5, 0.45, 0.4))]
    assert [p.score for p in _pick(ps)] == [0.8, 0.7, 0.5]      # three at most, each >= 0.6 of the best
    assert [p.score for p in _pick([ps[0], ps[4]])] == [0.8]     # 0.4 < 0.48: not shown


@pytest.mark.parametrize(("label", "table", "total"), [
    ("事業費計(A)", "事業費", True), ("合計（A）", "トータルコスト", True), ("事業費 A", "事業費", True),
    ("歳出", "事業費", True), ("負担金 【介護保険特別会計】", "事業費", False), ("委託料", "事業費", False),
])
def test_a_cost_tables_total_row(label, table, total):
    from assistant.match import is_total

    assert is_total(label, table) is total
