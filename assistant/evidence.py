"""Scoring evidence: every unit of every candidate sheet, by one explainable score.

A row is scored by how well its label (and unit) covers the quantity asked, whether it holds the
asked years, and the table the question names; a passage by how much of the question it holds
(idf-weighted coverage and BM25 against an ideal unit), the section the question points at, whether
it holds what is asked for (a date for いつ, a count for 何人), and dense similarity where the unit
has a vector. A sheet carries a prior: how strongly the question names or describes it.

Every part is kept (`Scored.parts`) so `hyoka ask --explain` can show why an answer won. The
weights and thresholds live in `Weights`, in one place, and are fitted on generated questions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import numpy as np

from ingest.records import Table
from ingest.units import Unit, UnitKind
from ingest.years import ERA_NAMES
from vectorstore.store import Evidence, Hit, Store, norm_name
from vectorstore.tokens import tokenize

from .match import (
    WAGO,
    compact,
    content_tokens,
    inflected,
    is_total,
    label_coverage,
    spells_head,
    token_coverage,
)
from .query import WHY_SECTIONS, AnswerType, Query, count_noun_unit


@dataclass(frozen=True)
class Weights:
    """Every weight and threshold of answering, in one place.

    A unit's score is a weighted mean over the parts the question gives a reason to look at: a
    question with no content words (「なぜ始まったの？」) is judged by its section alone, one with
    no section cue by its words alone. So scores are comparable across questions, in [0, 1]."""

    # rows
    row_label: float = 1.0
    row_unit: float = 0.3
    row_table: float = 0.3
    row_year: float = 0.2
    row_dense: float = 0.2
    row_min_label: float = 0.5       # a figure needs its quantity covered at least this much…
    row_near_label: float = 0.45     # …or this much, by a row of the unit asked that is the sheet's best…
    row_clear_margin: float = 0.1    # …by this much (set on the tuning and breadth sets, where such rows were right)
    row_precise: float = 0.25        # share of the label the question spells (among labels covering it)
    # passages
    p_content: float = 1.0           # coverage of the question's content words (and BM25)
    p_prior: float = 0.6             # the section the question's cue words point at
    p_type: float = 0.4              # holds what is asked for (a date, a count)
    p_dense: float = 0.3
    p_years: float = 0.3
    p_min: float = 0.45              # a passage answers with at least this score
    p_min_routed: float = 0.33       # …when the question is clearly about one project and names the section
    clear_prior: float = 0.6         # a sheet this strongly retrieved…
    clear_margin: float = 0.2        # …this far ahead of the next is the one the question is about
    p_shown: int = 3                 # passages quoted at most, best first…
    p_also: float = 0.55             # …each scoring at least this share of the best
    nothing_factor: float = 0.2      # 「特になし」: filled in, but says there is nothing
    text_figure_cov: float = 0.5     # a count or amount written in a sentence answers with this coverage
    # sheets
    sheet_prior: float = 0.5
    sheet_held: float = 0.3          # a sheet's share of the asked words, in any of its units (narrative)
    named_min: float = 0.75          # a named project must be covered this much by a sheet's name
    ambiguous: float = 0.04          # two sheets within this of each other both answer (narrative)
    topic_dense: float = 0.86        # a topic in other words: the nearest profile answers at this e5 cosine…
    topic_margin: float = 0.02       # …when no other sheet's profile is this near
    dense_floor: float = 0.78        # e5 cosine below this says nothing; above, scaled to 1 at +0.12
    dense_span: float = 0.12


W = Weights()

_DATE = re.compile(rf"(?:{ERA_NAMES}|[HRS])\s*(?:元|\d{{1,2}})\s*年"
                   r"|(?:19|20)\d{2}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{1,2}\s*年度")
_ORG = re.compile(r"課|部|局|室|係|会|協議会|センター|団体|事務局|市|県|府|国|省|庁|法人|会社|学校|組合|委員")
MONEY_UNITS = ("千円", "円", "万円", "百万円", "億円")
MONEY_WORDS = ("お金", "御金", "金額", "額", "金")
# the municipality itself (市の職員, 市内, 市立) and its own office (市役所, 役場)
_OWN_PLACE = frozenset({"市", "町", "村", "内", "立", "市役所", "役所", "役場", "町役場", "村役場"})


@dataclass(frozen=True)
class Scored:
    unit: Unit
    score: float
    parts: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SheetScore:
    ev: Evidence
    hit: Hit | None
    prior: float
    name_fit: float
    asked: tuple[str, ...]           # the question's content words, less those naming this sheet
    rows: tuple[Scored, ...]
    passages: tuple[Scored, ...]
    row_asked: tuple[str, ...] = ()  # the asked words a row label is judged by (see _row_words)

    @property
    def sheet_id(self) -> str:
        return self.ev.sheet.sheet.sheet_id

    def best_row(self) -> Scored | None:
        return self.rows[0] if self.rows else None

    def best_passage(self) -> Scored | None:
        return self.passages[0] if self.passages else None


SPECIFIC = 2.0  # name-idf of a word found in under ~1 in 8 project names: it tells projects apart


# Formal nouns (形式名詞): 「…の方」「…のもの」 point at a thing without naming it.
_FORMAL_NOUNS = frozenset({"方", "ほう", "物", "もの", "事", "こと"})


def name_fit(phrase: str, project_name: str, name_idf) -> float:
    """How well a sheet's name answers to a project the question spells out: the idf-weighted share
    (idf over project names) of the phrase's words the name holds, as words or inside its compact
    form. A user may leave words of a name out; a specific word the name lacks (野犬 for 鳥獣被害) is
    another project, so such a phrase fits at most 0.5."""
    toks = list(dict.fromkeys(tokenize(phrase)))
    if not toks:
        return 0.0
    have = set(tokenize(project_name))
    text = norm_name(project_name)
    total = got = 0.0
    foreign = False
    for t in toks:
        w = name_idf(t)
        key = norm_name(t)
        held = t in have or not key or key in text
        if not held and t in _FORMAL_NOUNS:
            continue  # 「（ファミリーサポートの方）」: 方 says "the one of", it is not a word of the name
        total += w
        if held:
            got += w
        elif w >= SPECIFIC:
            foreign = True
    cov = got / total if total else 0.0
    if foreign:
        return min(cov, 0.5)
    # Spelled out exactly (「清掃業務（北部）」) beats sharing every word with a longer name
    # (「清掃業務（北部・南部）」 holds the same words).
    return cov if norm_name(phrase) in text else min(cov, 0.95)


def names_something(phrase: str, name_idf) -> bool:
    """A phrase names a project only if it holds a specific word (「支援事業」 names nothing)."""
    return any(name_idf(t) >= SPECIFIC + 1.0 for t in tokenize(phrase) if norm_name(t))


def strip_name(text: str, project_name: str) -> str:
    """The question without the run it shares with the project's name (3 characters or more)."""
    name = unicodedata.normalize("NFKC", project_name)
    m = SequenceMatcher(None, text, name, autojunk=False).find_longest_match(0, len(text), 0, len(name))
    if m.size >= 3:
        return text[: m.a] + " " + text[m.a + m.size:]
    return text


def asked_tokens(q: Query, ps_name: str, municipality: str) -> tuple[str, ...]:
    """The question's content words once the project's name, the years and the municipality are gone.
    市・町・村 on their own (市の職員, 市内) name the municipality every sheet of it is about."""
    text = q.norm
    for y in q.years:
        text = text.replace(y.text, " ")
    for n in (*q.named, *q.cues):
        text = text.replace(n, " ")
    text = strip_name(text, ps_name)
    exclude = set(tokenize(municipality)) | set(tokenize(municipality[:-1] if len(municipality) > 2 else ""))
    exclude |= _OWN_PLACE
    # A native verb for a word of the name (進める on a ○○の推進 sheet) says the name again.
    name = compact(ps_name)
    exclude |= {t for t, forms in WAGO.items() if any(f in name for f in forms)}
    return tuple(content_tokens(tokenize(text), exclude))


_PER = re.compile(r"あたり|当たり|当り|単価|につき")
# Sudachi reads the あたり of 「1件あたり」 as 辺り, and of 「単位あたり」 as 当たり: both are the table's word.
_UNIT_COST_WORDS = (*tokenize(Table.UNIT_COST.value), "辺り")


def _per_money(unit: str) -> bool:
    """A unit of money per something (千円／トン, 円/人): a cost per unit, as the forms print it."""
    head, slash, _ = unicodedata.normalize("NFKC", unit).partition("/")
    return bool(slash) and head in MONEY_UNITS


class Scorer:
    def __init__(self, store: Store, weights: Weights = W) -> None:
        self.store = store
        self.w = weights

    # --- rows ---------------------------------------------------------------------------
    def score_row(self, q: Query, u: Unit, tokens: tuple[str, ...], asked: tuple[str, ...], qcompact: str,
                  dense: float | None, held: frozenset[str] = frozenset(), held_text: str = "",
                  label_toks: list[str] | None = None) -> Scored:
        w = self.w
        cells = u.cells
        label_c = compact(u.label)
        label_toks = tokenize(u.label) if label_toks is None else label_toks
        unit = (cells[0].unit if cells else "") or unit_in_label(u.label)
        # 「県から出たお金」: the money word is said by a row in 千円, whatever its label.
        have = [*label_toks, *MONEY_WORDS] if unit in MONEY_UNITS else label_toks
        if u.table is Table.UNIT_COST:
            # A row of the cost-per-unit table names only what the cost is per (届出・証明取扱件数): the
            # table's own name says what it measures.
            have = [*have, *_UNIT_COST_WORDS]
        by_q = token_coverage(asked, have, inflected_half(self.store.bm25.idf), label_c) if asked else 0.0
        of_label = label_coverage(qcompact, u.label)
        quoted = any(compact(x) and (compact(x) in label_c or label_c in compact(x)) for x in q.quoted)
        label = min(1.0, max(by_q, 0.9 * of_label) + (1.0 if quoted else 0.0))
        if label > 0 and spells_head(qcompact, u.label, q.counter):
            # The question spells what the row measures (寄附件数), not only its words: of labels that
            # hold as many of them, this one (not …寄附へのアクセス件数).
            label = min(1.0, label + 0.1)
        parts = {"label": label}
        weights = {"label": w.row_label}
        if asked and by_q >= 1.0:
            # Several labels hold every asked word: the one the question spells more of is meant
            # (寄附件数 is not 寄附ページへのアクセス件数; the head of a compound comes last).
            words = [t for t in label_toks if not t.isdigit()]
            parts["precise"] = token_coverage(words, held | set(q.tokens), self.store.bm25.idf, held_text or qcompact) \
                if words else 1.0
            weights["precise"] = w.row_precise
        if q.counter:
            # A row printed in another unit counts something else (何時間 is not 正規職員従事人数 in 人);
            # one with no unit printed may still count it.
            parts["unit"] = 1.0 if same_unit(unit, q.counter) else (0.0 if unit else 0.5)
        elif q.count_noun and same_unit(unit, q.count_noun):
            # 「着信件数」 said as a noun: a row counted in 件 is the more likely; another unit (施設数 in か所)
            # may be the same count in the sheet's own counter, so no row is held back for it.
            parts["unit"] = 1.0
        elif q.money:
            parts["unit"] = 1.0 if unit in MONEY_UNITS or (_per_money(unit) and _PER.search(q.norm)) else 0.0
        elif _per_money(unit) and asked and asked[-1].endswith(("量", "数")) and not _PER.search(q.norm):
            # 「集めたごみの量」: a quantity, not the form's cost per unit of it (家庭ごみ収集量 in 千円／トン).
            parts["unit"] = 0.0
        elif measure := next((m for m in _MEASURED_IN if m in asked), None):
            # 「植栽面積」「延長」: an area or a length, printed in its own units (ha, ㎡, m); a row that neither
            # names it nor is printed in such a unit counts something else (椿の植栽 in 本).
            parts["unit"] = 1.0 if measure in u.label or _in_units(unit, _MEASURED_IN[measure]) else (0.0 if unit else 0.5)
        elif any(t.endswith("率") or t == "割合" for t in asked):
            # 「受診率」: a share, printed in ％ (or named a rate); not the count it is made of.
            parts["unit"] = 1.0 if unit in ("%", "％") or "率" in u.label else 0.0
        if "unit" in parts:
            weights["unit"] = w.row_unit
        if q.tables:
            parts["table"], weights["table"] = (1.0 if u.table in q.tables else 0.0), w.row_table
        if any(y.relative is None for y in q.years):
            parts["years"], weights["years"] = _years_fit(q, cells), w.row_year
        if dense is not None:
            parts["dense"], weights["dense"] = dense, w.row_dense
        return Scored(u, _mean(parts, weights), parts)

    # --- passages -----------------------------------------------------------------------
    def score_passage(self, q: Query, u: Unit, tokens: tuple[str, ...], asked: tuple[str, ...],
                      dense: float | None) -> Scored:
        w = self.w
        idf = self.store.bm25.idf
        parts: dict[str, float] = {}
        weights: dict[str, float] = {}
        if asked:
            cov = token_coverage(asked, tokens, inflected_half(idf), compact(u.label + u.text), split=True)
            ideal = sum(idf(t) for t in asked) or 1.0
            bm = min(1.0, self.store.bm25.score(asked, tokens) / ideal)
            parts["cov"], parts["bm25"] = cov, bm
            parts["content"], weights["content"] = 0.7 * cov + 0.3 * bm, w.p_content
        if q.sections:
            parts["prior"] = next((wt for sec, wt in q.sections if sec == u.section), 0.0)
            weights["prior"] = w.p_prior
        fit = _type_fit(q, unicodedata.normalize("NFKC", u.text))
        if fit is not None:
            parts["type"], weights["type"] = fit, w.p_type
        if dense is not None:
            parts["dense"], weights["dense"] = dense, w.p_dense
        asked_years = [y for y in q.years if y.relative is None and y.western is not None]
        if asked_years:
            # A year in a narrative question (「令和5年度の取組」) is matched by labels and text that name it.
            said = _years_in(u.label + " " + u.text)
            parts["years"] = 1.0 if any(y.western in said for y in asked_years) else 0.0
            weights["years"] = w.p_years
        score = _mean(parts, weights)
        if says_nothing(u.text) or (not q.numeric and _FIGURES_ONLY.fullmatch(u.text.strip())):
            score *= w.nothing_factor  # 「特になし」, or a field of bare figures (「2,075（0）」) for a question in words
        return Scored(u, score, parts)

    # --- sheets -------------------------------------------------------------------------
    def score_sheet(self, q: Query, ev: Evidence, hit: Hit | None, prior: float, fit: float,
                    qvec: np.ndarray | None) -> SheetScore:
        s = ev.sheet.sheet
        asked = asked_tokens(q, s.project_name, s.municipality)
        cued = {sec for sec, _ in q.sections}
        if q.cues and cued and not any(u.section in cued for u in ev.units if u.kind is UnitKind.PASSAGE):
            # The form has none of the sections the cue words name (an 実施形態 field for 「どこに委託」): what
            # the sheet says of them is in its other sections, found by the words themselves.
            asked = asked_tokens(q.with_(cues=()), s.project_name, s.municipality)
        if not asked and not q.sections and q.answer is AnswerType.REASON:
            q = q.with_(sections=WHY_SECTIONS)  # 「…はなぜ」 of this sheet, and no word besides its name
        qcompact = compact(strip_name(q.norm, s.project_name))
        held = frozenset(tokenize(f"{s.project_name} {s.municipality}"))  # what the sheet's own labels may repeat
        held_text = compact(f"{q.norm}{s.project_name}{s.municipality}")
        labels = {u.unit_id: tokenize(u.label) for u in ev.units if u.kind is UnitKind.ROW}  # once per sheet
        row_asked = _row_words(_after_subject(q, asked, ev), s.project_name, ev, labels)
        for y in q.years:
            qcompact = qcompact.replace(compact(y.text), "")
        rows, passages = [], []
        order = {u.unit_id: i for i, u in enumerate(ev.units)}
        for u, toks, vec in zip(ev.units, ev.tokens, ev.vectors, strict=True):
            dense = self._dense(qvec, vec) if vec is not None else None
            if u.kind is UnitKind.ROW:
                if any(c.value is not None for c in u.cells):
                    rows.append(self.score_row(q, u, toks, row_asked, qcompact, dense, held, held_text,
                                               labels[u.unit_id]))
            elif u.kind is UnitKind.PASSAGE:
                passages.append(self.score_passage(q, u, toks, asked, dense))
        # Equal scores: the sheet's own order (a section's first sentence before its later ones).
        rows.sort(key=lambda x: (-round(x.score, 9), order[x.unit.unit_id]))
        passages.sort(key=lambda x: (-round(x.score, 9), order[x.unit.unit_id]))
        return SheetScore(ev, hit, prior, fit, asked, tuple(rows), tuple(passages), row_asked)

    def holds(self, q: Query, ev: Evidence) -> float:
        """The share of the question's words the sheet holds anywhere (name, labels, text): the same
        words for every sheet, its name's included; 1.0 when the question has none. Narrative answers
        weigh sheets by it (core._passage), so it is worked out there, not for every question."""
        s = ev.sheet.sheet
        said = asked_tokens(q, "", s.municipality)
        if not said:
            return 1.0
        every = set(tokenize(s.project_name)).union(*ev.tokens)
        whole = compact(s.project_name + "".join(u.label + u.text for u in ev.units))
        return token_coverage(said, every, inflected_half(self.store.bm25.idf), whole)

    def _dense(self, qvec: np.ndarray | None, vec: np.ndarray) -> float:
        if qvec is None:
            return 0.0
        cos = float(np.dot(qvec, vec) / ((np.linalg.norm(qvec) * np.linalg.norm(vec)) or 1.0))
        return min(1.0, max(0.0, (cos - self.w.dense_floor) / self.w.dense_span))


# Where a question's subject ends: 「シカの駆除をする実施隊の事業で、…」「図書館運営事業の…」「…事業、」. What comes
# before describes which project; what follows is the quantity asked.
_SUBJECT_END = re.compile(r"(?:事業|業務|事務|制度|プロジェクト|取組|取り組み)(?:で|では|の|について|に関して|は|って|[、,])[、,\s]?")


def _after_subject(q: Query, asked: tuple[str, ...], ev: Evidence) -> tuple[str, ...]:
    """The asked words a row label is judged by: those said after the question's subject phrase
    (none, when it asks only 「いくら」 of the project: its main cost row), if the words before it
    describe this sheet (its text holds them). Words the sheet does not hold say the question is
    about another project, and stay asked: a figure of this sheet would be a look-alike."""
    ends = list(_SUBJECT_END.finditer(q.norm))
    if not ends:
        return asked
    after = set(tokenize(q.norm[ends[-1].end():]))
    dropped = [t for t in asked if t not in after]
    if not dropped:
        return asked
    held = {t for toks in ev.tokens for t in toks}
    text = compact(ev.sheet.sheet.project_name + "".join(u.text for u in ev.units if u.kind is UnitKind.PASSAGE))
    if all(len(t) < 2 or t in held or t in text for t in dropped):  # one character tells no project
        return tuple(t for t in asked if t in after)
    return asked


def inflected_half(idf):
    """A row label is a noun phrase (正規職員従事人数), and a topic is told by what it is about (鹿, 駆除):
    a verb or adjective of the question (担う in 「何人で担っている」, 荒らす; its dictionary form ends in
    kana) describes more than it names, so text that lacks it misses it at half weight."""
    def weight(t: str) -> float:
        return idf(t) * (0.5 if inflected(t) else 1.0)
    return weight


def _row_words(asked: tuple[str, ...], project_name: str, ev: Evidence,
               labels: dict[str, list[str]]) -> tuple[str, ...]:
    """The asked words a row label can be judged by. A word of the sheet's own name that none of its
    row labels repeats (道路, 維持 of 市道維持管理事業, said while naming the project) says which
    sheet, not which row: it is not missed in every label. One that some label repeats (処理 of a
    処理費 sheet whose rows count 処理量 and 収集量) still tells rows apart."""
    name_toks = set(tokenize(project_name))
    name_c = compact(project_name)
    label_toks = {t for toks in labels.values() for t in toks}
    labels_c = "|".join(compact(u.label) for u in ev.units if u.kind is UnitKind.ROW)

    def in_name(t: str) -> bool:
        return t in name_toks or (len(t) >= 2 and t in name_c)

    def in_labels(t: str) -> bool:
        return t in label_toks or (len(t) >= 2 and t in labels_c)

    return tuple(t for t in asked if in_labels(t) or not in_name(t))


_LABEL_UNIT = re.compile(r"[（(]\s*(?:単位\s*[:：]?\s*)?((?:千円|百万円|万円|億円|円|人|件|回|t|ｔ|トン|%|％|日|時間|か所|箇所)"
                         r"(?:\s*/\s*[^）)/]{1,6})?)\s*[）)]")  # or per something: （千円／トン）


def unit_in_label(label: str) -> str:
    """A unit printed in the row's label when the form has no unit column: 「取扱金額（百万円）」."""
    label = unicodedata.normalize("NFKC", label)
    m = _LABEL_UNIT.search(label)
    if m:
        return m.group(1)
    return count_noun_unit(label)  # 「着信件数（1日平均）」 counts in 件 though no unit is printed


def _years_fit(q: Query, cells: tuple) -> float:
    if not q.years:
        return 0.0
    have = {c.fiscal_year for c in cells if c.fiscal_year is not None and c.value is not None}
    wanted = [y for y in q.years if y.relative is None]
    if not wanted:
        return 0.0
    hit = sum(1 for y in wanted if any(c in have for c in y.candidates()))
    return hit / len(wanted)


# One unit of measure, as a sheet prints it (ｔ, kg, ㎡) and as people say it (トン, キロ, 平方メートル).
_UNIT_SPELLINGS = (
    ("t", "トン"), ("kg", "キロ", "キログラム", "キロ"), ("km", "キロ", "キロメートル"), ("m", "メートル"),
    ("g", "グラム"), ("ha", "ヘクタール"), ("l", "リットル"), ("㎡", "m2", "平方メートル"), ("%", "パーセント"),
    ("人", "名"), ("か所", "箇所", "ヶ所", "カ所"),
)


def same_unit(unit: str, counter: str) -> bool:
    """Does a row's unit (「世帯」, 「ｔ」, 「kg/年」) count in the counter the question asks by (何世帯, 何トン)?"""
    u = unicodedata.normalize("NFKC", unit).strip().lower()
    c = unicodedata.normalize("NFKC", counter).strip().lower()
    if not u or not c:
        return False
    head = re.split(r"[/／]", u)[0].strip()  # kg/年 counts in kg
    if head.endswith(c):
        return True
    return any(c in group and any(head == g or (len(g) > 1 and head.endswith(g)) for g in group)
               for group in _UNIT_SPELLINGS)


# Measures whose units say what they measure: a row printed in one of them is that measure.
_AREA = ("ha", "ヘクタール", "㎡", "m2", "m²", "平方メートル", "平米", "a", "アール", "km2", "km²", "平方キロメートル")
_LENGTH = ("m", "km", "メートル", "キロメートル", "キロ")
_WEIGHT = ("kg", "t", "トン", "キログラム", "g", "グラム")
_MEASURED_IN = {"面積": _AREA, "延長": _LENGTH, "距離": _LENGTH, "長さ": _LENGTH, "重量": _WEIGHT, "重さ": _WEIGHT}


def _in_units(unit: str, units: tuple[str, ...]) -> bool:
    head = re.split(r"[/／]", unicodedata.normalize("NFKC", unit).strip().lower())[0].strip()
    return head in units


# Counters that count the same thing: people are 人 or 名.
SAME_COUNTER = {"人": "人|名", "名": "人|名", "時間": "時間|分", "か所": "か所|箇所|ヶ所|カ所", "箇所": "か所|箇所|ヶ所|カ所"}


def _type_fit(q: Query, text: str) -> float | None:
    """Does the passage hold the kind of thing asked for? None when the question asks for no kind."""
    if q.answer is AnswerType.DATE:
        return 1.0 if _DATE.search(text) else 0.0
    if q.counted:
        return 1.0 if re.search(rf"\d[\d,.]*\s*(?:{re.escape(q.counted)})", text) else (
            0.5 if q.counter and re.search(rf"\d[\d,.]*\s*(?:{re.escape(q.counter)})", text) else 0.0)
    if q.counter:
        counter = SAME_COUNTER.get(q.counter, re.escape(q.counter))
        return 1.0 if re.search(rf"\d[\d,.]*\s*(?:{counter})", text) else 0.0
    if q.money:
        return 1.0 if re.search(r"\d[\d,.]*\s*(?:千円|万円|円|億円)", text) else 0.0
    if q.answer is AnswerType.WHO:
        return 1.0 if _ORG.search(text) else 0.0
    if q.answer is AnswerType.NUMBER:
        return 1.0 if re.search(r"\d", text) else 0.0
    return None


_YEAR_IN_TEXT = re.compile(r"(令和|平成|昭和|R|H|S)\s*(元|\d{1,2})\s*年|((?:19|20)\d{2})\s*年")


def _years_in(text: str) -> set[int]:
    from ingest.normalize import ERAS

    out = set()
    for m in _YEAR_IN_TEXT.finditer(unicodedata.normalize("NFKC", text)):
        if m.group(3):
            out.add(int(m.group(3)))
        else:
            era = {"R": "令和", "H": "平成", "S": "昭和"}.get(m.group(1), m.group(1))
            out.add(ERAS[era] + (1 if m.group(2) == "元" else int(m.group(2))) - 1)
    return out


def _mean(parts: dict[str, float], weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(parts[k] * wt for k, wt in weights.items()) / total if total else 0.0


_NOTHING = re.compile(r"^[\s・]*(?:特に|とくに)?(?:なし|無し|ない|ありません|該当なし|該当無し|記載なし|-|―|－|ー)[。.\s]*$")


# A field holding only figures and their brackets and signs: it answers no question asked in words.
_FIGURES_ONLY = re.compile(r"[\d\s,.，．、()（）%％△▲＋+\-－−/／~～円千万]*\d[\d\s,.，．、()（）%％△▲＋+\-－−/／~～円千万]*")


def says_nothing(text: str) -> bool:
    """「特になし。」: the section is filled in, but says there is nothing to report."""
    return bool(_NOTHING.match(unicodedata.normalize("NFKC", text).strip()))


def counted(text: str, counter: str) -> bool:
    """The text states a number counted in the counter (「8名」 counts people as 何人 does)."""
    counter = SAME_COUNTER.get(counter, re.escape(counter)) if counter else r"[^\d\s,.。、]"
    return bool(re.search(rf"\d[\d,.]*\s*(?:{counter})", unicodedata.normalize("NFKC", text)))


def main_cost_row(ss: SheetScore) -> Scored | None:
    """The row a sheet's cost table totals in (トータルコスト, 合計, 事業費計, 歳出): what 「予算はいくら」
    asks when it names no row. Found by the table and by being the table's last total row."""
    return next(iter(cost_rows(ss)), None)


def cost_rows(ss: SheetScore) -> list[Scored]:
    """The rows a sheet's cost tables total in, トータルコスト (with staff) first, then 事業費."""
    out = []
    for table in (Table.TOTAL_COST, Table.COST):
        rows = [r for r in ss.rows if r.unit.table is table and r.unit.cells and r.unit.cells[0].unit in MONEY_UNITS]
        totals = [r for r in rows if is_total(r.unit.label, table.value)]
        pick = totals or rows
        if pick:
            out.append(sorted(pick, key=lambda r: ss.rows.index(r))[0] if not totals else totals[0])
    return out
