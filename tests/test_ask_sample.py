"""Answers on the sample, through a real Chroma store and the bundled e5 embeddings."""

import json
import re
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.messages import Message
from assistant.scoring import has_number
from tests.helpers import SAMPLE_DIR, ingested

NAME = "栃木県市町村情報化推進協議会参画事業"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("ask-home")
    store, assistant = ingested(home, [SAMPLE_DIR])
    return home, store, assistant


def test_figure_answer_states_value_unit_year_and_kind(env):
    _, _, a = env
    ans = a.ask("栃木県市町村情報化推進協議会参画事業の平成30年度のトータルコストは？")
    assert ans.status == "answered"
    assert has_number(ans.answer, "334") and "千円" in ans.answer and "30年度" in ans.answer and "実績" in ans.answer
    [c] = ans.citations
    assert (c.project_name, c.section, c.fiscal_year, c.value, c.unit, c.kind) == (
        NAME, "トータルコスト", 2018, "334", "千円", "実績")
    assert c.source.startswith("tochigi-joho-kyogikai.txt#")
    assert "[1]" in ans.answer


def test_western_year_finds_the_wareki_column(env):
    ans = env[2].ask("2019年度の協議会参画事業の人件費はいくらですか")
    assert ans.status == "answered" and has_number(ans.answer, "323")
    assert ans.citations[0].fiscal_year == 2019


def test_narrative_answer_quotes_the_section(env):
    ans = env[2].ask("この事業はいつ始まったのですか")
    assert ans.status == "answered"
    assert "平成3年5月20日" in ans.answer
    assert any(c.section == "開始のきっかけ" and "平成3年5月20日" in c.quote for c in ans.citations)


def test_blank_cell_is_refused_not_zero(env):
    ans = env[2].ask("協議会参画事業の上位成果指標（通信利用動向調査人口普及率）の31年度の値は？")
    assert ans.status == "not_found"
    assert "空欄" in ans.answer


def test_missing_year_is_refused_and_says_what_the_sheet_has(env):
    ans = env[2].ask("協議会参画事業の令和6年度のトータルコストは？")
    assert ans.status == "not_found"
    assert "28年度" in ans.answer  # says which years the row does have


def test_unrelated_question_is_refused(env):
    assert env[2].ask("市長の趣味は何ですか").status == "not_found"


def test_follow_up_takes_subject_and_year_from_history(env):
    history = [Message(role="user", content="協議会参画事業の平成30年度のトータルコストは？"),
               Message(role="assistant", content="334千円です。")]
    prev = env[2].ask("その前の年度は？", history)
    assert prev.status == "answered" and prev.citations[0].fiscal_year == 2017
    other = env[2].ask("では31年度は？", history)
    assert other.status == "answered" and has_number(other.answer, "323")
    dept = env[2].ask("その事業の担当は？", history)
    assert dept.status == "answered" and "情報政策課" in dept.answer


def test_derived_answer_shows_cells_and_arithmetic(env):
    ans = env[2].ask("協議会参画事業のトータルコストは28年度と31年度でどれだけ違いますか")
    assert ans.status == "answered" and len(ans.citations) == 2
    assert has_number(ans.answer, "332") and has_number(ans.answer, "323") and has_number(ans.answer, "9")


# --- the figure guard, as a property over many questions --------------------------------------------
_NUM = re.compile(r"\d+(?:\.\d+)?")


def _numbers(text: str) -> set[str]:
    t = unicodedata.normalize("NFKC", text)
    t = re.sub(r"\[\d+\]", " ", t)
    return {n.lstrip("0") or "0" for n in _NUM.findall(re.sub(r"(?<=\d),(?=\d{3})", "", t))}


def _allowed(ans) -> set[str]:
    ok: set[str] = set()
    for c in ans.citations:
        blob = " ".join(str(x) for x in (c.quote, c.value, c.label, c.fiscal_year_label, c.fiscal_year,
                                         c.project_name, c.section, c.unit))
        ok |= _numbers(blob)
    values = [float(c.value.replace(",", "")) for c in ans.citations if re.fullmatch(r"[\d,.]+", c.value or "")]
    for x in values:  # a derived answer may show arithmetic over its cited cells
        for y in values:
            for r in (x - y, x + y, abs(x - y)):
                ok |= _numbers(f"{r:g}")
            if y:
                ok |= _numbers(f"{(x - y) / y * 100:.1f}")
    return ok


TEMPLATES = ["協議会参画事業の{y}の{r}は？", "{y}の協議会参画事業の{r}はいくら", "協議会参画事業の{r}は{y}と{y2}でどれだけ違う",
             "協議会参画事業の{r}の推移は", "{r}は{y}にどうだった（協議会参画事業）"]
ROWS = ["トータルコスト", "人件費", "事業費", "各種事業の開催・参加回数", "情報化担当職員数", "参加市町村の数",
        "延べ業務時間", "普及率", "実施率", "市長の給与"]
YEARS = ["28年度", "平成29年度", "2018年度", "令和元年度", "31年度", "令和2年度", "令和5年度", "R3"]


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(t=st.sampled_from(TEMPLATES), r=st.sampled_from(ROWS), y=st.sampled_from(YEARS), y2=st.sampled_from(YEARS))
def test_no_number_in_an_answer_that_no_cited_record_holds(env, t, r, y, y2):
    q = t.format(r=r, y=y, y2=y2)
    ans = env[2].ask(q)
    extra = _numbers(ans.answer) - _allowed(ans)
    assert not extra, f"{q} -> {ans.answer} has {extra} not in its citations"


@pytest.mark.slow
def test_ask_jsonl_contract(env):
    home, _, _ = env
    lines = [{"id": "a", "question": "協議会参画事業の平成30年度のトータルコストは？"},
             {"id": 7, "question": "その前の年度は？",
              "history": [{"role": "user", "content": "協議会参画事業の平成30年度のトータルコストは？"}]},
             {"id": "z", "question": "市長の趣味は？"}]
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "--jsonl"], input="\n".join(
        json.dumps(x, ensure_ascii=False) for x in lines), capture_output=True, text=True, check=True,
        env={"HYOKA_HOME": str(home), "PATH": ""})
    got = [json.loads(x) for x in out.stdout.splitlines()]
    assert [g["id"] for g in got] == ["a", 7, "z"]
    assert [g["status"] for g in got] == ["answered", "answered", "not_found"]
    c = got[0]["citations"][0]
    assert set(c) == {"n", "project_name", "municipality", "section", "label", "fiscal_year", "fiscal_year_label",
                      "kind", "value", "unit", "quote", "source"}
    assert (c["n"], c["fiscal_year"], c["value"], c["unit"]) == (1, 2018, "334", "千円")


def test_section_and_table_filters_narrow_the_answer(env):
    from vectorstore.store import Filters

    a = env[2]
    ans = a.ask("協議会参画事業について教えて", filters=Filters(section="関係者・市民意見"))
    assert ans.status == "answered" and {c.section for c in ans.citations} == {"関係者・市民意見"}
    fig = a.ask("協議会参画事業の30年度の値は？", filters=Filters(table="活動指標"))
    assert fig.status == "answered" and fig.citations[0].section == "活動指標" and "11" in fig.answer
    none = a.ask("協議会参画事業の30年度のトータルコストは？", filters=Filters(municipality="存在しない市"))
    assert none.status == "not_found"


def test_two_sheets_that_answer_equally_are_both_shown(tmp_path_factory):
    """Two projects whose sheets say the same about the question: the answer names both."""
    from tests.helpers import BigramEmbeddings

    folder = tmp_path_factory.mktemp("twins")
    text = (SAMPLE_DIR / "tochigi-joho-kyogikai.txt").read_text(encoding="utf-8")
    (folder / "a.txt").write_text(text.replace(NAME, "北地区情報化推進協議会参画事業", 1), encoding="utf-8")
    (folder / "b.txt").write_text(text.replace(NAME, "南地区情報化推進協議会参画事業", 1), encoding="utf-8")
    _, assistant = ingested(tmp_path_factory.mktemp("home"), [folder], BigramEmbeddings(), model="bigram")
    ans = assistant.ask("情報化推進協議会参画事業の関係者からの意見は？")
    assert ans.status == "answered"
    assert {c.project_name for c in ans.citations} == {"北地区情報化推進協議会参画事業", "南地区情報化推進協議会参画事業"}
    assert "複数のシート" in ans.answer


def test_a_name_spelled_whole_is_that_project_not_a_longer_one_holding_it(tmp_path_factory):
    """「ふるさと…事業」 asks about that project; 「広域ふるさと…事業」 is another one, with other figures.
    Kana inside a name (ふるさと) and a word after 事業 (…事業補助) belong to the name."""
    from tests.helpers import BigramEmbeddings

    folder = tmp_path_factory.mktemp("holders")
    text = (SAMPLE_DIR / "tochigi-joho-kyogikai.txt").read_text(encoding="utf-8")
    short, longer, tail = "ふるさと情報化推進事業", "広域ふるさと情報化推進事業", "ふるさと情報化推進事業補助"
    (folder / "a.txt").write_text(text.replace(NAME, short, 1), encoding="utf-8")
    (folder / "b.txt").write_text(text.replace(NAME, longer, 1).replace("334", "777"), encoding="utf-8")
    (folder / "c.txt").write_text(text.replace(NAME, tail, 1).replace("334", "555"), encoding="utf-8")
    _, assistant = ingested(tmp_path_factory.mktemp("home"), [folder], BigramEmbeddings(), model="bigram")
    for name, value in ((short, "334"), (longer, "777"), (tail, "555")):
        ans = assistant.ask(f"{name}の平成30年度のトータルコストは？")
        assert ans.status == "answered", (name, ans.answer)
        assert {c.project_name for c in ans.citations} == {name}, (name, ans.answer)
        assert has_number(ans.answer, value)


def test_cost_per_head_divides_two_cited_cells_of_one_year(env):
    ans = env[2].ask("平成30年度、情報化担当職員1人あたりのトータルコストはいくら？（円未満四捨五入）")
    assert ans.status == "answered" and ans.intent == "derived"
    assert "334 ÷ 145" in ans.answer and has_number(ans.answer, "2303")  # 334千円 / 145人, in 円
    assert {(c.section, c.value, c.fiscal_year) for c in ans.citations} >= {
        ("トータルコスト", "334", 2018), ("対象指標", "145", 2018)}


def test_one_year_said_twice_in_a_division_is_one_year(env):
    """「H30のトータルコストをH30の職員数で割ると」: the same year said of each figure is one year asked."""
    ans = env[2].ask("平成30年度のトータルコストを平成30年度の情報化担当職員数で割ると、1人あたりいくら？")
    assert ans.status == "answered" and ans.intent == "derived"
    assert "334 ÷ 145" in ans.answer and has_number(ans.answer, "2303")
    assert "約0" not in ans.answer  # a rounding to nothing is not shown


def test_per_head_of_something_the_sheet_does_not_count_is_not_divided(env):
    ans = env[2].ask("協議会参画事業の平成30年度の市民1人あたりのコストは？")
    assert "÷" not in ans.answer
    assert not has_number(ans.answer, "2303")


def test_a_share_asked_of_an_amount_is_not_answered_with_the_amount(env):
    ans = env[2].ask("協議会参画事業の平成30年度のトータルコストは何％？")
    assert ans.status == "not_found"
    assert "割合" in ans.answer and has_number(ans.answer, "334")  # the figure found is shown, not passed off
