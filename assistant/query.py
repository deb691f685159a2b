"""A Japanese question as a typed query: what is asked (answer type, operation), about which years
and kinds, of which quantity or section, and about which project.

The text is read after Sudachi's normalisation where spelling varies: kanji numerals become digits
(令和五年度 -> 令和5年度), okurigana are unified (見込み = 見込, 取り組み = 取組), so the patterns
below are written once, in the forms the sheets print. Cue words give priors, never gates: a
section named by the question is preferred, but the best evidence still wins.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from enum import StrEnum

from ingest.kinds import KIND_OF_WORD, KIND_PATTERN
from ingest.normalize import ERA_ABBREV, ERAS
from ingest.records import Kind, Section, Table
from ingest.years import ERA_LETTERS, ERA_NAMES
from vectorstore.tokens import normalize_numerals, tokenize


class AnswerType(StrEnum):
    NUMBER = "number"          # a value of a table (or a count written in prose)
    DATE = "date"              # いつ
    WHO = "who"                # 誰, どこ, どの団体
    REASON = "reason"          # なぜ, きっかけ, 理由
    YESNO = "yesno"            # 直営ですか、委託ですか / ありますか
    TOPIC = "topic"            # which project does X; is there one
    DEPARTMENT = "department"  # 担当部署はどこ
    TEXT = "text"              # anything written in a section


class Op(StrEnum):
    VALUE = "value"
    DIFF = "diff"              # 差, 違い, どれだけ増えた
    SUM = "sum"                # 合計, 合わせると
    RATE = "rate"              # 増減率, 伸び率
    CHANGE = "change"          # AからBにかけて, 前年度より増えた？
    TREND = "trend"            # 推移, 毎年
    COMPARE = "compare"        # (follow-up) 令和4年度と比べると？


# --- years ------------------------------------------------------------------------------------
_ERA_YEAR = re.compile(rf"({ERA_NAMES}|{ERA_LETTERS})\s*(元|\d{{1,2}})(?!\d)\s*(?:年度|年)?", re.I)
_WESTERN = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*(?:年度|年)?(?!\d)")
_BARE = re.compile(r"(?<![\d.,])(\d{1,2})\s*年度")
# 「28〜31年度」「28から31年度」: the first year of a range carries no 年度 of its own.
_BARE_FROM = re.compile(r"(?<![\d.,A-Za-z第])(\d{1,2})(?=\s*(?:から|~|〜|～|-|－)\s*\d{1,2}\s*年度)")
# 「令和元年から4年にかけて」: the last year of a range may be said as 年 alone (a calendar-year row), once
# a range word joins it to the first; 6年間, 6年目, 6年前 are spans and counts, not years.
_BARE_TO = re.compile(r"(?:から|~|〜|～|-|－|→)\s*((\d{1,2})\s*年)(?![度間目前後生次半齢代])")
# Relative years, longest first. 「前の年」 needs no 度; 「その前」 alone steps back in a follow-up.
_RELATIVE: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"一昨年度?|おととし|前々年度?|2年前|2年(?:さかのぼ|遡|戻)"), -2),
    (re.compile(r"その前の年度?|前の年度?|前年度|昨年度|去年|前年|1年前|さらに前|その前|1年(?:さかのぼ|遡|戻)"), -1),
    (re.compile(r"その次の年度?|次の年度?|翌年度?|来年度|1年後|1年(?:先|進)"), +1),
    # 「そこから令和4年度までは」: the year under discussion starts a range
    (re.compile(r"今年度|本年度|当該年度|同年度|同じ年度?|その年度?|そこ(?=から)"), 0),
)
_RANGE_JOIN = re.compile(r"^\s*(?:から|より|~|〜|～|-|ー|―|－|→)\s*$")

_KIND_RE = re.compile(KIND_PATTERN)
_KINDS: dict[str, Kind] = KIND_OF_WORD


@dataclass(frozen=True)
class YearRef:
    """A year named in a question. `bare` years ('28年度') are read in the era the sheet uses;
    `relative` ones count from the year under discussion. `kind` is written right after it."""

    text: str
    start: int
    western: int | None = None
    bare: int | None = None
    relative: int | None = None
    kind: Kind | None = None

    def candidates(self) -> list[int]:
        if self.western is not None:
            return [self.western]
        if self.bare is not None:
            return [ERAS[e] + self.bare - 1 for e in ("令和", "平成", "昭和")]
        return []


def find_years(t: str) -> list[YearRef]:
    """Years in normalised text, in the order written, each with the kind written after it."""
    found: list[YearRef] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return not any(x < b and a < y for x, y in taken)

    for m in _ERA_YEAR.finditer(t):
        era = m.group(1)
        if len(era) == 1 and not re.match(r"[A-Za-z]\s*\d", m.group(0)):
            continue
        if len(era) == 1 and m.start() > 0 and t[m.start() - 1].isascii() and t[m.start() - 1].isalpha():
            continue  # a letter inside a word (JAXA2), not an era
        era = ERA_ABBREV.get(era.upper(), era) if len(era) == 1 else era
        n = 1 if m.group(2) == "元" else int(m.group(2))
        found.append(YearRef(m.group(0), m.start(), western=ERAS[era] + n - 1))
        taken.append(m.span())
    for m in _WESTERN.finditer(t):
        if free(*m.span()):
            found.append(YearRef(m.group(0), m.start(), western=int(m.group(1))))
            taken.append(m.span())
    for m in (*_BARE.finditer(t), *_BARE_FROM.finditer(t)):
        if free(*m.span()):
            found.append(YearRef(m.group(0), m.start(), bare=int(m.group(1))))
            taken.append(m.span())
    if found:
        for m in _BARE_TO.finditer(t):
            if free(*m.span(1)):
                found.append(YearRef(m.group(1), m.start(1), bare=int(m.group(2))))
                taken.append(m.span(1))
    for rx, delta in _RELATIVE:
        for m in rx.finditer(t):
            if free(*m.span()):
                found.append(YearRef(m.group(0), m.start(), relative=delta))
                taken.append(m.span())
    out = []
    for ref in sorted(found, key=lambda r: r.start):
        after = t[ref.start + len(ref.text): ref.start + len(ref.text) + 10]
        km = re.match(r"\s*(?:年度|年)?\s*(?:の|度|分)?\s*(?:当初)?(" + _KIND_RE.pattern + ")", after)
        at = ref.start + len(ref.text) + (km.start(1) if km else 0)
        ok = km is not None and _stands_alone(t, at, at + len(km.group(1)))
        out.append(replace(ref, kind=_KINDS[km.group(1)]) if ok and km else ref)
    return out


def is_range(t: str, years: list[YearRef]) -> bool:
    """「AからBにかけて」「A〜B」: two years joined by a range word."""
    for a, b in zip(years, years[1:], strict=False):
        between = t[a.start + len(a.text): b.start]
        between = re.sub(r"^(?:年度|年)?(?:" + _KIND_RE.pattern + r")?(?:の値)?", "", between)
        if _RANGE_JOIN.match(between):
            return True
    return False


# --- what is asked ----------------------------------------------------------------------------
COUNTERS = ("人", "回", "件", "か所", "箇所", "ヶ所", "カ所", "校", "種類", "台", "基", "頭", "トン", "t", "枚",
            "世帯", "団体", "施設", "地区", "点", "冊", "日", "時間", "隻", "戸", "社", "店", "本", "区", "園",
            "室", "棟", "個", "事業", "%", "食", "名", "組", "機", "羽", "匹", "kg", "ha", "m", "km", "kW",
            "灯", "軒", "便", "路線", "部", "床", "区画", "講座", "教室", "コース", "セット", "パック",
            # units of measure as people say them (キロ for kg or km): read against a row's unit by
            # evidence.same_unit
            "キロ", "キログラム", "キロメートル", "メートル", "グラム", "ヘクタール", "リットル", "平方メートル", "㎡")
_COUNTER_RE = "|".join(sorted(map(re.escape, COUNTERS), key=len, reverse=True))
# 「何万個」「何千人」: the magnitude belongs to the number, the counter follows it.
# 「していくつもり」 is いく + つもり (going to), not いくつ (how many).
_ASK_COUNT = re.compile(rf"何\s*[万千百億]?\s*({_COUNTER_RE})|いくつ(?!もり)|幾つ|どれくらい|どれぐらい|どのくらい|どの位")
# A count named by its noun (件数, 人数, 対象者数, 世帯数): the counter it is counted in.
# A span of time named by its noun (待ち時間, 業務時間) is measured in 時間 (or minutes: SAME_COUNTER).
_COUNT_NOUN = re.compile(r"(件|人|者|回|台|頭|世帯|戸|校|か所|箇所|施設|団体|隻|冊)数|(?<!短)(時間)(?!帯|外|内)")


def _glossed(years: list[YearRef], text: str) -> list[YearRef]:
    """「前の年（R5決算）」: a year in brackets right after a relative one says which year that is; the
    two are one year, the one written out."""
    out: list[YearRef] = []
    for i, y in enumerate(years):
        nxt = years[i + 1] if i + 1 < len(years) else None
        if y.relative is not None and nxt is not None and nxt.relative is None \
                and re.fullmatch(r"\s*(?:度)?\s*[（(]\s*", text[y.start + len(y.text):nxt.start]):
            continue
        out.append(y)
    return out


def count_noun_unit(text: str) -> str:
    """The counter a count's noun implies: 件数 counts in 件, 対象者数 and 人数 in 人, 待ち時間 in 時間;
    '' for none."""
    m = _COUNT_NOUN.search(text)
    if not m:
        return ""
    return m.group(2) or ("人" if m.group(1) == "者" else m.group(1))


# 「いくら」, or a noun of money asked by how much (「コストはどれくらい」「費用ってどのくらい」).
_ASK_MONEY = re.compile(r"いくら|幾ら|何円|金額|何千円|何万円|何百万円|何億円"
                        r"|(?:コスト|費用|経費|予算|決算|事業費|人件費|歳出|歳入|支出|収入)(?:は|って|が|も)?"
                        r"(?:全部で|合わせて|合計で|年間で?)?(?:どれくらい|どれぐらい|どのくらい|どの位)")
# 何日 is a date before に/から/です (「何日に開所」); before a verb or 間 it counts days (「何日開いた」).
_ASK_DATE = re.compile(r"いつ|何年度?に|何月|何日(?=に|から|まで|付|頃|ごろ|です|だ|\?|？|$)|時期|何年から|何年度から")
_ASK_WHO = re.compile(r"誰|だれ|どこ|どちら|どの(?:団体|機関|組織|区|学校|地域|地区|施設|人|ような人|ような方)|どんな(?:人|方|団体)|何という|名前|名称")
_ASK_REASON = re.compile(r"なぜ|何故|どうして|なんで|理由|きっかけ|経緯|発端|背景|そもそも|由来|いきさつ")
_ASK_YESNO = re.compile(r"ですか[、,]?.{1,12}ですか|ますか[、,]?.{1,12}ますか|それとも|かどうか")
# Nouns of measure: with a year, 「{year}の{one of these}は？」 asks for a figure.
_FIGURE_WORDS = re.compile(r"(?:コスト|費用|経費|予算|決算|歳出|歳入|財源|支出金|補助金|事業費|人件費|物件費|金額|額|"
                           r"人数|件数|回数|指標|目標値|実績値|値|数|率|割合|時間|単価|面積|延長|距離|重量|量|長さ|"
                           r"高さ|料金|価格|収入|支出|人口|世帯数|規模)(?=は|を|が|の|って|も|で|と|[、,，]|\s|\?|？|$)")
_DEPARTMENT = re.compile(r"担当(?:部署|課|部|係|局|室|所属)?|所管|部署|どこの課|何課|どの課|どの部|どの局|どこの所属|所属(?:先|部署|課|部|局)")
_TOPIC = re.compile(r"(?:事業|業務|取り?組み?|シート|施策)(?:は|が|って|も)?(?:何か|なにか)?(?:あり|ある|あります|存在)"
                    r"|(?:どの|どんな|何の|なんの|どういう)(?:事業|業務|取り?組み?)"
                    r"|(?:して|行って|やって|実施して|担って)いる(?:事業|業務|取り?組み?)"
                    r"|[\u3041-\u3093]て(?:い)?る(?:事業|業務|取り?組み?|制度)(?:は|って|を)?(?:どれ|何|なに|どこ|\?|？|$)"
                    r"|(?:事業|業務|制度|取り?組み?)(?:は|って)?どれ"
                    r"|(?:事業|業務)(?:を|は)?(?:教えて|知りたい|探して)"
                    r"|(?:事業|業務)(?:を|の)?一覧|(?:に関する|に関わる|関連の?|についての)(?:事業|業務)")

# 「…ってある？」 on its own: is there such a project, unless the question names a section (「関係者からは
# どんな意見があるの」 asks what the sheet says there). 「書いてある」 is 'is written', not 'exists'.
_TOPIC_BARE = re.compile(r"(?<![てで])(?:ありますか|ある\?|あるの|ある？)|ってあ(?:る|ります)")
# 「…って本当？」「…って聞いたんだけど」: whether what the asker heard of (a project, told by what it does) is so.
# With the project's name spelled (masked ＿), it is what was heard of that project that is asked.
_HEARSAY = re.compile(r"って(?:本当|ほんと)|(?:って|と)聞いた(?:んだ|んです)?(?:けど|けれど|が)?[。?？!！]*$")

# What was left of a budget (不用額, 執行残): the budget less what was spent.
_UNSPENT = re.compile(r"使い残|使わなかった|余った|不用額|執行残")
_DIFF = re.compile(r"差|違い|違う|増減|どれだけ増|どれだけ減|どのくらい増|どのくらい減|いくら増|いくら減|何件増|何人増|"
                   r"何件減|何人減|上回|下回|多かった|少なかった|増えた|減った|伸び|多い|少ない|高い|安い|低い"
                   r"|残った|" + _UNSPENT.pattern)
_CHANGE = re.compile(r"増えた|減った|増えて|減って|増加|減少|伸び|変わ|変化|推移|動き|動向|比べ|比較|より多|より少|上回|下回|前年度より|前年より")
_SPENT = (Kind.SETTLED, Kind.SETTLED_ESTIMATE, Kind.ACTUAL)
_SUM = re.compile(r"合計|合わせ|足す|足した|足すと|累計")
_RATE = re.compile(r"率|何%|何％|割合|何割|パーセント")
# A share asked of the answer itself (「何％」「割合は」「率って」), not a rate row merely named (受診率の推移): the
# narrower reading of _RATE that a plain amount cannot answer.
_ASKS_SHARE = re.compile(r"何\s*[%％]|割合|比率|何割|パーセント|率は|率って")


def asks_share(text: str) -> bool:
    return bool(_ASKS_SHARE.search(text))


_TREND = re.compile(r"推移|動向|移り変わり|経年|毎年|各年度|年度ごと|年ごと|変遷|年度別|年別|これまでの")
_COMPARE = re.compile(r"比べ|比較|対して|と比")
_MANNER = re.compile(r"どう(?!して)|どんな|どのよう|どういう")

# Cue words of the sections every 行政評価 form prints, as priors (how strongly a section is meant).
SECTION_CUES: tuple[tuple[re.Pattern[str], tuple[Section, ...]], ...] = (
    # 「始めた頃と比べて何が変わった」 is the form's own question for 環境変化, not the origin.
    (re.compile(r"(?:始め|始ま|開始|当初)[^。、?？]{0,8}(?:比べ|比較|と比)"), (Section.CHANGES,)),
    (re.compile(r"きっかけ|経緯|発端|なぜ始|何故始|どうして始|(?:始ま|始め|開始)(?![^。、?？]{0,8}(?:比べ|比較|と比))|そもそも|創設|由来|いつ始|いつから|ができた|が作られ|が生まれ"
                r"|(?<![\u4e00-\u9fff])(?:やる|する|行う)ことになっ"),  # 「…をやることになった」: how it came to be done
     (Section.ORIGIN, Section.PERIOD)),
    (re.compile(r"課長|所管課長|全体総括"), (Section.MANAGER_OPINION,)),
    (re.compile(r"外部評価|委員会の意見|評価委員"), (Section.EXTERNAL_REVIEW, Section.EVALUATION)),
    (re.compile(r"(?:(?:市民|住民|関係者|議会|利用者|事業者|対象者|地域)(?:から|の|側の)*)?(?:意見|要望|声|苦情|反応|評判|ニーズ"
                r"|お願い|不満|言われ|求め|受け止め|クレーム)"),
     (Section.OPINIONS, Section.EXTERNAL_REVIEW)),
    (re.compile(r"環境変化|取り巻く|状況.*(?:変わ|動)|変化|変わって"), (Section.CHANGES,)),
    # 「昔は誰が対象だった」: how it was before, which the form tells where it says what has changed.
    (re.compile(r"(?:昔|以前|かつて)(?:は|の|って)"), (Section.CHANGES, Section.ORIGIN)),
    (re.compile(r"直営|委託|実施形態|実施方法|執行体制|指定管理|民間"), (Section.DELIVERY, Section.STAFFING)),
    (re.compile(r"根拠|法令|条例|要綱|法律|規則|基づ"), (Section.LEGAL_BASIS,)),
    (re.compile(r"課題|問題点|困って|困り|悩み|ネック|うまくいって(?:い)?ない|進まな|伸びな|広まらな|原因"),
     (Section.ISSUES, Section.DIRECTION, Section.EVALUATION)),
    (re.compile(r"方向性|今後|見直し|改善|改革|これから|この先|将来|最終的|方針|どうするつもり|どうする考え|やめる|終わりに"),
     (Section.DIRECTION, Section.MANAGER_OPINION)),
    (re.compile(r"他都市|他市|他の自治体|政令市"), (Section.OTHER_CITIES,)),
    (re.compile(r"取り組み|取組|成果|実績|何をした|行った"), (Section.ACTIVITIES, Section.MEANS_DONE, Section.RESULT)),
    # 「何をしてるの」: what the project does, as a whole (its 概要), not last year's activities.
    (re.compile(r"何をして(?:いる|る|います|ます)"), (Section.OVERVIEW, Section.MEANS, Section.PURPOSE)),
    (re.compile(r"手段|活動内容|何をし(?!て(?:いる|る|います|ます))|具体的|やり方|方法"),
     (Section.MEANS_DONE, Section.MEANS_PLAN, Section.MEANS)),
    (re.compile(r"目的|意図|ねらい|狙い|目指|めざ|何のため|なんのため|何の為"), (Section.PURPOSE, Section.RESULT)),
    (re.compile(r"対象|誰を|だれを|どのような人|どんな人|どのような方|利用でき"), (Section.TARGET,)),
    # 「始めた理由」「やることになった理由」 ask how it began (above), not for a rating's 判断理由.
    (re.compile(r"評価|妥当|有効|効率|達成状況|判断理由|(?<!始めた)(?<!始まった)(?<!開始した)(?<!始めたの)(?<!ことになった)(?<!ことになったの)理由"),
     (Section.EVALUATION,)),
    (re.compile(r"概要|どんな事業|どのような事業|何をする|事業内容|内容"), (Section.OVERVIEW, Section.MEANS)),
    # 「まつり期間中の」: during some other period, not the project's own 事業期間
    (re.compile(r"期間(?!中)|いつまで|終了"), (Section.PERIOD,)),
    (re.compile(r"政策|施策|体系|総合計画|基本事業|SDGs"), (Section.POLICY,)),
)

# Words that name a table of figures on the forms (a prior for its rows).
TABLE_CUES: tuple[tuple[str, Table], ...] = (
    ("トータルコスト", Table.TOTAL_COST), ("総コスト", Table.TOTAL_COST), ("フルコスト", Table.TOTAL_COST),
    ("上位成果指標", Table.UPPER_OUTCOME), ("成果指標", Table.OUTCOME), ("活動指標", Table.ACTIVITY),
    ("対象指標", Table.TARGET), ("単位あたり", Table.UNIT_COST), ("当たり", Table.UNIT_COST),
    ("事業実績", Table.PERFORMANCE), ("財源", Table.FUNDING), ("支出金", Table.FUNDING),
    ("補助金", Table.FUNDING), ("地方債", Table.FUNDING), ("人件費", Table.PERSONNEL), ("職員", Table.PERSONNEL),
    ("従事", Table.PERSONNEL), ("業務時間", Table.PERSONNEL), ("事業費", Table.COST), ("歳出", Table.COST),
    ("経費", Table.COST), ("物件費", Table.COST),
)

# A project named in a question: a run of name characters ending with 事業/業務/事務
# (「不法投棄対策事業」「税務事務」), or anything in 「」. A run right after a verb or adjective
# (「関する事業」「している事業」) is a description, not a name; so are generic heads (各種事業).
_NAMED = re.compile(r"[「『]([^」』]{2,60})[」』]|([^\s、。,.?？!！「」『』()（）はがをにでとのもへやか]{2,60}(?:事業|業務|事務)"
                    r"(?:\s?[（(][^）)]{1,24}[）)])?)(?!費|計|者|所|体|量|数|名|の数|局|課|室|係|部|センター|委員会)")
_GENERIC_HEAD = re.compile(r"^(?:各種|関連|同|本|当|その|この|あの|全|他|主な|主要|新規|既存|継続|当該|類似|関係|個別|全て|すべて|"
                           r"基本|重点|一般|全体|事務|\d+つの|\d+)(?:事業|業務|事務)$")  # 基本事業: a policy level; 事務事業: the word
# Kana that make a run a description, not a name: a verb or adjective inside it (担当している事務事業).
_VERBAL = re.compile(r"(?:して|した|する|される|された|されて|いる|いた|ある|あった|ない|れる|られる|ている|てる|った|って)")
_DEMONSTRATIVE = re.compile(r"(?:この|その|同|本|当|あの|上記の?)(?:事業|業務|事務|シート|取組|取り組み)|同事業|本事業")
_LEADING = re.compile(r"^(?:では|じゃあ|それでは|それなら|じゃ|なら|で、|では、|そしたら|あと|また)")
_SUBJECTLESS = re.compile(r"^(?:では|じゃあ|それでは|それなら|じゃ|なら)?[、,]?\s*(?:その|この)?(?:前|次|翌)")


@dataclass(frozen=True)
class Query:
    text: str                                  # as typed
    norm: str                                  # NFKC, numerals as digits
    tokens: tuple[str, ...]                    # BM25 tokens of the whole question
    years: tuple[YearRef, ...] = ()
    year_range: bool = False
    kinds: tuple[Kind, ...] = ()
    answer: AnswerType = AnswerType.TEXT
    op: Op = Op.VALUE
    counter: str = ""                          # 何人 -> 人
    count_noun: str = ""                       # 件数 -> 件: the counter a count's noun implies, unasked
    counted: str = ""                          # いくつの小学校区 -> 小学校区 (what is counted)
    cues: tuple[str, ...] = ()                 # the words that cued a section (routing, not content)
    money: bool = False                        # いくら / 金額
    numeric: bool = False                      # asks for a figure (count, money, a table's value)
    sections: tuple[tuple[Section, float], ...] = ()  # section priors, strongest first
    tables: tuple[Table, ...] = ()
    named: tuple[str, ...] = ()                # project names the question spells out
    quoted: tuple[str, ...] = ()               # 「…」 in the question: an exact label or name
    subject: str = ""                          # what the question is about: 「Xは…」's X
    demonstrative: bool = False                # この事業 / その事業
    leading: bool = False                      # では… / じゃあ…
    municipality: str = ""
    context: dict = field(default_factory=dict)  # set by the conversation state

    @property
    def kind(self) -> Kind | None:
        return self.kinds[0] if self.kinds else None

    def with_(self, **changes: object) -> Query:
        return replace(self, **changes)


# 「人件費を含めた総額」「人件費込みで」: the cost with the staff cost added, which the forms
# print as トータルコスト (事業費 + 人件費), not the 人件費 row.
_WITH_STAFF = re.compile(r"人件費(?:も|まで|を)?(?:含めて|含めた|含めると|含む|入れて|入れた|入れると|足すと|足した|込みで|込みの|込み)")


# How to round the result (「小数第1位まで」「千円未満四捨五入」): how to print it, not what is asked.
_ROUNDING = re.compile(r"(?:小数(?:点)?(?:第?\s*\d+\s*位|以下\s*\d+\s*桁|以下)|[千百万]?円未満|\d+桁)(?:まで)?(?:を|は)?"
                       r"(?:四捨五入|切り捨て|切捨て|切り上げ|切上げ)?(?:で|して|した)?"
                       r"|(?:四捨五入|切り捨て|切捨て|切り上げ|切上げ)(?:で|して|した)?")


def normalize(text: str) -> str:
    t = unicodedata.normalize("NFKC", text or "").strip()
    t = t.replace("見込み", "見込").replace("見込額", "見込")
    t = _WITH_STAFF.sub("トータルコスト", t)
    t = re.sub(r"\(\s*[、,]?\s*\)", "", _ROUNDING.sub("", t))
    return normalize_numerals(t)


def _kinds_in_order(t: str) -> tuple[Kind, ...]:
    return tuple(_KINDS[m.group(0)] for m in _KIND_RE.finditer(t) if _stands_alone(t, m.start(), m.end()))


_KANJI = re.compile(r"[\u4e00-\u9fff\u30a0-\u30ffー]")


def _stands_alone(t: str, a: int, b: int) -> bool:
    """A kind word asks for a kind when it stands as a word (「R5決算」「予算は」「実績値」); inside a
    compound noun it names something else (「保全計画推進協議会」「目標達成件数」)."""
    before = t[a - 1] if a > 0 else ""
    after = t[b] if b < len(t) else ""
    joined_before = bool(before and _KANJI.match(before)) and not re.search(r"(?:年度|年|当初|\d)$", t[max(0, a - 3):a])
    joined_after = bool(after and _KANJI.match(after)) and after not in "額値分案現"
    # 「何億円見込んでいるか」: the verb (見込ん, 見込む, 見込まれる), expecting, not a column printed 見込.
    verb = t[a:b].endswith("込") and bool(after) and after in "んむまめ"
    return not (joined_before or joined_after or verb)


# A measure noun right after a cue word makes one compound with it: 「対象者数」 counts people, 「委託料」 is
# money; neither asks what the 対象 or 委託 section says.
_MEASURE_AFTER = re.compile(r"(?:者|人|件|世帯|団体|施設)?(?:数|率|額|量|費|料|値)")


# A cue verb that modifies talk (「廃止するって話」「やめるという件」) says what was talked of, not what is asked:
# it stays a content word, and points at no section.
_TOLD_OF = re.compile(r"(?:って|という|とかいう|との)?(?:話|件|噂|うわさ)")


def section_priors(t: str) -> tuple[tuple[tuple[Section, float], ...], tuple[str, ...]]:
    """Sections the question's words point at, each with a weight (first section of a cue 1.0, the
    others 0.6; a section cued twice keeps its best weight), and the cue words themselves."""
    out: dict[Section, float] = {}
    cues: list[str] = []
    for rx, secs in SECTION_CUES:
        for m in rx.finditer(t):
            if _MEASURE_AFTER.match(t, m.end()):
                continue  # 対象者数, 委託料: the cue word begins a quantity's name, a row's, not a section's
            # A cue takes the kana after it (始まった, 始めたの): an inflection, not content.
            tail = re.match(r"[\u3041-\u3096]*", t[m.end():]).group(0)  # pyright: ignore[reportOptionalMemberAccess] - * always matches
            if _TOLD_OF.match(t, m.end() + len(tail)):
                continue  # 「やめるって話」: the cue tells what the talk was of, the question asks what became of it
            cues.append(m.group(0) + (tail if not re.search(r"[はがをにでとのもへや]$", m.group(0)) else ""))
            for i, sec in enumerate(secs):
                out[sec] = max(out.get(sec, 0.0), 1.0 if i == 0 else 0.6)
    return tuple(sorted(out.items(), key=lambda kv: -kv[1])), tuple(dict.fromkeys(cues))


# Why a project does what it does, asked of it by name and nothing else (「…はなんでやってるの」): the
# form tells it where the project began, what it is for, and (on forms without those) in the overview's
# background.
WHY_SECTIONS = ((Section.ORIGIN, 1.0), (Section.PURPOSE, 0.6), (Section.OVERVIEW, 0.6))


# Staff words name the personnel table when they stand alone (職員数, 職員は何人, 正規職員); after another noun
# (情報化担当職員数, 受講した職員数 is 職員数 too) they count a kind of staff, which indicator rows do.
_STAFF_CUES = ("職員", "従事")
# 「何人でやってる」「何名体制」: by how many people the work is done, the form's staff (人件費) table.
_STAFFED = re.compile(r"(?:何|なん)(?:人|名)(?:体制|で(?:やって|回して|担当|対応|運営|実施|行って|して|こなして))")
_RECEIVED = re.compile(r"もらえ|もらう|もらっ|貰|受け取|受けられ|支給され|給付され|出るの|出る\?|出る？|出ます")


def _names_table(t: str, cue: str) -> bool:
    if cue not in _STAFF_CUES:
        return cue in t
    return any(m.start() == 0 or not _KANJI.match(t[m.start() - 1]) or t[:m.start()].endswith(("正規", "正"))
               for m in re.finditer(re.escape(cue), t))


def _asks_department(t: str) -> bool:
    """「担当課は？」「所管は」 — not 「直売所管理」, where 所管 sits inside a compound."""
    return any(_stands_alone(t, m.start(), m.end()) or m.group(0).startswith(("どこ", "何", "どの"))
               for m in _DEPARTMENT.finditer(t))


def _ends_in_verb(t: str) -> bool:
    """The question's last word is a verb or adjective (its dictionary form ends in kana; どう is an
    asking word, not a predicate)."""
    from .match import inflected

    words = [w for w in tokenize(t) if not w.startswith(("ど", "何"))]
    return bool(words) and inflected(words[-1])


def _answer_type(t: str, numeric: bool, named_section: bool = False) -> AnswerType:
    if _ASK_REASON.search(t) and not (_ASK_COUNT.search(t) or _ASK_MONEY.search(t)):
        return AnswerType.REASON  # 「補助制度ができた経緯」: a history, whatever table word it names
    if _asks_department(t) and not numeric and not _ASK_DATE.search(t) and not re.search(r"人数|職員数|何人", t):
        if re.search(r"どこ|何課|どの課|どの部|どの局|部署|担当課|所管課|所管局|教えて|は\?|は？|は$", t):
            return AnswerType.DEPARTMENT
    topic = _TOPIC.search(t) or ((_TOPIC_BARE.search(t) or (_HEARSAY.search(t) and "＿" not in t))
                                 and not named_section)
    if topic and not numeric and not _ASK_DATE.search(t):
        return AnswerType.TOPIC
    if numeric:
        return AnswerType.NUMBER
    if _ASK_DATE.search(t):
        return AnswerType.DATE
    if _ASK_YESNO.search(t):
        return AnswerType.YESNO
    if _ASK_REASON.search(t):
        return AnswerType.REASON
    if _ASK_WHO.search(t):
        return AnswerType.WHO
    return AnswerType.TEXT


def _op(t: str, years: list[YearRef], kinds: tuple[Kind, ...], year_range: bool) -> Op:
    two = len(years) >= 2 or (len(years) == 1 and len(set(kinds)) >= 2)
    if _RATE.search(t) and _DIFF.search(t):
        return Op.RATE
    if two and _DIFF.search(t):
        # 「R1からR4までどのように増えてきた？」: how it moved over a range is its course, each year of it
        # (the change is given with it); 「何人増えた？」 asks the difference alone.
        return Op.CHANGE if year_range and _MANNER.search(t) else Op.DIFF
    if _SUM.search(t) and two:
        return Op.SUM
    if _TREND.search(t) and len(years) < 2:
        return Op.TREND
    if two and (year_range or _CHANGE.search(t)):
        return Op.CHANGE
    if any(y.relative is not None for y in years) and _CHANGE.search(t):
        return Op.CHANGE  # 前年度より増えた？
    if len(years) == 1 and _COMPARE.search(t):
        return Op.COMPARE  # 令和4年度と比べると？ (the other year is the one discussed)
    if _CHANGE.search(t) and not years and re.search(r"どう変わ|増えて|減って|推移", t):
        return Op.TREND
    return Op.VALUE


def parse(text: str, municipalities: tuple[str, ...] = (), mask: tuple[str, ...] = ()) -> Query:
    """The typed query. Names (a project's name the question spells out, and `mask`: names found by
    the store) are masked before the question's intent is read: 「職員健康管理事業の環境変化」 asks
    about a change, not about 職員; 「…補助金交付事業の経緯」 about a history, not a 補助金."""
    t = normalize(text)
    quoted = tuple(m.group(1) for m in _NAMED.finditer(t) if m.group(1))
    muni = next((m for m in municipalities if city_stem(m) and city_stem(m) in t), "")
    named = tuple(dict.fromkeys(n for m in _NAMED.finditer(t) if m.group(2)
                                for n in [_drop_prefix(_drop_opening(m.group(2), m.start(2)), muni)]
                                if _names_a_project(t, m.start(2), n)))
    # A name the store catalogues, spelled whole in the question, is the name asked about, kana and
    # all: particles inside names (ふるさと, こども) cut the run above short (「納税事務」), and so
    # does a word after 事業 (…運営事業補助).
    whole = [normalize(x) for x in mask if x and normalize(x) in t]
    named = tuple(dict.fromkeys(max((w for w in whole if n in w), key=len, default=n) for n in named))
    m_ = t
    for name in sorted({*named, *(normalize(x) for x in mask if x)}, key=lambda n: (-len(n), n)):
        m_ = m_.replace(name, "＿" * len(name))  # same length: positions of years stay put
    years = _glossed(find_years(m_), m_)
    kinds = _kinds_in_order(m_)
    year_range = is_range(m_, years)
    counter_m = _ASK_COUNT.search(m_)
    counter = counter_m.group(1) if counter_m and counter_m.lastindex else ""
    money = bool(_ASK_MONEY.search(m_))
    tables = tuple(dict.fromkeys(tab for w, tab in TABLE_CUES if _names_table(m_, w)))
    if not tables and _STAFFED.search(m_):
        tables = (Table.PERSONNEL,)  # 「何人で回してる」「何人体制」: the staff who do the work
    numeric = bool(counter_m or money or tables or re.search(r"何\s*%|何割|率は|割合", m_)
                   or (years and (_FIGURE_WORDS.search(m_) or kinds)))
    if _ASK_DATE.search(m_) and not (money or tables):
        numeric = False  # 「いつ設立」 asks for a date, even with a year-like word nearby
    if numeric and tables and not (counter_m or money or years or kinds or _RATE.search(m_) or _CHANGE.search(m_)
                                   or _DIFF.search(m_)) and _ends_in_verb(m_):
        # 「窓口は市の職員が自分で回してる？」: a table's word (職員) in a question whose predicate is a verb of
        # its own asks how the work is done, not for the table's figure (「職員は？」「人件費は？」 do).
        numeric = False
    sections, cues = section_priors(m_)
    named_section = any(wt >= 1.0 for _, wt in sections)
    if numeric and not (counter_m or money or years or _RATE.search(m_)) and (_TOPIC.search(m_) or named_section):
        # A table's word and nothing that asks a figure: it describes the project sought (「補助金がもらえる
        # 事業ってある？」) or what a section says of it (「人件費の削減余地ありと評価されたか」).
        numeric = False
    if numeric and money and not (tables or years or kinds or counter_m) and _RECEIVED.search(m_):
        # 「いくらもらえる」「いくら支給される」: what one person or household receives, which the sheet
        # writes in its sentences (１人目に２万円), not the project's cost.
        numeric = False
    answer = _answer_type(m_, numeric, named_section)
    if answer is AnswerType.REASON:
        numeric = False
    if _UNSPENT.search(m_) and Kind.BUDGET in kinds and not any(k in kinds for k in _SPENT):
        kinds = (*kinds, Kind.SETTLED)  # 「予算の使い残しは何円」: the budget against the settled account
    op = _op(m_, years, kinds, year_range)
    if op in (Op.DIFF, Op.SUM, Op.RATE, Op.CHANGE, Op.TREND, Op.COMPARE) and (tables or _FIGURE_WORDS.search(m_)):
        numeric, answer = True, AnswerType.NUMBER
    # What a count without a counter counts: 「いくつの小学校区」, or the noun it is asked of (「店舗がいくつ」).
    cm = (re.search(r"(?:いくつ|幾つ|何)の([\u4e00-\u9fff\u30a0-\u30ff]{1,8})", m_)
          or re.search(r"([\u4e00-\u9fff\u30a0-\u30ff]{1,8})(?:は|が|って|も)(?:全部で|合わせて|合計で|今)?(?:いくつ|幾つ)(?!もり)", m_))
    sm = re.match(r"^(.{2,40}?)(?:って|とは|は)", t)
    return Query(text=text, norm=t, subject=sm.group(1) if sm else "", tokens=tuple(tokenize(t)), years=tuple(years), year_range=year_range,
                 kinds=kinds, answer=answer, op=op, counter=counter, count_noun=count_noun_unit(m_), counted=cm.group(1) if cm else "",
                 cues=cues, money=money, numeric=numeric, sections=sections, tables=tables, named=named, quoted=quoted,
                 demonstrative=bool(_DEMONSTRATIVE.search(t)), leading=bool(_LEADING.search(t)),
                 municipality=muni)


# A word that opens a follow-up (じゃあ, それなら) is written in kana the name run takes in:
# 「じゃあ防犯灯設置事業のほうは」 names 防犯灯設置事業.
_OPENERS = r"(?:それでは|それなら|そしたら|じゃあ|では|じゃ|なら)"
_OPENING_WORD = re.compile("^" + _OPENERS)


def _drop_opening(name: str, start: int) -> str:
    if start == 0 and (m := _OPENING_WORD.match(name)) and len(name) - m.end() >= 4:
        return name[m.end():]
    return name


def _drop_prefix(name: str, municipality: str) -> str:
    for prefix in (municipality, city_stem(municipality)):
        if prefix and name.startswith(prefix) and len(name) > len(prefix) + 2:
            return name[len(prefix):]
    return name


def _names_a_project(t: str, start: int, name: str) -> bool:
    if _GENERIC_HEAD.match(name) or len(name) < 4:
        return False
    head = re.sub(r"(?:事業|業務|事務)(?:\s?[（(][^）)]*[）)])?$", "", name)
    if "\u3041" <= head[-1] <= "\u3096" or _VERBAL.search(head):
        return False  # 「関する事業」「担当している事務事業」: a verb inside describes, it does not name
    before = t[start - 1] if start > 0 else ""
    # 「…に関する事業」「…している事業」: the run follows kana of a verb or adjective (a description).
    return not (before and "\u3041" <= before <= "\u3096" and before not in "のをはがにでとへやも")


# A city named as the owner of what is asked: 「仙台市の…」「宮城県仙台市で…」. The words of the forms that end
# in 市 and name no city (政令市, 中核市, 他都市, 本市) are not names; nor is 市 that begins another word
# (市町村, 市場, 市民, 市役所).
_CITY = re.compile(r"(?<![\u4e00-\u9fff])(?:[\u4e00-\u9fff]{2,3}[都道府県])?([\u4e00-\u9fff]{2,4}市)"
                   r"(?=の|で|は|が|って|、|,|に(?:おけ|ある)|\s)")
_NOT_A_CITY = re.compile(r"^(?:政令|中核|特例|指定|指定都|近隣|周辺|県内|府内|管内|域内|大都|他都|都|各|全|本|当|同|他|沿線|県下"
                         r"|姉妹|友好|姉妹都|友好都|近隣都|周辺都|構成|関係)市$")


# 「北部地区のほうは？」「じゃあ本庁の方だと？」: a follow-up that sets another subject against the one
# under discussion (〜のほう, the contrastive "the one of X"); the rest of the question is inherited.
_PHRASE = r"([^\s、。,?？!！「」]{2,30}?)"
_CONTRAST = re.compile(rf"^(?:{_OPENERS}|で)?[、,]?\s*{_PHRASE}の(?:ほう|方)(?:は|だと|では|って|も|なら|について|の)"
                       # 「では南分室は？」: an opener sets the phrase it brings up against the one under discussion
                       rf"|^{_OPENERS}[、,]?\s*{_PHRASE}(?:は|だと|では|って|なら)")


def contrast_subject(t: str) -> str:
    m = _CONTRAST.match(t)
    return (m.group(1) or m.group(2)) if m else ""


def other_city(t: str, municipalities: tuple[str, ...]) -> str:
    """A city the question asks about that no sheet in the store belongs to ('' when none is, or
    when the question also names one that is): its sheets cannot answer, however alike."""
    known = [m for m in municipalities if m]
    if any(city_stem(m) in t for m in known):
        return ""
    for m in _CITY.finditer(t):
        name = m.group(1)
        if not _NOT_A_CITY.match(name) and not any(name in k or k in name for k in known):
            return name
    return ""


def city_stem(municipality: str) -> str:
    """A city's name as people shorten it: 大船渡市 → 大船渡 (市町村区 dropped, when something is left)."""
    return municipality[:-1] if len(municipality) > 2 and municipality[-1] in "市町村区" else municipality


def subjectless(q: Query) -> bool:
    """A follow-up that names nothing of its own: 「その前の年度は？」「では令和3年度は？」."""
    return bool(_SUBJECTLESS.search(q.norm)) or (q.leading and len(q.norm) <= 16)
