"""Answers by evidence on the bundled sample: conversations, wording, ranges, refusals, determinism.

The sample's トータルコスト row (千円): 28年度 332, 29年度 332, 30年度 334, 31年度 323, 32年度(見込) 323.
Its 開始のきっかけ says the 協議会 was founded 平成3年5月20日.
"""

import json
import os
import subprocess
import sys

import pytest

from assistant.messages import Message
from assistant.scoring import has_number
from tests.helpers import SAMPLE_DIR, ingested


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("conv-home")
    store, assistant = ingested(home, [SAMPLE_DIR])
    return home, assistant


def talk(assistant, *turns):
    """Ask each turn with the conversation so far as history, as the chat and --jsonl do."""
    history, answers = [], []
    for text in turns:
        ans = assistant.ask(text, list(history))
        answers.append(ans)
        history += [Message(role="user", content=text), Message(role="assistant", content=ans.answer)]
    return answers


def test_a_figure_then_an_unrelated_question_about_the_same_project(env):
    fig, when = talk(env[1], "平成30年度のトータルコストは？", "この事業はいつ始まったのですか")
    assert fig.status == "answered" and has_number(fig.answer, "334")
    assert when.status == "answered" and "平成3年5月20日" in when.answer
    assert all(c.section != "トータルコスト" for c in when.citations)  # the cost row does not carry over


def test_the_year_walks_back_any_number_of_turns(env):
    answers = talk(env[1], "令和元年度のトータルコストは？", "その前の年度は？", "その前の年は？", "さらに前は？")
    assert [a.citations[0].fiscal_year for a in answers[:3]] == [2019, 2018, 2017]
    assert [has_number(a.answer, v) for a, v in zip(answers[:3], ["323", "334", "332"], strict=True)] == [True] * 3
    assert answers[3].citations[0].fiscal_year == 2016 and has_number(answers[3].answer, "332")


def test_compare_with_the_previous_turn(env):
    _, compared = talk(env[1], "30年度のトータルコストは？", "28年度と比べると？")
    assert compared.status == "answered"
    assert {c.fiscal_year for c in compared.citations} == {2016, 2018}
    assert has_number(compared.answer, "332") and has_number(compared.answer, "334") and has_number(compared.answer, "2")


def test_another_year_keeps_the_row_and_the_subject(env):
    _, other, dept = talk(env[1], "協議会参画事業の平成30年度の人件費は？", "では31年度は？", "その事業の担当は？")
    assert other.status == "answered" and has_number(other.answer, "323")
    assert other.citations[0].label.startswith("人件費")
    assert dept.status == "answered" and "情報政策課" in dept.answer


def test_which_office_a_project_belongs_to_is_its_department(env):
    (a,) = talk(env[1], "情報化の協議会に参加してる事業って、どこの所属？")
    assert a.status == "answered" and "情報政策課" in a.answer


def test_a_project_that_is_not_indexed_is_refused_and_stays_refused(env):
    named, follow = talk(env[1], "不法投棄対策事業の平成30年度のトータルコストは？", "その前の年度は？")
    assert named.status == "not_found" and "不法投棄対策事業" in named.answer
    assert "334" not in named.answer and not named.citations
    assert follow.status == "not_found"


def test_kanji_numerals_and_okurigana(env):
    a = env[1].ask("協議会参画事業の平成三十年度のトータルコストは？")
    assert a.status == "answered" and has_number(a.answer, "334") and a.citations[0].fiscal_year == 2018
    b = env[1].ask("協議会参画事業の32年度見込みの人件費はいくら？")
    assert b.status == "answered" and has_number(b.answer, "323") and b.citations[0].kind == "見込"


def test_a_range_gives_every_year_in_it_the_change_and_the_rate(env):
    a = env[1].ask("協議会参画事業のトータルコストは28年度から32年度見込にかけてどう変わった？")
    assert a.status == "answered"
    # how it moved in between as well as overall; the kind said of the last year is that year's alone
    assert [c.fiscal_year for c in a.citations] == [2016, 2017, 2018, 2019, 2020]
    assert [c.kind for c in a.citations] == ["実績"] * 4 + ["見込"]
    assert has_number(a.answer, "334") and "323 − 332" in a.answer and has_number(a.answer, "-9")
    assert "%" in a.answer


def test_two_years_compared_without_a_range_are_the_two_alone(env):
    a = env[1].ask("協議会参画事業のトータルコスト、28年度と31年度を比べるとどう変わった？")
    assert a.status == "answered" and [c.fiscal_year for c in a.citations] == [2016, 2019]


def test_more_than_the_year_before(env):
    a = env[1].ask("協議会参画事業の30年度のトータルコストは前年度より増えましたか")
    assert a.status == "answered" and [c.fiscal_year for c in a.citations] == [2017, 2018]
    assert "増加" in a.answer and has_number(a.answer, "2")


def test_a_quantity_the_sheet_lacks_is_refused_with_what_it_has(env):
    a = env[1].ask("協議会参画事業のセミナー参加者数は平成29年度に何人でしたか")
    assert a.status == "not_found"
    assert "各種事業の開催・参加回数" in a.answer  # an indicator of the sheet, not only its sections


def test_a_named_source_of_funds_is_its_own_row(env):
    a = env[1].ask("協議会参画事業の30年度の国からの補助金はいくら？")
    assert a.status == "answered" and a.citations[0].label == "国庫支出金"


def test_topic_question_names_the_sheet(env):
    a = env[1].ask("自治体クラウドや電子自治体の推進に取り組んでいる事業はありますか")
    assert a.status == "answered"
    assert a.citations[0].project_name == "栃木県市町村情報化推進協議会参画事業"
    # One project found: the answer also says what it does, quoting its 事業概要.
    assert any(c.section == "事業概要" and c.quote and c.quote in a.answer for c in a.citations)


def test_explain_shows_the_parts_of_the_score(env):
    text = env[1].explain("協議会参画事業の平成30年度のトータルコストは？")
    assert "row" in text and "label=" in text and text.rstrip().splitlines()[-1].startswith("=> answered")


QUESTIONS = ["協議会参画事業の平成30年度のトータルコストは？", "この事業はいつ始まったのですか", "関係者の意見は？",
             "協議会参画事業のトータルコストの推移", "事業の目的は何ですか", "市長の趣味は何ですか"]


def _answers_in_a_process(home, seed: str) -> list[dict]:
    lines = "\n".join(json.dumps({"id": i, "question": q}, ensure_ascii=False) for i, q in enumerate(QUESTIONS))
    env = {**os.environ, "HYOKA_HOME": str(home), "PYTHONHASHSEED": seed}
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "--jsonl"], input=lines,
                         capture_output=True, text=True, check=True, env=env)
    return [json.loads(x) for x in out.stdout.splitlines()]


@pytest.mark.slow
def test_same_question_same_answer_in_every_process(env):
    first, second = _answers_in_a_process(env[0], "1"), _answers_in_a_process(env[0], "4242")
    assert first == second
    assert [a["status"] for a in first] == ["answered"] * 5 + ["not_found"]


def test_another_measure_of_the_same_thing_and_one_the_sheet_lacks(tmp_path_factory):
    """「金額だと？」 after a count asks for the same thing's amount (a row of its own); a measure no
    row gives (「割合だと？」) is refused, not answered with the row before."""
    folder = tmp_path_factory.mktemp("measures")
    text = (SAMPLE_DIR / "tochigi-joho-kyogikai.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("ア\t各種事業の開催・参加回数"))
    lines[at + 1] = "イ\t寄附件数\t件\t10\t12\t14\t16\t18\t"
    lines[at + 2] = "ウ\t寄附金額\t千円\t100\t120\t140\t160\t180\t"
    (folder / "sheet.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, assistant = ingested(tmp_path_factory.mktemp("measures-home"), [folder])
    count, amount, back = talk(assistant, "平成30年度の寄附件数は？", "金額だと？", "件数は？")
    assert count.citations[0].label.endswith("寄附件数") and has_number(count.answer, "14")
    assert amount.status == "answered" and amount.citations[0].label.endswith("寄附金額")
    assert has_number(amount.answer, "140") and amount.citations[0].fiscal_year == 2018
    assert back.citations[0].label.endswith("寄附件数") and has_number(back.answer, "14")
    _, share = talk(assistant, "平成30年度の寄附件数は？", "割合だと？")
    assert share.status != "answered" or not any(c.label.endswith(("寄附件数", "寄附金額")) for c in share.citations)


def test_one_more_year_back_in_words(env):
    answers = talk(env[1], "令和元年度のトータルコストは？", "その前の年は？", "もう一年さかのぼると？")
    assert [a.citations[0].fiscal_year for a in answers] == [2019, 2018, 2017]
    assert has_number(answers[2].answer, "332")


def test_compared_with_the_year_before_on_its_own_is_the_latest_result(env):
    """「前年度と比べて増えた？」 with nothing before it: the latest year with a result (31年度実績,
    not 32年度見込) against the year before, on one kind."""
    (ans,) = talk(env[1], "トータルコストは前年度と比べて増えた？")
    assert ans.status == "answered"
    assert [(c.fiscal_year, c.kind) for c in ans.citations] == [(2018, "実績"), (2019, "実績")]
    assert has_number(ans.answer, "334") and has_number(ans.answer, "323") and "減少" in ans.answer


def test_a_follow_up_with_its_own_verb_is_not_the_figure_again(env):
    fig, more = talk(env[1], "平成30年度のトータルコストは？", "セキュリティクラウドの調整もやっているの？")
    assert fig.status == "answered" and has_number(fig.answer, "334")
    # a question of its own about the same sheet: its text, or a plain "not written", never the cost row again
    assert not has_number(more.answer, "334") and all(c.section != "トータルコスト" for c in more.citations)
    assert more.status == "not_found" or "セキュリティクラウド" in more.answer


def test_a_sum_over_a_range_of_years_counts_every_year_in_it(env):
    (ans,) = talk(env[1], "28年度から30年度までのトータルコストを合計すると？")
    assert ans.status == "answered" and has_number(ans.answer, "998")   # 332 + 332 + 334
    assert len(ans.citations) == 3


def test_a_difference_reads_from_the_earlier_year_to_the_later(env):
    (ans,) = talk(env[1], "31年度のトータルコストは28年度よりいくら少ない？")
    assert ans.status == "answered" and "323 − 332" in ans.answer and "9千円の減少" in ans.answer


def test_two_rows_of_one_year_summed_and_shared(env):
    total, share = talk(env[1], "平成30年度の事業費計と人件費計を足すといくら？")[0], \
        talk(env[1], "30年度のトータルコストのうち人件費計は何％？")[0]
    assert total.status == "answered" and has_number(total.answer, "334")
    assert {c.label for c in total.citations} >= {"事業費計(A)", "人件費計(B)"}
    assert share.status == "answered" and "100.0%" in share.answer


def test_a_follow_up_ending_in_a_measure_asks_a_figure_even_with_a_section_word(env):
    # 対象 names a section of the form, but 「…の数は？」 after a figure asks for the 対象指標 row
    fig, count = talk(env[1], "平成30年度のトータルコストは？", "対象の参加市町村の数は？")
    assert fig.status == "answered" and has_number(fig.answer, "334")
    assert count.status == "answered" and has_number(count.answer, "26")
    assert any(c.label.endswith("参加市町村の数（事務局含む）") for c in count.citations)


def test_a_city_whose_sheets_are_not_indexed_is_refused_not_answered_from_another(env):
    (a,) = talk(env[1], "浜松市の協議会参画事業の30年度のトータルコストは？")
    assert a.status == "not_found" and "浜松市" in a.answer and not has_number(a.answer, "334")


@pytest.fixture(scope="module")
def two_districts(tmp_path_factory):
    """The sample as two sheets of one project run in two districts, with different costs."""
    folder = tmp_path_factory.mktemp("districts")
    text = (SAMPLE_DIR / "tochigi-joho-kyogikai.txt").read_text(encoding="utf-8")
    old = "栃木県市町村情報化推進協議会参画事業"
    east = text.replace(old, "地域情報化推進事業（東部地区）")
    west = text.replace(old, "地域情報化推進事業（西部地区）").replace(
        "トータルコスト(A)+(B)\t\t千円\t332\t332\t334\t323\t323", "トータルコスト(A)+(B)\t\t千円\t500\t510\t520\t530\t540"
    ).replace("平成3年5月20日", "平成9年4月1日")
    assert "520" in west and "平成9年4月1日" in west
    (folder / "east.txt").write_text(east, encoding="utf-8")
    (folder / "west.txt").write_text(west, encoding="utf-8")
    _, assistant = ingested(tmp_path_factory.mktemp("districts-home"), [folder])
    return assistant


def test_the_other_one_of_a_pair_asks_the_same_figure_of_it(two_districts):
    """「西部地区のほうは？」 after a figure of the 東部地区 sheet asks the same row and year of the
    sheet whose name holds 西部地区; 「それなら…のほうだと、同じ年度でいくら？」 too, naming it whole; a row of
    its own (「…の同じ年度の人件費計は？」) is read in the year under discussion."""
    first, other = talk(two_districts, "地域情報化推進事業（東部地区）の平成30年度のトータルコストは？", "西部地区のほうは？")
    assert has_number(first.answer, "334") and "東部地区" in first.citations[0].project_name
    assert other.status == "answered" and "西部地区" in other.citations[0].project_name
    assert has_number(other.answer, "520") and other.citations[0].fiscal_year == 2018
    _, named = talk(two_districts, "地域情報化推進事業（東部地区）の平成30年度のトータルコストは？",
                    "それなら地域情報化推進事業（西部地区）のほうだと、同じ年度でいくら？")
    assert "西部地区" in named.citations[0].project_name and has_number(named.answer, "520")
    assert [c.fiscal_year for c in named.citations] == [2018]
    _, own_row = talk(two_districts, "地域情報化推進事業（西部地区）の平成30年度のトータルコストは？",
                      "では地域情報化推進事業（東部地区）の同じ年度の人件費計は？")
    assert "東部地区" in own_row.citations[0].project_name and own_row.citations[0].label.endswith("人件費計(B)")
    assert has_number(own_row.answer, "334") and [c.fiscal_year for c in own_row.citations] == [2018]


def test_the_other_one_of_a_pair_is_asked_the_same_question_about_its_text(two_districts):
    """「西部地区のほうは？」 after a question answered from a section (when the 協議会 was founded) asks
    the same of the other sheet, and its own date answers, not the first sheet's."""
    first, other = talk(two_districts, "地域情報化推進事業（東部地区）はいつ設立されたの？", "西部地区のほうは？")
    assert "平成3年5月20日" in first.answer and "東部地区" in first.citations[0].project_name
    assert other.status == "answered" and "西部地区" in other.citations[0].project_name
    assert "平成9年4月1日" in other.answer and "平成3年5月20日" not in other.answer
    # 「じゃあ西部地区は…」: an opener brings up the other one, with a question of its own
    _, brought = talk(two_districts, "地域情報化推進事業（東部地区）はいつ設立されたの？", "じゃあ西部地区はどんな経緯で始まった？")
    assert brought.status == "answered" and "西部地区" in brought.citations[0].project_name
    assert "平成9年4月1日" in brought.answer


def test_a_row_of_the_sheet_under_discussion_is_not_another_project(two_districts):
    """「トータルコストのほうは？」 sets a row against the figure asked, not another sheet."""
    _, row = talk(two_districts, "地域情報化推進事業（西部地区）の平成30年度の人件費は？", "トータルコストのほうは？")
    assert row.status == "answered" and "西部地区" in row.citations[0].project_name
    assert has_number(row.answer, "520")


def test_why_a_project_named_alone_is_answered_from_where_it_began_or_what_it_is_for(env):
    (why,) = talk(env[1], "市町村情報化推進協議会参画事業って、なんでやってるの？")
    assert why.status == "answered"
    assert {c.section for c in why.citations} & {"開始のきっかけ", "目的・意図", "事業概要"}


def test_a_follow_up_that_names_only_a_year_and_its_kind_keeps_the_row(env):
    first, then = talk(env[1], "協議会参画事業の平成30年度の人件費は？", "R2の見込だとどれくらい？")
    assert first.citations[0].label.startswith("人件費")
    assert then.status == "answered" and then.citations[0].label.startswith("人件費")
    assert then.citations[0].fiscal_year == 2020


def test_a_figure_of_a_subject_no_sheet_mentions_is_refused_not_taken_from_a_look_alike_row(env):
    (airport,) = talk(env[1], "空港ターミナルの清掃、平成30年度の人件費は？")
    assert airport.status == "not_found" and "空港" in airport.answer
    (own,) = talk(env[1], "協議会の平成30年度の人件費は？")  # a word the sheet holds: answered
    assert own.status == "answered" and own.citations[0].label.startswith("人件費")


@pytest.fixture(scope="module")
def four_towns(tmp_path_factory):
    """The sample as four sheets: three of 北町 (two districts of one project, and another project whose
    name ends alike) and one of 南町 under the first project's name."""
    folder = tmp_path_factory.mktemp("four")
    text = (SAMPLE_DIR / "tochigi-joho-kyogikai.txt").read_text(encoding="utf-8")
    old = "栃木県市町村情報化推進協議会参画事業"
    for file, town, name in (("e.txt", "北町", "電子窓口推進事業（東部地区）"), ("w.txt", "北町", "電子窓口推進事業（西部地区）"),
                             ("k.txt", "北町", "観光振興推進事業"), ("n.txt", "南町", "電子窓口推進事業（北部地区）")):
        (folder / file).write_text(f"自治体名\t{town}\n" + text.replace(old, name), encoding="utf-8")
    _, assistant = ingested(tmp_path_factory.mktemp("four-home"), [folder])
    return assistant


def test_the_sheets_of_a_name_qualified_by_the_words_before_it_in_the_town_asked(four_towns):
    """「電子窓口の推進事業」 is the name 電子窓口推進事業, not every 推進事業; 北町's, not 南町's."""
    (a,) = talk(four_towns, "北町の電子窓口の推進事業って、どの地区の分のシートがある？")
    assert a.status == "answered"
    assert {c.project_name for c in a.citations} == {"電子窓口推進事業（東部地区）", "電子窓口推進事業（西部地区）"}
    assert "観光振興推進事業" not in a.answer and "北部地区" not in a.answer


@pytest.fixture(scope="module")
def grant(tmp_path_factory):
    """The sample as a grant whose overview says what each family receives, and what it was before."""
    folder = tmp_path_factory.mktemp("grant")
    text = (SAMPLE_DIR / "tochigi-joho-kyogikai.txt").read_text(encoding="utf-8")
    overview = next(line for line in text.splitlines() if line.startswith("事業概要\t"))
    text = text.replace("栃木県市町村情報化推進協議会参画事業", "子育て応援給付事業").replace(
        overview, "事業概要\t出生した子１人につき商品券を支給する。支給額は１人につき２万円（平成30年度までは１万円）。"
        "商品券の発行は地元の商工会議所に委託している。")
    (folder / "grant.txt").write_text(text, encoding="utf-8")
    _, assistant = ingested(tmp_path_factory.mktemp("grant-home"), [folder])
    return assistant


def test_what_one_receives_is_the_sum_the_sheet_writes_and_a_follow_up_asks_it_in_another_year(grant):
    """「いくらもらえる」 asks what a family receives, not what the project costs; 「H30までは？」 then asks
    the same sentences in that year, not the cost rows."""
    now, before = talk(grant, "子育て応援給付事業っていくらもらえる？", "H30まではいくらだったの？")
    assert now.status == "answered" and "２万円" in now.answer
    assert all(c.section == "事業概要" for c in now.citations)
    assert before.status == "answered" and "１万円" in before.answer
    assert not has_number(before.answer, "334")  # the H30 トータルコスト


def test_a_project_described_but_not_indexed_is_refused_not_a_list_of_the_town_nor_the_last_figure(four_towns):
    """「北町の森林保全の事業は」 asks of one project (its 事業 follows its description, not the town's
    name): not 北町's list; 「じゃあ…の事業は？」 after a figure is that project, not the same row."""
    (alone,) = talk(four_towns, "北町の森林保全の事業はどうなってる？")
    assert alone.status == "not_found" and "で絞り込み" not in alone.answer
    fig, other = talk(four_towns, "北町の電子窓口推進事業（東部地区）の平成30年度のトータルコストは？",
                      "じゃあ北町の森林保全の事業はどうなってる？")
    assert has_number(fig.answer, "334")
    assert other.status == "not_found" and "森林保全の事業" in other.answer and not has_number(other.answer, "334")


def test_a_cue_for_a_section_the_form_lacks_is_found_in_the_sections_it_has(grant):
    """The form has no 実施形態 field for 「委託先は」 to point at; its overview says who does the work."""
    (a,) = talk(grant, "子育て応援給付事業はどこに委託してるの？")
    assert a.status == "answered" and "商工会議所" in a.answer


def test_a_kind_said_with_the_year_compared_is_not_the_kind_of_the_year_discussed():
    """「令和3年度の決算と比較したら」 after R6's budget: R3 is read in 決算, R6 keeps its own column; inside a
    range said with one kind at both ends, every year takes it."""
    from assistant.query import parse
    from assistant.render import _kinds_per_year
    from ingest.records import Kind

    assert _kinds_per_year(parse("令和3年度の決算と比較したら？"), [2021, 2024]) == [(2021, Kind.SETTLED), (2024, None)]
    assert _kinds_per_year(parse("R1決算からR3決算の動きは？"), [2019, 2020, 2021]) == [
        (2019, Kind.SETTLED), (2020, Kind.SETTLED), (2021, Kind.SETTLED)]


def test_a_count_asked_of_a_year_is_not_answered_by_a_sentence_of_another_year(tmp_path):
    """「31年度の研修の実績は何件？」: a sentence counting 研修 in 29年度 is another year's figure, even in
    the section the question names (実績); the sheet has no such figure, so it says so."""
    text = (SAMPLE_DIR / "tochigi-joho-kyogikai.txt").read_text("utf-8")
    text = text.replace("① 手段（主な活動） 31年度実績 ", "① 手段（主な活動） 31年度実績 ・平成29年度は職員研修を12件開催した。 ", 1)
    (tmp_path / "src").mkdir()
    (tmp_path / "src/sheet.txt").write_text(text, encoding="utf-8")
    _, assistant = ingested(tmp_path / "home", [tmp_path / "src"])
    ans = assistant.ask("平成31年度の職員研修の実績は何件？")
    assert not (ans.status == "answered" and has_number(ans.answer, "12"))
    said = assistant.ask("平成29年度の職員研修の実績は何件？")  # the year the sentence speaks of
    assert said.status == "answered" and has_number(said.answer, "12")


def test_a_sheet_holding_none_of_the_questions_words_does_not_answer_it(env):
    """「公園の遊具はいつ始まった？」: the sample's 開始のきっかけ is the section asked and holds a date, but
    the sheet says nothing of 公園 or 遊具 anywhere; answering would be another project's history."""
    ans = env[1].ask("公園の遊具はいつ始まった？")
    assert ans.status == "not_found"
    assert env[1].ask("この協議会はいつ始まった？").status == "answered"  # its own words: answered


def test_a_year_glossed_in_brackets_after_the_year_before_is_the_year_compared_in_its_kind():
    """「前の年（R3決算）と比べると？」 after R4's 決算: the bracket says which year 前の年 is, so one year is
    asked; the year under discussion keeps the kind it was asked in, and the turn compares the two."""
    from assistant.query import parse
    from assistant.state import State, read_turn
    from ingest.records import Kind, Table

    q = parse("前の年（R3決算）と比べて、どう？")
    assert [y.western for y in q.years] == [2021]
    state = State(sheet_id="s", project="某事業", row=(Table.COST, "事業費"), year=2022, years=(2022,),
                  kind=Kind.SETTLED, numeric=True)
    turn = read_turn(q, state, names_other=False)
    assert turn.row == (Table.COST, "事業費") and turn.compare_year == 2022
    assert Kind.SETTLED in turn.query.kinds[1:]  # the kind of the year compared with, besides R3's own
