"""Everyday wording read the way the forms mean it: units said aloud, section cues in plain words,
topics asked by what a project does, follow-ups that ask something new. Unit tests: no store."""

import pytest

from assistant.core import _figure_not_in, _pick
from assistant.evidence import Scored, same_unit, unit_in_label
from assistant.match import content_tokens
from assistant.query import AnswerType, Op, other_city, parse
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
    ("市が清掃船の運航をすることになったのはどうして？", Section.ORIGIN),
    ("この講座をやることになったわけは？", Section.ORIGIN),
    ("この窓口って何をしてるの？", Section.OVERVIEW),
    ("以前は誰が使えたの？", Section.CHANGES),
    ("昨年度は何をしたの？", Section.ACTIVITIES),
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
    new = read_turn(parse("受け入れできなかった人はいたの？"), state, names_other=False)
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


def _cut(text: str) -> list[str]:
    from ingest.records import NarrativeRecord
    from ingest.units import passages_of

    rec = NarrativeRecord(record_id="r", sheet_id="s", section=Section.ISSUES, label="課題", text=text)
    return [text[a:b].strip() for a, b in passages_of(rec)]


def test_a_middle_dot_inside_a_sentence_joins_nouns_and_cuts_nothing():
    text = "駅周辺の観光地区での取組は予定どおり順調に進んだ一方、文化遺産・商店街の取組は課題への対応に時間を要し想定を下回った。"
    assert _cut(text) == [text]


def test_a_middle_dot_that_opens_a_line_or_follows_a_sentence_is_a_bullet():
    text = "・利用者から窓口の時間延長を求める声が寄せられている。・駐車場が狭く、休日や催しのある日は満車になることが多い。\n・施設の老朽化が進み、修繕費が年々増えている。"
    assert _cut(text) == ["・利用者から窓口の時間延長を求める声が寄せられている。", "・駐車場が狭く、休日や催しのある日は満車になることが多い。",
                          "・施設の老朽化が進み、修繕費が年々増えている。"]


def test_a_quote_held_by_another_shown_is_not_repeated():
    from assistant import render
    from ingest.records import NarrativeRecord, ParsedSheet, Sheet
    from ingest.units import Unit, UnitKind

    long = "初年度は支援制度を創設した。結果として、拠点の取組は予定どおり進んだ一方、商店街の取組は想定を下回った。" * 6
    short = "結果として、拠点の取組は予定どおり進んだ一方、商店街の取組は想定を下回った。"
    recs = [NarrativeRecord(record_id="a", sheet_id="s", section=Section.EVALUATION, label="評価", text=short),
            NarrativeRecord(record_id="b", sheet_id="s", section=Section.EVALUATION, label="評価", text=long[:200])]
    ps = ParsedSheet(sheet=Sheet(sheet_id="s", project_name="某事業", municipality="某市", source_file="x.pdf",
                                 fiscal_year=2024, fiscal_year_label="令和6年度", locator="p.1", layout="test"),
                     narratives=recs)

    def scored(rec: NarrativeRecord, score: float) -> Scored:
        unit = Unit(unit_id=rec.record_id, sheet_id="s", kind=UnitKind.PASSAGE, text=rec.text, label=rec.label,
                    section=rec.section, record_id=rec.record_id, start=0, end=len(rec.text))
        return Scored(unit, score)

    answer = render.passages(ps, [scored(recs[0], 0.9), scored(recs[1], 0.8)])
    assert len(answer.citations) == 1 and answer.answer.count(short) >= 1
    assert answer.citations[0].quote == long[:200]


def _one(_t: str) -> float:
    return 1.0


def test_a_verb_matches_the_noun_a_label_makes_of_it():
    from assistant.match import compact, token_coverage

    assert token_coverage(["貸し出す"], [], _one, compact("サ 図書館資料の貸出点数")) == 1.0
    assert token_coverage(["申し込む"], [], _one, compact("ア 講座の申込者数")) == 1.0
    assert token_coverage(["受ける"], [], _one, compact("ア 受講者数")) == 0.0  # one kanji says too little


def test_a_prefecture_named_is_the_prefecture_of_a_funding_row():
    from assistant.match import compact, token_coverage
    from vectorstore.tokens import tokenize

    for said, label in (("岩手県", "都道府県支出金"), ("大阪府", "国・府支出金")):
        assert token_coverage([said], tokenize(label), _one, compact(label)) > 0.5
    assert token_coverage(["岩手県"], tokenize("国庫支出金"), _one, compact("国庫支出金")) == 0.0


def _row(label: str, unit: str, table: Table = Table.FUNDING) -> object:
    from ingest.records import Kind, TableCell
    from ingest.units import Unit, UnitKind

    cell = TableCell(record_id="c", sheet_id="s", table=table, row_label=label, unit=unit, fiscal_year=2024,
                     fiscal_year_label="令和6年度", kind=Kind.ACTUAL, value=9920.0, value_text="9,920")
    return Unit(unit_id=label, sheet_id="s", kind=UnitKind.ROW, text=label, label=label, table=table,
                cells=(cell,))


def test_money_asked_in_plain_words_is_said_by_a_row_in_yen():
    from types import SimpleNamespace

    from assistant.evidence import Scorer, asked_tokens
    from assistant.match import compact

    q = parse("令和6年度に県から出たお金はいくら？")
    asked = asked_tokens(q, "某事業", "某市")
    scorer = Scorer(SimpleNamespace(bm25=SimpleNamespace(idf=_one)))  # pyright: ignore[reportArgumentType]
    in_yen = scorer.score_row(q, _row("都道府県支出金", "千円"), (), asked, compact(q.norm), None)
    in_people = scorer.score_row(q, _row("都道府県派遣職員", "人"), (), asked, compact(q.norm), None)
    assert in_yen.parts["label"] >= 0.5 > in_people.parts["label"]


def test_what_describes_the_project_is_not_the_quantity_asked():
    from assistant.evidence import _after_subject, asked_tokens
    from ingest.records import NarrativeRecord, ParsedSheet, Sheet
    from ingest.units import units_of
    from vectorstore.store import Evidence
    from vectorstore.tokens import tokenize

    def sheet(text: str) -> Evidence:
        rec = NarrativeRecord(record_id="r", sheet_id="s", section=Section.OVERVIEW, label="事業概要", text=text)
        ps = ParsedSheet(sheet=Sheet(sheet_id="s", project_name="鳥獣被害対策実施隊設置事業", municipality="某市",
                                     source_file="x.xlsx", fiscal_year=2024, fiscal_year_label="令和6年度",
                                     locator="row 3", layout="test"), narratives=[rec])
        units = units_of(ps, cache=False)
        return Evidence(ps, units, tuple(tuple(tokenize(u.search_text())) for u in units), tuple(None for _ in units))

    q = parse("シカの駆除をする実施隊の事業で、令和6年度に県から出たお金はいくら？")
    asked = asked_tokens(q, "鳥獣被害対策実施隊設置事業", "某市")
    described = _after_subject(q, asked, sheet("シカの駆除を行う実施隊を設置し、農作物の被害を防ぐ。"))
    assert "駆除" in asked and "駆除" not in described and "お金" in described
    # The words before 「…事業で、」 describe another project: they stay asked, and no row answers them.
    other = _after_subject(q, asked, sheet("公民館の講座を開き、市民の学習を支える。"))
    assert "駆除" in other
    plain = parse("令和6年度の延べ業務時間は？")
    assert _after_subject(plain, asked_tokens(plain, "某事業", "某市"), sheet("講座を開く。")) == \
        asked_tokens(plain, "某事業", "某市")


def test_persons_asked_by_the_counter_are_the_persons_a_label_counts():
    from assistant.match import compact, token_coverage
    from vectorstore.tokens import tokenize

    for label in ("受診者数", "新規ヘルパー登録者数"):
        assert token_coverage(["人"], tokenize(label), _one, compact(label)) > 0.5
    assert token_coverage(["人"], tokenize("開催回数"), _one, compact("開催回数")) == 0.0


def test_a_rating_chosen_on_the_form_is_quoted_with_its_reason():
    from assistant.core import _with_reasons
    from assistant.evidence import SheetScore
    from ingest.records import NarrativeRecord, ParsedSheet, Sheet
    from ingest.units import units_of
    from vectorstore.store import Evidence

    texts = [("事業の有効性", "A.有効的である"), ("事業の効率性", "B.改善の余地がある"),
             ("判断理由", "市内の一部の地域には訪問できる事業所がなく、新たな事業所と委託契約を進めていく。"),
             ("R7年度以降の事業の方向性", "現状維持")]
    recs = [NarrativeRecord(record_id=f"r{i}", sheet_id="s", section=Section.DIRECTION if i == 3 else Section.EVALUATION,
                            label=label, text=text) for i, (label, text) in enumerate(texts)]
    ps = ParsedSheet(sheet=Sheet(sheet_id="s", project_name="某事業", municipality="某市", source_file="x.pdf",
                                 fiscal_year=2024, fiscal_year_label="令和6年度", locator="p.1", layout="test"),
                     narratives=recs)
    units = units_of(ps, cache=False)
    ev = Evidence(ps, units, tuple(() for _ in units), tuple(None for _ in units))
    passages = tuple(Scored(u, 0.5) for u in units)
    ss = SheetScore(ev, None, 1.0, 1.0, (), (), passages)
    by_rec = {p.unit.record_id: p for p in passages}
    assert [p.unit.record_id for p in _with_reasons(ss, [by_rec["r1"]])] == ["r1", "r2"]
    assert [p.unit.record_id for p in _with_reasons(ss, [by_rec["r3"]])] == ["r3"]  # no reason printed after it
    assert [p.unit.record_id for p in _with_reasons(ss, [by_rec["r2"]])] == ["r2"]  # a reason is no rating


@pytest.mark.parametrize("question", ["令和6年度は職員の人件費も含めると総額でいくら？", "人件費まで入れた総額は？",
                                      "人件費込みの総額は？"])
def test_the_cost_with_the_staff_cost_added_is_the_total_cost(question):
    q = parse(question)
    assert "トータルコスト" in q.norm and "人件費" not in q.norm


def test_the_staff_cost_asked_alone_is_the_staff_cost():
    assert "人件費" in parse("令和6年度の人件費はいくら？").norm


def test_a_budget_against_what_was_spent_of_it_gives_the_share_used():
    from assistant import render
    from ingest.records import Kind, TableCell

    def cell(kind: Kind, value: float, year: int = 2023) -> TableCell:
        return TableCell(record_id=f"{kind}{year}", sheet_id="s", table=Table.COST, row_label="経費", unit="千円",
                         fiscal_year=year, fiscal_year_label="令和5年度", kind=kind, value=value,
                         value_text=f"{value:,.0f}")

    assert "37.7%" in render._execution(cell(Kind.BUDGET, 12700), cell(Kind.SETTLED, 4788))
    assert render._execution(cell(Kind.SETTLED, 4788, 2022), cell(Kind.BUDGET, 12700)) == ""  # two years
    assert render._execution(cell(Kind.PLAN, 12700), cell(Kind.ACTUAL, 4788)) == ""  # no budget


def test_a_row_just_short_of_the_words_answers_only_when_nothing_else_comes_near():
    from assistant.core import _clear_near_miss
    from assistant.evidence import W
    from ingest.units import Unit, UnitKind

    def row(label: float, unit: float | None, score: float) -> Scored:
        parts = {"label": label} | ({"unit": unit} if unit is not None else {})
        return Scored(Unit(unit_id=str(score), sheet_id="s", kind=UnitKind.ROW, text="", label=""), score, parts)

    assert _clear_near_miss([row(0.48, 1.0, 0.66), row(0.1, 1.0, 0.3)], W)
    assert not _clear_near_miss([row(0.48, 1.0, 0.66), row(0.45, 1.0, 0.6)], W)   # a rival near it
    assert not _clear_near_miss([row(0.48, 0.5, 0.66), row(0.1, 0.5, 0.3)], W)    # not the unit asked
    assert not _clear_near_miss([row(0.48, None, 0.66), row(0.1, None, 0.3)], W)  # no unit asked at all
    assert not _clear_near_miss([row(0.30, 1.0, 0.66), row(0.1, 1.0, 0.3)], W)    # too far from the words


@pytest.mark.parametrize(("said", "written"), [
    ("各家庭に届ける", "行政連絡員を通じて市内全世帯に配布している。"),
    ("補助をやめる", "令和6年度で補助金を廃止した。"),
    ("施設が古い", "施設の老朽化が進んでいる。"),
])
def test_a_native_word_matches_the_sino_japanese_noun_a_sheet_is_written_in(said, written):
    from assistant.match import compact, content_tokens, token_coverage
    from vectorstore.tokens import tokenize

    asked = content_tokens(tokenize(said))
    assert token_coverage(asked, tokenize(written), _one, compact(written)) >= 0.8
    assert token_coverage(asked, tokenize("会議を年2回開催した。"), _one, compact("会議を年2回開催した。")) == 0.0


def test_a_row_in_another_unit_than_the_one_asked_does_not_count_it():
    from types import SimpleNamespace

    from assistant.evidence import Scorer, asked_tokens
    from assistant.match import compact

    q = parse("令和6年度に職員は延べ何時間働いた？")
    asked = asked_tokens(q, "某事業", "某市")
    scorer = Scorer(SimpleNamespace(bm25=SimpleNamespace(idf=_one)))  # pyright: ignore[reportArgumentType]

    def unit_part(unit: str, label: str = "延べ業務時間") -> float:
        return scorer.score_row(q, _row(label, unit), (), asked, compact(q.norm), None).parts["unit"]

    assert (unit_part("時間"), unit_part("", "延べ業務量"), unit_part("人")) == (1.0, 0.5, 0.0)
    assert unit_part("") == 1.0  # no unit printed, but the label names one: 業務時間 is counted in 時間


@pytest.mark.parametrize("question", [
    "広域連携の協議会について、住民からはどんな意見があるの？",
    "この取組、所管の課長は今後どうしたいと書いてある？",
])
def test_is_there_with_a_section_named_asks_the_sheet_not_for_a_project(question):
    assert parse(question).answer is not AnswerType.TOPIC


def test_compared_with_the_start_asks_what_changed_not_how_it_began():
    q = parse("見守り活動、始めた頃と比べて何が変わった？")
    assert q.sections[0] == (Section.CHANGES, 1.0)
    assert all(sec is not Section.ORIGIN for sec, _ in q.sections)


@pytest.mark.parametrize("question", [
    "1件あたりだと何千円か（千円未満四捨五入で）",
    "平均いくら？（小数第1位まで）",
    "割合は何％？小数点以下2桁で",
])
def test_a_rounding_instruction_is_not_content(question):
    q = parse(question)
    assert not any(w in q.norm for w in ("四捨五入", "小数", "未満"))


def _passage(text: str, q) -> Scored:
    from assistant.evidence import _type_fit
    from ingest.units import Unit, UnitKind

    unit = Unit(unit_id="u1", sheet_id="s1", record_id="r1", kind=UnitKind.PASSAGE, text=text,
                section=Section.EVALUATION, label="判断理由")
    fit = _type_fit(q, text)
    return Scored(unit, 0.6, {} if fit is None else {"type": fit})


@pytest.mark.parametrize(("question", "text", "answers"), [
    ("子ども・子育て会議の委員は何人いるの？", "学識経験者、市民団体の代表者など幅広く意見を聴いた。", False),
    ("子ども・子育て会議の委員は何人いるの？", "委員15人で構成し、年2回開催した。", True),
    ("再開発ビルのテナントの入居率は何％？", "アスタ新長田は賃貸、以外は外郭団体等へサブリース契約。", False),
    ("再開発ビルのテナントの入居率は何％？", "入居率は92.5%となった。", True),
    ("この会議はなぜ始まったの？", "学識経験者、市民団体の代表者など幅広く意見を聴いた。", True),
])
def test_a_figure_asked_is_not_answered_by_a_passage_without_one(question, text, answers):
    from assistant.core import _figure_not_in

    q = parse(question)
    assert _figure_not_in(q, [_passage(text, q)]) is not answers


def test_choices_ticked_on_the_form_are_quoted_with_a_passage_in_sentences():
    from ingest.units import Unit, UnitKind

    def p(i, text, score):
        u = Unit(unit_id=f"u{i}", sheet_id="s1", record_id=f"r{i}", kind=UnitKind.PASSAGE, text=text,
                 section=Section.DIRECTION, label="方向性")
        return Scored(u, score)

    said = "これまで市独自の支援センターを設置し、結婚支援に係る各種事業を実施してきたが、思うような成果が出ていない。"
    ps = [p(0, "２ 改革改善（縮小・統合含む）", 0.37), p(1, "向上", 0.37), p(2, "削減", 0.37), p(3, said, 0.32)]
    assert [x.unit.text for x in _pick(ps)][-1] == said
    assert _pick([p(0, said, 0.5), p(1, "向上", 0.45)])[-1].unit.text == "向上"  # sentences already: nothing added


def test_a_rate_asked_is_the_row_in_percent_not_the_count_it_is_made_of():
    from types import SimpleNamespace

    from assistant.evidence import Scorer
    from ingest.records import Kind, TableCell
    from ingest.units import Unit, UnitKind

    def row(label, unit):
        cell = TableCell(record_id=label, sheet_id="s1", table=Table.OUTCOME, row_label=label, unit=unit,
                         fiscal_year=2024, fiscal_year_label="令和6年度", kind=Kind.ACTUAL, value=1.0, value_text="1")
        return Unit(unit_id=label, sheet_id="s1", kind=UnitKind.ROW, text=label, label=label, table=Table.OUTCOME,
                    cells=(cell,))

    scorer = Scorer(SimpleNamespace(bm25=SimpleNamespace(idf=lambda t: 1.0)))  # pyright: ignore[reportArgumentType]
    q = parse("健診の受診率はどう推移してる？")
    asked = ("健診", "受診", "率")
    count = scorer.score_row(q, row("ア 健康診査受診者数", "人"), (), asked, "健診受診率", None)
    rate = scorer.score_row(q, row("サ 健康診査受診率（受診者数/被保険者数）", "%"), (), asked, "健診受診率", None)
    assert rate.parts["unit"] == 1.0 and count.parts["unit"] == 0.0
    assert rate.score > count.score


def test_the_reason_a_project_began_is_its_origin_not_a_ratings_reason():
    q = parse("通学バスを走らせる事業、始めた理由は何？")
    assert q.sections[0] == (Section.ORIGIN, 1.0)
    assert (Section.EVALUATION, 1.0) not in q.sections
    assert (Section.EVALUATION, 1.0) in parse("効率性がBとされた理由は？").sections


def test_a_verb_of_opinion_frames_the_question_and_is_not_content():
    from assistant.match import content_tokens
    from vectorstore.tokens import tokenize

    assert not {"考える", "思う"} & set(content_tokens(tokenize("市はどこが課題だと考えている？君はどう思う？")))


def test_hearsay_frames_the_question_and_is_not_content():
    """「…って話」「…って聞いた」 say how the asker came to ask; the sheet's sentence holds the rest."""
    from assistant.match import content_tokens
    from vectorstore.tokens import tokenize

    words = set(content_tokens(tokenize("窓口を統合するって話を聞いたけど、審議会ではどうなった？")))
    assert {"窓口", "統合", "審議会"} <= words and not {"話", "聞く"} & words


def test_now_frames_the_question_and_raising_a_budget_is_its_increase():
    """今 says when the asker stands, as 現在 does, and no sheet's sentence is found by it; 予算を増やす
    is written 増額 on the forms (and 減らす 減額)."""
    from assistant.match import content_tokens, expand
    from vectorstore.tokens import tokenize

    assert "今" not in content_tokens(tokenize("今は誰が受け取れるの？"))
    assert "増額" in expand("増やす") and "減額" in expand("減らす")


def test_entered_in_the_budget_frames_a_figure_question_and_handing_over_is_the_forms_word():
    """「いくら計上されてる」 asks the figure as 「いくら載ってる」 does: 計上 names no row; 渡す is the
    forms' 交付・支給・贈呈."""
    from assistant.match import content_tokens, expand
    from vectorstore.tokens import tokenize

    assert content_tokens(tokenize("清掃の委託料、いくら計上した？")) == ["清掃", "委託料"]
    assert {"交付", "支給", "贈呈"} <= set(expand("渡す"))


def test_a_cue_verb_that_says_what_was_talked_of_points_at_no_section():
    """「出張所をやめるって話、どうなった？」 asks what became of a proposal: やめる is what the talk was
    of (a content word, the forms' 廃止), not a question about the project's direction."""
    from assistant.match import content_tokens

    told = parse("出張所をやめるって話、どうなった？")
    assert Section.DIRECTION not in dict(told.sections) and "やめる" in content_tokens(told.tokens)
    assert Section.DIRECTION in dict(parse("出張所はもうやめるの？").sections)


def test_a_compound_of_the_question_is_found_by_its_words_in_a_sentence():
    """Sudachi reads 「経費節減」 as one word; a sentence that says 節減 of something else holds part
    of it, as a synonym does, and one that says neither holds none."""
    from assistant.match import compact, token_coverage
    from vectorstore.tokens import tokenize

    said = "委託内容の見直しにより節減の余地がある。"
    cov = token_coverage(["経費節減"], tokenize(said), lambda t: 1.0, compact(said), split=True)
    assert 0 < cov < 1
    assert token_coverage(["経費節減"], tokenize(said), lambda t: 1.0, compact(said)) == 0
    other = "利用者は年々増えている。"
    assert token_coverage(["経費節減"], tokenize(other), lambda t: 1.0, compact(other), split=True) == 0


def test_a_formal_noun_of_aspect_is_not_content():
    from assistant.match import content_tokens
    from vectorstore.tokens import tokenize

    assert content_tokens(tokenize("改めたいところはどこ？")) == ["改める"]
    assert "事業所" in content_tokens(tokenize("委託先の事業所はどこ？"))


def test_asking_whether_what_one_heard_is_so_asks_for_the_project():
    """「…って本当？」「…って聞いたんだけど」 ask whether such a project exists; 本当 names nothing."""
    from assistant.match import content_tokens

    for said in ("空き家を片付けるのに市がお金を出してくれるって本当？", "空き家の片付けにお金を出してくれると聞いたんですが"):
        q = parse(said)
        assert q.answer is AnswerType.TOPIC and "本当" not in content_tokens(q.tokens)
    assert parse("補助が出るって聞いたけど、いつから？").answer is not AnswerType.TOPIC


def test_a_field_of_the_form_and_a_verb_of_listing_frame_the_question():
    from assistant.match import content_tokens
    from vectorstore.tokens import tokenize

    words = set(content_tokens(tokenize("評価欄には課題として何が挙げられていますか")))
    assert "課題" in words and not {"欄", "挙げる", "上げる"} & words
    assert "備考" in content_tokens(tokenize("備考欄の記載を教えて"))  # the field's label, as printed


def test_the_section_a_question_names_is_quoted_first_when_its_words_chose_others():
    from assistant.core import _cued_first
    from ingest.units import Unit, UnitKind

    def p(i, section, text, score, prior=None):
        u = Unit(unit_id=f"u{i}", sheet_id="s1", record_id=f"r{i}", kind=UnitKind.PASSAGE, text=text,
                 section=section, label=section.value)
        return Scored(u, score, {} if prior is None else {"prior": prior})

    q = parse("カーブミラーを設置し始めたきっかけは？")  # 設置: the project's own word, said all over its sheet
    origin = p(0, Section.ORIGIN, "昭和50年代の交通事故の多発を受けて始めた。", 0.30, prior=1.0)
    words = [p(1, Section.OVERVIEW, "設置要望を募り、設置箇所を選定する。", 0.62, prior=0.0),
             p(2, Section.EVALUATION, "一度に設置することで割安である。", 0.61, prior=0.0)]
    ranked = [*words, origin]
    assert _cued_first(q, ranked, _pick(ranked)) == [origin, *words]
    # A chosen passage already in a section the question names: nothing is added.
    cued = [p(3, Section.ORIGIN, "平成10年度に始めた。", 0.7, prior=1.0), *words]
    assert _cued_first(q, cued, _pick(cued)) == _pick(cued)
    # The named section says nothing (特になし): nothing is added either.
    empty = [*words, p(4, Section.ORIGIN, "特になし", 0.1, prior=1.0)]
    assert _cued_first(q, empty, _pick(empty)) == _pick(empty)


@pytest.mark.parametrize(("question", "topic"), [
    ("太陽光パネルを付けたら補助金が出る事業ってある？", True),     # 補助金 describes the project sought
    ("補助金を交付している事業ってありますか", True),
    ("補助金がもらえる事業ってある？令和6年度はいくら？", False),     # a figure asked: money and a year
    ("この事業の補助金は何件ある？", False),
])
def test_a_tables_word_in_a_question_for_a_project_describes_it(question, topic):
    q = parse(question)
    assert (q.answer is AnswerType.TOPIC) is topic
    assert q.numeric is not topic


def test_a_tables_word_in_a_question_about_a_section_is_what_the_section_speaks_of():
    q = parse("斎場の管理事業、人件費を減らせる余地はあると評価されてる？")
    assert not q.numeric and q.sections[0][0] is Section.EVALUATION
    assert parse("斎場の管理事業の令和6年度の人件費は？").numeric  # a year: the figure


@pytest.mark.parametrize(("question", "bare"), [
    ("事業費の27〜29年度の決算を合計すると？", [27, 29]),
    ("28から31年度の推移は？", [28, 31]),
    ("10〜12件くらい？", []),                 # no 年度: counts, not years
])
def test_the_first_year_of_a_range_needs_no_nendo_of_its_own(question, bare):
    q = parse(question)
    assert [y.bare for y in q.years] == bare
    assert q.year_range is bool(bare)


@pytest.mark.parametrize(("question", "unit"), [
    ("窓口で受けた相談の件数、R3からR5でどう変わった？", "件"),
    ("講座の対象者数って、2年度から4年度でどう推移してる？", "人"),
    ("加入世帯数はどれくらい増えた？", "世帯"),
])
def test_a_count_named_by_its_noun_implies_its_counter(question, unit):
    q = parse(question)
    assert q.count_noun == unit and q.numeric


def test_a_cue_word_that_begins_a_quantitys_name_cues_no_section():
    # 対象者数 counts people; it does not ask what the 対象 section says
    assert Section.TARGET not in dict(parse("講座の対象者数は令和4年度に何人？").sections)
    assert Section.TARGET in dict(parse("講座の対象はどんな人？").sections)


def test_a_row_label_that_names_a_count_counts_in_its_counter():
    assert unit_in_label("本庁代表着信件数（１日平均）") == "件"
    assert unit_in_label("受講者数") == "人"
    assert unit_in_label("取扱金額（百万円）") == "百万円"
    assert unit_in_label("事業費計") == ""


def test_movement_words_read_as_a_change_over_years():
    assert parse("令和5年度の登録数、前年度からの動きは？").op is Op.CHANGE
    assert parse("利用者数の動向を知りたい").op is Op.TREND


def test_the_last_year_of_a_range_may_be_said_as_nen_alone():
    q = parse("来館者数、令和2年から5年にかけてどう変わった？")
    assert [(y.western, y.bare) for y in q.years] == [(2020, None), (None, 5)] and q.year_range
    assert len(parse("令和2年から5年間の合計は？").years) == 1  # 5年間 is a span, not a year


def test_from_there_starts_a_range_at_the_year_under_discussion():
    q = parse("そこから令和5年度まではどう変わった？")
    assert [y.relative for y in q.years] == [0, None] and q.year_range and q.op is Op.CHANGE


def test_during_some_period_is_not_the_projects_own_period():
    assert Section.PERIOD not in dict(parse("夏祭り期間中の来場者は？").sections)
    assert Section.PERIOD in dict(parse("この事業の期間は？").sections)


def test_how_the_situation_moved_asks_for_the_changes_section():
    assert Section.CHANGES in dict(parse("誘致をめぐる状況はどう動いてきた？").sections)


@pytest.mark.parametrize(("question", "city"), [
    ("札幌市の図書館事業、令和5年度の事業費は？", "札幌市"),
    ("宮城県石巻市では何をしてる？", "石巻市"),
    ("北九州市って、こういう事業ある？", "北九州市"),
    ("甲山市の事業の決算は？", ""),            # a city the store holds
    ("政令市の中ではどうなの？", ""),           # a word of the forms, not a city
    ("他都市の状況は？", ""),
    ("県市町村協議会の負担金は？", ""),          # 市 begins 市町村
    ("甲山市役所の窓口は？", ""),
    ("乙町と一緒にやってる事業は？", ""),          # a city or town only mentioned, not asked about
])
def test_a_city_no_sheet_belongs_to_is_named(question, city):
    assert other_city(question, ("甲山市", "丙川村")) == city


def test_a_time_asked_is_not_answered_by_passages_that_state_none():
    q = parse("窓口の平均の待ち時間はどのくらい？")
    assert q.count_noun == "時間"
    # numbers in other units, and a list numbered ①②, state no time
    assert _figure_not_in(q, [_passage("①受付の集約 ②職員315人の配置", q)])
    assert not _figure_not_in(q, [_passage("平均待ち時間は15分に短縮した。", q)])


def test_a_follow_up_opening_word_is_not_part_of_the_name_and_the_same_year_counts_from_the_last():
    """「じゃあ…事業のほうだと、同じ年度は？」 names the project without じゃあ, sets it against the
    one under discussion (のほう), and 同じ年度 is the year under discussion (relative 0)."""
    from assistant.query import contrast_subject

    q = parse("じゃあ防犯灯設置事業のほうだと、同じ年度はどれくらい？")
    assert q.named == ("防犯灯設置事業",)
    assert [y.relative for y in q.years] == [0]
    assert contrast_subject(q.norm) == "防犯灯設置事業"
    assert contrast_subject(parse("北部地区のほうは？").norm) == "北部地区"
    assert contrast_subject(parse("北部地区の利用者数は？").norm) == ""


def test_the_compound_a_label_ends_in_is_what_the_row_measures():
    """Japanese compounds put the head last: 「寄附件数」 spells the row 「｢…応援寄附｣件数」, not
    「…寄附（ふるさと納税）へのアクセス件数」; a bare measure word (件数) spells neither."""
    from assistant.match import compact, spells_head

    q = compact(parse("令和3年度に寄附件数はどれだけあった？").norm)
    assert spells_head(q, "サ ｢ふるさと大船渡応援寄附｣件数")
    assert not spells_head(q, "カ 市ホームページふるさと大船渡応援寄附（ふるさと納税）へのアクセス件数")
    assert not spells_head(compact(parse("件数は？").norm), "サ ｢ふるさと大船渡応援寄附｣件数")
    assert spells_head(compact(parse("入館者数は？").norm), "キ つばきまつり期間中の入館者数（人）")


def test_how_a_figure_moved_over_a_range_is_its_course_and_how_much_is_the_difference():
    assert parse("相談件数はR2からR5にかけてどんなふうに伸びた？").op is Op.CHANGE
    assert parse("相談件数はR2からR5にかけて何件伸びた？").op is Op.DIFF
    assert "伸びる" not in content_tokens(parse("どんなふうに伸びた？").tokens)


def test_a_formal_noun_in_a_named_project_is_not_a_word_of_its_name():
    """「子育て支援事業（ファミリーサポートの方）」: 方 points at "the one", so the sheet 「子育て支援事業
    （ファミリーサポート、一時預かり）」 is named; a word the name lacks (病児) still makes it another project."""
    from assistant.evidence import W, name_fit

    sheet = "子育て支援事業（ファミリーサポート、一時預かり）"
    assert name_fit("子育て支援事業(ファミリーサポートの方)", sheet, lambda t: 3.0) >= W.named_min
    assert name_fit("子育て支援事業(病児保育の方)", sheet, lambda t: 3.0) < W.named_min


def test_going_to_is_not_how_many():
    # 「していくつもり」 is いく + つもり: a plan, not a count.
    assert not parse("この事業はこれからどうしていくつもり？").numeric
    assert parse("窓口はいくつある？").numeric


def test_a_project_described_over_the_sentences_of_one_field_is_found_by_its_description():
    from assistant.core import _field_coverage
    from assistant.evidence import SheetScore
    from ingest.records import NarrativeRecord, ParsedSheet, Sheet
    from ingest.units import units_of
    from vectorstore.store import Evidence
    from vectorstore.tokens import tokenize

    def score(*fields: tuple[Section, str]) -> float:
        recs = [NarrativeRecord(record_id=f"r{i}", sheet_id="s", section=sec, label=sec.value, text=text)
                for i, (sec, text) in enumerate(fields)]
        ps = ParsedSheet(sheet=Sheet(sheet_id="s", project_name="某事業", municipality="某市", source_file="x.pdf",
                                     fiscal_year=2024, fiscal_year_label="令和6年度", locator="p1", layout="test"),
                         narratives=recs)
        units = units_of(ps, cache=False)
        ev = Evidence(ps, units, tuple(tuple(tokenize(u.search_text())) for u in units), tuple(None for _ in units))
        return _field_coverage(("観光客", "手荷物", "市バス", "混雑"), SheetScore(ev, None, 0.0, 0.0, (), (), ()), _one)[0]

    one_field = score((Section.OVERVIEW, "観光客の手荷物を駅で預かる。預かった荷物は宿へ届け、市バスの混雑を和らげる。"))
    two_fields = score((Section.OVERVIEW, "観光客の手荷物を駅で預かる。"), (Section.ISSUES, "市バスの混雑が続いている。"))
    assert one_field == 1.0 and two_fields == 0.5


def test_is_there_such_a_project_asked_politely_is_a_topic():
    assert parse("学生の通学を手伝ってもらえる仕組み、ってありますか").answer is AnswerType.TOPIC
    assert parse("学生の通学を手伝ってもらえる仕組み、ってある？").answer is AnswerType.TOPIC


def test_expecting_is_a_verb_not_the_estimate_column():
    from ingest.records import Kind

    assert parse("地方債は何千円ほど見込んでいますか？").kinds == ()
    assert parse("R6見込みの事業費は？").kinds == (Kind.ESTIMATE,)
    assert parse("R3決算とR5決算で人件費はどれだけ違う？").kinds == (Kind.SETTLED, Kind.SETTLED)


def test_a_year_said_without_a_kind_does_not_take_the_other_years_kind():
    from assistant.render import _kinds_per_year
    from ingest.records import Kind

    q = parse("歳出の予算で見て、R8はR7決算見込と比べて何円多い？")
    kinds = dict(_kinds_per_year(q, [2025, 2026]))
    assert kinds[2025] is Kind.SETTLED_ESTIMATE and kinds[2026] is Kind.BUDGET


def test_a_quantity_asked_is_not_the_forms_cost_per_unit_of_it():
    from assistant.evidence import _per_money

    assert unit_in_label("処理量（千円／トン）") == "千円/トン" and _per_money("千円/トン")
    assert unit_in_label("処理量（トン）") == "トン" and not _per_money("トン") and not _per_money("kg/年")


def test_a_name_written_partly_in_kana_is_all_a_follow_up_says():
    from assistant.state import _has_quantity

    q = parse("ごみ焼却業務のほうだと？")
    assert not _has_quantity(q, beyond=("ごみ焼却業務",))
    assert _has_quantity(parse("ごみ焼却業務だと委託料は？"), beyond=("ごみ焼却業務",))


def test_a_row_of_the_cost_per_unit_table_measures_a_cost_per_what_its_label_names():
    from types import SimpleNamespace

    from assistant.evidence import Scorer, asked_tokens
    from assistant.match import compact

    q = parse("1件につきコストは何円になる？")
    asked = asked_tokens(q, "某事業", "某市")
    scorer = Scorer(SimpleNamespace(bm25=SimpleNamespace(idf=_one)))  # pyright: ignore[reportArgumentType]

    def label_part(table: Table) -> float:
        row = _row("（項目）届出・証明取扱件数（単位：円）", "", table)
        return scorer.score_row(q, row, (), asked, compact(q.norm), None).parts["label"]

    assert label_part(Table.UNIT_COST) >= label_part(Table.PERFORMANCE) + 0.3


def test_an_abbreviation_keeps_the_full_names_characters_in_order():
    from assistant.core import _abbreviates

    assert _abbreviates("三鉄", "三陸鉄道支援事業") and _abbreviates("国保", "国民健康保険事業")
    assert not _abbreviates("空港", "港湾施設管理事業") and not _abbreviates("市営", "市民体育館管理運営事業")


def test_the_nouns_that_name_things_are_not_the_ones_a_question_asks_with():
    from vectorstore.tokens import thing_nouns

    said = thing_nouns("空港の滑走路で起債はずっと横ばい？何キロ？")
    assert {"空港", "滑走路"} <= said and not said & {"起債", "横這い", "キロ"}


def test_a_count_asked_in_its_counter_of_a_thing_is_the_row_counting_that_thing():
    from assistant.match import compact, spells_head

    q = compact("去年度に届いた寄附って何件ほど？")
    assert spells_head(q, "サ ｢ふるさと応援寄附｣件数", "件")
    assert not spells_head(q, "カ ふるさと応援寄附へのアクセス件数", "件")
    assert not spells_head(q, "サ ｢ふるさと応援寄附｣件数", "人")


def test_a_table_word_under_a_verb_of_its_own_asks_how_not_how_much():
    assert not parse("窓口は市の職員が自分で回してる？").numeric
    assert parse("職員は何人？").numeric and parse("人件費は？").numeric and parse("人件費は減った？").numeric


def test_the_same_figures_on_two_sheets_are_one_row_cited_on_both():
    from assistant.core import _same_figure
    from ingest.records import Kind, TableCell
    from ingest.units import Unit, UnitKind

    def row(sheet: str, label: str, values: tuple[float, ...]) -> Scored:
        cells = tuple(TableCell(record_id=f"{sheet}{y}", sheet_id=sheet, table=Table.OUTCOME, row_label=label,
                                unit="TEU", fiscal_year=y, fiscal_year_label=f"令和{y - 2018}年度", kind=Kind.ACTUAL,
                                value=v, value_text=str(v)) for y, v in zip((2020, 2021, 2022), values, strict=True))
        unit = Unit(unit_id=sheet, sheet_id=sheet, kind=UnitKind.ROW, text=label, label=label, table=Table.OUTCOME,
                    cells=cells)
        return Scored(unit, 0.9, {})

    assert _same_figure(row("a", "コンテナ貨物取扱量", (1, 2, 3)), row("b", "貨物取扱量", (1, 2, 3)))
    assert not _same_figure(row("a", "貨物取扱量", (1, 2, 3)), row("b", "貨物取扱量", (1, 2, 4)))


def test_a_topics_verbs_count_for_half_its_nouns():
    from assistant.evidence import inflected_half

    weight = inflected_half(_one)
    assert weight("荒らす") == 0.5 * weight("畑") and weight("駆除") == 1.0


def test_a_native_verb_for_a_word_of_the_name_is_the_name_again():
    from assistant.evidence import asked_tokens
    q = parse("港の清掃を進めているのはなぜ？")
    assert "進める" not in asked_tokens(q, "港湾清掃の推進", "某市")
    assert "進める" in asked_tokens(q, "港湾清掃事業", "某市")  # a name without 推進: the verb is content


def test_hearsay_of_a_named_project_asks_about_it_not_whether_it_exists():
    assert parse("川辺のごみ拾いを市がしてるって本当？").answer is AnswerType.TOPIC
    assert parse("さくら湯優待の料金、上がったって本当？", mask=("さくら湯優待",)).answer is not AnswerType.TOPIC


@pytest.mark.parametrize(("said", "printed"), [("なくなる", "廃止"), ("打ち切る", "終了"), ("取り止める", "中止")])
def test_plain_verbs_of_ending_match_the_forms_nouns(said, printed):
    from assistant.match import expand
    assert printed in expand(said)


def test_running_the_work_is_a_light_verb():
    from assistant.evidence import asked_tokens
    assert asked_tokens(parse("この窓口は何人で回してるの？"), "某事業", "某市") == ("窓口",)


@pytest.mark.parametrize("question", ["この事業は何人でやってるの？", "窓口は何名体制？", "令和5年度は何人で回してた？"])
def test_by_how_many_people_asks_the_staff_table(question):
    q = parse(question)
    assert q.numeric and q.tables == (Table.PERSONNEL,)


@pytest.mark.parametrize(("question", "answer"), [
    ("この施設は年に何日開いてる？", AnswerType.NUMBER), ("教室は何日間やったの？", AnswerType.NUMBER),
    ("開所したのは何日？", AnswerType.DATE), ("何日に受付を始めた？", AnswerType.DATE),
])
def test_how_many_days_is_a_count_and_on_what_day_a_date(question, answer):
    assert parse(question).answer is answer


@pytest.mark.parametrize(("said", "printed"), [("パスポート", "旅券"), ("オープン", "開設"), ("スタート", "開始"), ("ペット", "動物"), ("中身", "内容")])
def test_loanwords_match_the_forms_terms(said, printed):
    from assistant.match import expand
    assert printed in expand(said)


def test_a_sheet_is_weighed_by_the_share_of_the_asked_words_it_holds_anywhere():
    """A passage that only sits in the section asked (開始のきっかけ for 「いつから」) is no answer from a
    sheet that says nothing of what is asked: the sheet holding the words, in any unit, is ranked above."""
    from types import SimpleNamespace

    from assistant.evidence import Scorer
    from ingest.units import Unit, UnitKind
    from vectorstore.tokens import tokenize

    def ev(name, texts):
        units = tuple(Unit(unit_id=f"{name}{i}", sheet_id=name, record_id=f"{name}{i}", kind=UnitKind.PASSAGE,
                           text=t, section=sec, label=sec.value) for i, (sec, t) in enumerate(texts))
        sheet = SimpleNamespace(sheet=SimpleNamespace(project_name=name, municipality="某市", sheet_id=name))
        return SimpleNamespace(sheet=sheet, units=units, tokens=tuple(tuple(tokenize(u.text)) for u in units),
                               vectors=tuple(None for _ in units))

    scorer = Scorer(SimpleNamespace(bm25=SimpleNamespace(idf=lambda t: 1.0, score=lambda a, b: 0.0)))  # pyright: ignore[reportArgumentType]
    q = parse("旅券の申請受付はいつから？")
    holds = scorer.holds(q, ev("窓口事務", [(Section.OVERVIEW, "旅券の申請受付を行う。"),  # pyright: ignore[reportArgumentType]
                                          (Section.ORIGIN, "平成19年4月から始めた。")]))
    lacks = scorer.holds(q, ev("寄附事務", [(Section.ORIGIN, "平成20年6月から始めた。")]))  # pyright: ignore[reportArgumentType]
    assert holds == 1.0 and lacks == 0.0


def test_a_field_of_bare_figures_does_not_answer_a_question_in_words():
    from types import SimpleNamespace

    from assistant.evidence import Scorer
    from ingest.units import Unit, UnitKind

    scorer = Scorer(SimpleNamespace(bm25=SimpleNamespace(idf=lambda t: 1.0, score=lambda a, b: 0.0)))  # pyright: ignore[reportArgumentType]

    def field(text):
        return Unit(unit_id=text, sheet_id="s1", record_id=text, kind=UnitKind.PASSAGE, text=text,
                    section=Section.DIRECTION, label="方向性")

    q = parse("今後はどうする方針？")
    figures = scorer.score_passage(q, field("1,250（300）"), (), (), None)
    words = scorer.score_passage(q, field("現状のまま継続"), (), (), None)
    assert figures.score < words.score


def test_so_far_frames_the_question_and_is_not_content():
    """「今までに」「これまでに」 say up to now, as 今 does; the sentence asked holds the rest (委嘱した人数)."""
    from assistant.match import content_tokens
    from vectorstore.tokens import tokenize

    assert content_tokens(tokenize("今までに何人に委嘱した？")) == ["委嘱"]
    assert content_tokens(tokenize("これまでに何人に委嘱した？")) == ["委嘱"]


def test_a_count_asked_of_a_noun_needs_a_passage_that_counts_that_noun():
    """「テナントがいくつ」 counts テナント: a passage whose numbers count other things (２市場, １階) does not
    answer it, and the answer is a refusal rather than those sentences; 「12テナントが入居」 answers."""
    from types import SimpleNamespace

    from assistant.core import _figure_not_in
    from assistant.evidence import Scorer
    from ingest.units import Unit, UnitKind

    scorer = Scorer(SimpleNamespace(bm25=SimpleNamespace(idf=lambda t: 1.0, score=lambda a, b: 0.0)))  # pyright: ignore[reportArgumentType]

    def said(text):
        u = Unit(unit_id=text, sheet_id="s1", record_id=text, kind=UnitKind.PASSAGE, text=text,
                 section=Section.OVERVIEW, label="事業概要")
        return scorer.score_passage(q, u, (), (), None)

    q = parse("駅ビルにテナントはいくつある？")
    assert q.counted == "テナント"
    assert _figure_not_in(q, [said("現在は２市場を管理し、１階部分を売却する。")])
    assert not _figure_not_in(q, [said("駅ビルには12テナントが入居している。")])


@pytest.mark.parametrize("text", ["管理コストどれくらい？", "費用ってどのくらいかかった？", "事業費は全部でどれぐらい？"])
def test_a_noun_of_money_asked_by_how_much_asks_an_amount(text):
    """コスト・費用・事業費 with どれくらい ask an amount of money, as いくら does: a passage with no amount
    in it does not answer them."""
    assert parse(text).money


def test_how_much_of_a_thing_not_money_is_not_an_amount():
    assert not parse("待ち時間はどれくらい？").money


@pytest.mark.parametrize(("text", "ranks"), [("この事業の上位成果指標は？", False),
                                             ("上位施策は何？", False),
                                             ("水産課の事業でトータルコストの上位3つは？", True),
                                             ("事業費が下位の事業は？", True)])
def test_the_forms_upper_indicator_is_no_ranking(text, ranks):
    """上位成果指標 (and 上位施策) are what the form prints, not 「上位」 (the top few): no ranking is asked."""
    from assistant.crosssheet import _RANK
    assert bool(_RANK.search(text)) is ranks


@pytest.mark.parametrize(("question", "printed", "other"), [("植えた面積はR6でどれだけ？", "アール", "本"),
                                                          ("整備した延長はR5で？", "m", "箇所")])
def test_an_area_or_length_is_a_row_printed_in_its_units(question, printed, other):
    """面積 is measured in ha/a/㎡ and 延長 in m: a row of the same words counted in 本 or 箇所 counts
    something else, while one printed in the measure's unit, or naming it, is the measure."""
    from types import SimpleNamespace

    from assistant.evidence import Scorer, asked_tokens
    from assistant.match import compact

    q = parse(question)
    asked = asked_tokens(q, "某事業", "某市")
    scorer = Scorer(SimpleNamespace(bm25=SimpleNamespace(idf=_one)))  # pyright: ignore[reportArgumentType]

    def score(label: str, unit: str) -> float:
        return scorer.score_row(q, _row(label, unit, Table.ACTIVITY), (), asked, compact(q.norm), None).score

    assert score("植栽・整備", printed) > score("植栽・整備", other)


def test_words_before_a_shared_name_pick_the_one_that_holds_them():
    """「北部のほうの浄水事業」: of two sheets named 就農事業（…）, the words before the name are held by
    one bracketed part only, and that sheet is meant; words neither holds leave both."""
    from types import SimpleNamespace

    from assistant.crosssheet import _narrowed

    a = SimpleNamespace(project_name="浄水事業（南部浄水場）")
    b = SimpleNamespace(project_name="浄水事業（北部浄水場、配水池）")
    assert _narrowed([a, b], "北部のほうの", "浄水事業") == [b]  # pyright: ignore[reportArgumentType]
    assert _narrowed([a, b], "福岡の", "浄水事業") == [a, b]  # pyright: ignore[reportArgumentType]
    assert _narrowed([a, b], "東部北部の", "浄水事業") == [a, b]  # pyright: ignore[reportArgumentType]  # 東部: neither


@pytest.mark.parametrize("text", ["R7予算はR6決算より増えてる？", "利用者は前の年より減ってるの？"])
def test_a_change_said_in_the_progressive_is_a_change(text):
    """増えてる・減ってる (増えている) ask how a figure moved, as 増えた・減った do: both cells and the change."""
    from assistant.query import Op
    assert parse(text).op is Op.CHANGE


@pytest.mark.parametrize(("text", "sums"), [("H23の合計コストはいくら？", False), ("合計（A）はいくら？", False),
                                            ("3事業の事業費の合計額は？", True), ("両方を合計すると？", True)])
def test_a_total_rows_name_is_no_sum_over_sheets(text, sums):
    """合計コスト and 合計（A） name the row a cost table totals in; 合計額 and 合計すると ask for a sum."""
    from assistant.crosssheet import _SUM
    assert bool(_SUM.search(text)) is sums
