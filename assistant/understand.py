"""Understanding a Japanese question: intent, years (和暦/西暦/relative), kind, section, follow-ups."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace

from ingest.normalize import ERA_ABBREV, ERAS, era_year_to_western
from ingest.records import Kind, Section, Table

# --- years ------------------------------------------------------------------------------------
_ERA_YEAR = re.compile(r"(明治|大正|昭和|平成|令和|[MTSHRmtshr])\s*(元|\d{1,2})\s*(?:年度?)?")
_WESTERN = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年度?")
_BARE = re.compile(r"(?<![\d.,])(\d{1,2})\s*年度")
_RELATIVE = [
    (re.compile(r"その前の年度|その前年|前の年度|前年度|昨年度|去年|前年"), -1),
    (re.compile(r"一昨年度|おととし|前々年度"), -2),
    (re.compile(r"その次の年度|次の年度|翌年度|来年度|翌年"), +1),
    (re.compile(r"今年度|本年度|当該年度"), 0),
]


@dataclass(frozen=True)
class YearRef:
    """A year named in a question. `bare` years ('28年度') are read in the era the sheet uses.

    `kind` is the kind written right after the year ('R5決算', '令和6年度予算'), if any."""

    text: str
    western: int | None = None
    bare: int | None = None
    relative: int | None = None
    kind: Kind | None = None

    def candidates(self) -> list[int]:
        if self.western is not None:
            return [self.western]
        if self.bare is not None:
            # Most recent era first; a sheet's own columns decide between them.
            return [era_year_to_western(e, self.bare) for e in ("令和", "平成", "昭和")]
        return []


def find_years(text: str) -> list[YearRef]:
    t = unicodedata.normalize("NFKC", text)
    found: list[tuple[int, YearRef]] = []
    taken: list[tuple[int, int]] = []
    for m in _ERA_YEAR.finditer(t):
        era = m.group(1)
        era = ERA_ABBREV.get(era.upper(), era) if len(era) == 1 else era
        if len(m.group(1)) == 1 and not re.match(r"[A-Za-z]\s*\d", m.group(0)):
            continue
        n = 1 if m.group(2) == "元" else int(m.group(2))
        found.append((m.start(), YearRef(m.group(0), western=ERAS[era] + n - 1)))
        taken.append(m.span())
    for m in _WESTERN.finditer(t):
        found.append((m.start(), YearRef(m.group(0), western=int(m.group(1)))))
        taken.append(m.span())
    for m in _BARE.finditer(t):
        if not any(a <= m.start() < b for a, b in taken):
            found.append((m.start(), YearRef(m.group(0), bare=int(m.group(1)))))
    for rx, delta in _RELATIVE:
        for m in rx.finditer(t):
            if not any(a <= m.start() < b for a, b in taken):
                found.append((m.start(), YearRef(m.group(0), relative=delta)))
                taken.append(m.span())
    out = []
    for pos, ref in sorted(found, key=lambda p: p[0]):
        after = t[pos + len(ref.text): pos + len(ref.text) + 8]
        kind = next((k for w, k in _KINDS if re.match(rf"\s*(?:年度|年)?\s*(?:の|度)?\s*{w}", after)), None)
        out.append(replace(ref, kind=kind) if kind else ref)
    return out


# --- kinds, tables, sections -------------------------------------------------------------------
_KINDS = [("決算見込", Kind.SETTLED_ESTIMATE), ("決算", Kind.SETTLED), ("予算", Kind.BUDGET),
          ("目標", Kind.TARGET), ("実績", Kind.ACTUAL), ("見込", Kind.ESTIMATE), ("計画", Kind.PLAN),
          ("達成率", Kind.ACHIEVEMENT)]

# Words that name a table; the row matcher also reads row labels directly.
TABLE_WORDS: list[tuple[str, Table]] = [
    ("トータルコスト", Table.TOTAL_COST), ("総コスト", Table.TOTAL_COST), ("フルコスト", Table.TOTAL_COST),
    ("上位成果指標", Table.UPPER_OUTCOME), ("成果指標", Table.OUTCOME), ("活動指標", Table.ACTIVITY),
    ("対象指標", Table.TARGET), ("単位あたりコスト", Table.UNIT_COST), ("事業実績", Table.PERFORMANCE),
    ("財源", Table.FUNDING), ("人件費", Table.PERSONNEL), ("事業費", Table.COST), ("歳出", Table.COST),
    ("経費", Table.COST), ("物件費", Table.COST),
]

SECTION_WORDS: list[tuple[re.Pattern[str], tuple[Section, ...]]] = [
    (re.compile(r"きっかけ|なぜ始|始まった理由|始めた理由|開始した理由|経緯|いつ始|いつから|始まった|開始年度|創設"),
     (Section.ORIGIN, Section.PERIOD)),
    (re.compile(r"課長.*意見|所管課長"), (Section.MANAGER_OPINION,)),
    (re.compile(r"外部評価"), (Section.EXTERNAL_REVIEW,)),
    (re.compile(r"意見|要望|声|苦情"), (Section.OPINIONS, Section.EXTERNAL_REVIEW, Section.MANAGER_OPINION)),
    (re.compile(r"環境変化|状況.*変化|どう変わ|変化して"), (Section.CHANGES,)),
    (re.compile(r"直営|委託|実施形態|実施方法|執行体制"), (Section.DELIVERY, Section.STAFFING)),
    (re.compile(r"根拠|法令|条例|要綱|法律"), (Section.LEGAL_BASIS,)),
    (re.compile(r"課題"), (Section.ISSUES,)),
    (re.compile(r"方向性|今後|見直し"), (Section.DIRECTION, Section.MANAGER_OPINION)),
    (re.compile(r"他都市|他市|他の自治体"), (Section.OTHER_CITIES,)),
    (re.compile(r"取組|取り組|成果を|成果は"), (Section.ACTIVITIES, Section.MEANS_DONE, Section.RESULT)),
    (re.compile(r"手段|活動内容|何をして|具体的"), (Section.MEANS_DONE, Section.MEANS_PLAN, Section.MEANS)),
    (re.compile(r"目的|意図|ねらい|狙い|目指"), (Section.PURPOSE, Section.RESULT)),
    (re.compile(r"対象(?!指標)|誰を|だれを|どのような人|どんな人"), (Section.TARGET, Section.MEANS)),
    (re.compile(r"評価|妥当|有効性|効率性|達成状況"), (Section.EVALUATION,)),
    (re.compile(r"概要|どんな事業|どのような事業|何をする事業|事業内容"), (Section.OVERVIEW,)),
]
_DEPARTMENT = re.compile(r"担当|所管|部署|どこの課|何課|どの課|課はどこ")
_DERIVED = re.compile(r"差|違い|違う|増減|増え|減っ|減り|比べ|伸び|増加|減少|合計|合わせ|倍|少なかった|多かった|上回|下回")
_RATE = re.compile(r"増減率|伸び率|何%|何％|割合|率は")
_SUM = re.compile(r"合計|合わせ|総額|累計")
_TREND = re.compile(r"推移|経年|毎年|各年度|年度ごと|年ごと|動き|変遷")
_LIST = re.compile(r"(どの|どんな|何の|なんの)事業|事業(を|は)?(すべて|全て|一覧|挙げ|教えて)|一覧|事業が(あり|ある)|事業はいくつ"
                   r"|関する事業|関連する事業|事業(は|が)?何(件|個)?(あり|ある)")
_COUNTER = r"(?:点|個|台|校|種類|か所|箇所|ヶ所|世帯|冊|件|回|人|円|団体|事業|施設|日|時間|%|％)"
_FIGURE_HINT = re.compile(r"いくら|金額|費|コスト|予算|決算|歳出|財源|人数|回数|件数|指標|目標値|実績値|値|数は|率|額|"
                          rf"いくつ|どれくらい|どのくらい|何{_COUNTER}")
_ASKED_UNIT = re.compile(rf"何({_COUNTER})")


def asked_unit(text: str) -> str:
    """The counter a question asks in: 何点 -> 点, 何人 -> 人."""
    m = _ASKED_UNIT.search(unicodedata.normalize("NFKC", text))
    return m.group(1) if m else ""
FOLLOWUP = re.compile(r"^(では|じゃあ|それでは|それ|その|この|あの|同じ|また|次|前)|その事業|この事業|同事業")


def _KINDS_BY_POSITION(text: str) -> list[tuple[str, Kind]]:  # noqa: N802 - a table-like helper
    """Kinds named in the text, in order, longest word first at each place (決算見込 before 決算)."""
    found: list[tuple[int, str, Kind]] = []
    taken: list[tuple[int, int]] = []
    for w, k in sorted(_KINDS, key=lambda x: -len(x[0])):
        for m in re.finditer(w, text):
            if not any(a <= m.start() < b for a, b in taken):
                found.append((m.start(), w, k))
                taken.append(m.span())
    return [(w, k) for _, w, k in sorted(found)]


_ANSWER_TYPES = [
    (re.compile(r"いつ|何年|何月|何日"), r"(?:\d+|元)\s*(?:年|月|日)"),
    (re.compile(r"何人|人数"), r"\d+\s*人"), (re.compile(r"何回|回数"), r"\d+\s*回"),
    (re.compile(r"何件|件数"), r"\d+\s*件"), (re.compile(r"何点"), r"\d+\s*点"),
    (re.compile(r"いくら|何円|金額"), r"\d+\s*(?:円|万円|千円|億円)"),
    (re.compile(r"いくつ|何か所|何箇所|何校|何種類|何台"), r"\d+\s*(?![年月日度])\S"),
]


def answer_pattern(text: str) -> re.Pattern[str] | None:
    """What a sentence must hold to answer: a date for いつ, a counted number for 何人/いくら/いくつ..."""
    t = unicodedata.normalize("NFKC", text)
    for rx, pattern in _ANSWER_TYPES:
        if rx.search(t):
            return re.compile(pattern)
    return None


@dataclass(frozen=True)
class Question:
    text: str                       # what the user typed
    subject: str                    # the text used to find the sheet (with a follow-up's context)
    years: tuple[YearRef, ...] = ()
    kind: Kind | None = None
    kinds: tuple[Kind, ...] = ()    # every kind named, in the order written (予算と決算の差)
    tables: tuple[Table, ...] = ()
    sections: tuple[Section, ...] = ()
    department: bool = False
    derived: str = ""               # "" | diff | rate | sum
    trend: bool = False
    list_: bool = False
    figure_hint: bool = False
    followup: bool = False
    context_years: tuple[int, ...] = field(default=())  # years discussed earlier in the conversation


def parse_question(text: str) -> Question:
    t = unicodedata.normalize("NFKC", text).strip()
    kinds = tuple(k for w, k in _KINDS_BY_POSITION(t))
    kind = kinds[0] if kinds else None
    tables = tuple(dict.fromkeys(tab for w, tab in TABLE_WORDS if w in t))
    sections: list[Section] = []
    for rx, secs in SECTION_WORDS:
        if rx.search(t):
            sections += [s for s in secs if s not in sections]
    derived = "rate" if _RATE.search(t) and _DERIVED.search(t) else (
        "sum" if _SUM.search(t) else ("diff" if _DERIVED.search(t) else ""))
    return Question(text=text, subject=t, years=tuple(find_years(t)), kind=kind, kinds=kinds, tables=tables,
                    sections=tuple(sections), department=bool(_DEPARTMENT.search(t)) and not tables,
                    derived=derived, trend=bool(_TREND.search(t)), list_=bool(_LIST.search(t)),
                    figure_hint=bool(_FIGURE_HINT.search(t) or tables), followup=bool(FOLLOWUP.search(t)))


def with_history(q: Question, history: list[dict]) -> Question:
    """Fold the conversation into a follow-up: its subject and years come from earlier turns."""
    previous = [h.get("content", "") for h in history if h.get("role") == "user" and h.get("content")]
    if not previous:
        return q
    prev = parse_question(previous[-1])
    for earlier in reversed(previous[:-1]):
        if prev.followup and not prev.tables:
            prev = with_history(prev, [{"role": "user", "content": earlier}])
        break
    prev_years = [y for ref in prev.years for y in ([ref.western] if ref.western else [])]
    prev_years += list(prev.context_years)
    subject = f"{_strip_years(prev.subject)} {q.subject}"
    # A follow-up about a section or the department asks something new of the same sheet;
    # otherwise (「では令和7年度は？」) it repeats the previous question's table.
    new_topic = bool(q.sections or q.department)
    merged = replace(
        q, subject=subject, followup=True, context_years=tuple(prev_years),
        tables=q.tables or (() if new_topic else prev.tables),
        kind=q.kind if (q.kind or q.years) else prev.kind,
        figure_hint=q.figure_hint or (prev.figure_hint and not new_topic),
        sections=q.sections or (() if q.department or q.tables else prev.sections),
        years=q.years or (prev.years if not (q.sections or q.department) else ()),
        derived=q.derived or ("" if q.years else prev.derived))
    return merged


def _strip_years(text: str) -> str:
    for ref in find_years(text):
        text = text.replace(ref.text, " ")
    return text


def informative_tokens(tokens: list[str]) -> list[str]:
    """Question tokens that carry content (not 何/いくら/教える...)."""
    return [t for t in tokens if t not in _QUESTION_WORDS and not t.isdigit() and len(t) > 0]


_QUESTION_WORDS = {"何点", "何件", "何種類", "何", "なに", "なん", "いくら", "いくつ", "いつ", "どこ", "どう", "どの", "どんな", "誰", "だれ",
                   "教える", "知る", "下さい", "ください", "何人", "何回", "何円", "年度", "年", "事業",
                   "ます", "です", "どれ", "どれだけ", "どのくらい", "どの位", "いる", "ある", "する",
                   "れる", "られる", "?", "？", "値", "は", "現在"}
