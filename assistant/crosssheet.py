"""Questions across sheets: lists, counts, rankings, totals and comparisons, from the cell table.

「農林課の事業で令和5年度の事業費がいちばん多いのは？」 is read as a typed cross-sheet query:
a scope (municipality, department, policy, or sheets named one by one), an operation (list, count,
rank, sum, compare), and for figures a quantity, years and a kind. The store answers it with SQL over
its tables of cells, departments and policies (vectorstore/records_db.py); each sheet's row is chosen by
the same label coverage as a single-sheet figure. The answer shows its working: how the question was
read, a table in which every value is cited, the terms of a total, unit conversions, and the sheets
whose cell is blank or missing (named, never counted as 0).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.kinds import SAME_FIGURE
from ingest.normalize import format_number
from ingest.records import Kind, Sheet, Table, TableCell
from ingest.years import canonical_year_label
from vectorstore.records_db import YEN, CellRow, Scope
from vectorstore.store import Filters, SheetRow, Store
from vectorstore.tokens import tokenize

from .answer import Answer, Chart, Citation, Status, cite_cell, cite_sheet
from .evidence import name_fit
from .match import compact, content_tokens, generic_cost, is_total, label_coverage, name_key, token_coverage
from .query import Query, city_stem

# 上位/下位 rank, except as the first half of a noun the forms print (上位成果指標, 上位施策, 上位計画).
_HIGHER_NOUN = r"(?!成果|指標|施策|計画|政策|目標|法|機関|団体)"
_RANK = re.compile(r"いちばん|一番|最も|もっとも|最大|最小|最高|最低|上位" + _HIGHER_NOUN + r"|下位" + _HIGHER_NOUN + r"|トップ|ワースト|多い順|大きい順|高い順|\d+番目|"
                   r"少ない順|小さい順|低い順|ランキング|順位|順に")
_LOW = re.compile(r"小さい|少ない|低い|安い|最小|最低|下位" + _HIGHER_NOUN + r"|ワースト|少ない順|小さい順|低い順")
_TOP_N = re.compile(r"(?:上位|下位|トップ|ワースト|ベスト)\s*(\d+)|(\d+)\s*(?:つ|件|事業|位まで|番目まで)")
_COUNT = re.compile(r"(?:事業|業務|シート|もの)(?:は|が|って)?(?:全部で|全体で|合わせて)?(?:いくつ|何件|何事業|何個|幾つ|"
                    r"どれくらい|どのくらい|どれだけ)|いくつの事業|何件の事業|何事業|事業の数")
# 合計 sums, but not as the first half of a row's noun (合計（A）, 合計コスト); 合計額 still sums.
_SUM = re.compile(r"合計(?:額|金額|値)?(?![（(]|[\u4e00-\u9fff\u30a0-\u30ff])|足すと|足した|足し合わせ|合わせると|合わせて|総額|総計")
_LIST = re.compile(r"(?:事業|業務|シート)(?:を|は|が)?(?:全部|すべて|全て|一覧|挙げ|教えて|ありますか|ある\?|ある？|知りたい|は\?|は？|は$)"
                   r"|(?:どんな|どの|どういう|何の)(?:事業|業務)|担当している|所管している|所管する|担当する"
                   r"|(?:事業|業務)(?:に|には)(?:どんな|何が)|(?:事業|業務)(?:って|は)(?:どれ|何|なに|どんな)"
                   r"|(?:持って|担って|所管して|担当して)(?:い)?る(?:事業|業務|事務事業)|(?:に属する|に入って(?:い)?る|に該当する)"
                   r"|一覧に")
_COMPARE = re.compile(r"比べ|比較|それぞれ|違い|差|どちら|どっち|各々|おのおの")
_SPLIT = re.compile(r"と|、|,|及び|および|並びに|や|か|ならびに")
_UNIT_ENDS = "局|部|課|室|係|担当|センター|事務所|委員会"   # how the name of an organisational unit ends
_DEPT_WORD = re.compile(rf"(?:[\u4e00-\u9fff\u30a0-\u30ffー・]+?(?:{_UNIT_ENDS}))")
_PIECE_END = re.compile(r"の(?:令和|平成|昭和|R|H|\d)|で(?:令和|平成)|の(?:トータル|総|事業費|人件費|コスト|予算|決算|合計)")
_NTH = re.compile(r"(\d+)\s*(?:番目|位)(?:に|の)")
_MONEY_WORD = re.compile(r"予算額|決算額|予算現額|見込額|決算見込額|金額|お金|費用|コスト|経費|予算で|決算で")
_UNIT_WORD = re.compile(rf"[\u4e00-\u9fff\u30a0-\u30ffー]+?(?:{_UNIT_ENDS})(?![\u4e00-\u9fff])")
_UNIT_SUFFIX = re.compile(rf"(?:{_UNIT_ENDS})$")
_POLICY_WORD = re.compile(r"(?:政策|施策|基本事業|基本計画|分野)[「『]?([^」』、。?？]{3,40}?)[」』]?(?:の事業|に属|に含|を構成|の下|で|の|は|$)")
_QUOTE = re.compile(r"[「『]([^」』]{3,60})[」』]")

ACTUAL_KINDS = (Kind.ACTUAL.value, Kind.SETTLED.value)
_COMPATIBLE = SAME_FIGURE  # the kinds compared as one figure across sheets (ingest/kinds.py)
ROW_FIT = 0.5


@dataclass(frozen=True)
class CrossQuery:
    op: str                                   # list | count | rank | sum | compare
    scope: Scope
    scope_words: tuple[str, ...] = ()         # how the scope was named, for the interpretation
    quantity: tuple[str, ...] = ()            # the asked quantity's content words
    qcompact: str = ""
    year_refs: tuple = ()
    kind: Kind | None = None
    top: int = 1
    nth: bool = False                         # 「2番目に大きい」: only the top-th
    unknown_unit: str = ""
    ascending: bool = False
    money: bool = False
    tables: tuple[Table, ...] = ()
    notes: list[str] = field(default_factory=list)


class CrossSheet:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._vocab_gen = -1
        self._departments: list[str] = []
        self._unit_names: frozenset[str] = frozenset()
        self._policies: list[str] = []

    # --- reading the question -----------------------------------------------------------
    def _vocab(self) -> None:
        gen = self.store.db.generation()
        if gen != self._vocab_gen:
            self._departments = sorted({n for _, n in self.store.db.department_names()}, key=lambda n: (-len(n), n))
            self._unit_names = frozenset(self._departments)
            self._policies = sorted({t for _, t in self.store.db.policy_texts()}, key=lambda t: (-len(t), t))
            self._vocab_gen = gen

    def read(self, q: Query, text: str) -> CrossQuery | None:
        """The cross-sheet query a question asks, or None when it is about one sheet."""
        self._vocab()
        policy = self._policy(q.norm)
        t = q.norm.replace(policy, "＿") if policy else q.norm  # a policy's words may spell a project's name
        group = self._name_group(q)  # 「3つの選挙執行事務」「X（A・B・C）」: several sheets under one name
        spelled = [n for n in (*q.named, *self.store.names_in(t)) if not policy or n not in policy]
        for name in sorted(set(spelled), key=lambda n: (-len(n), n)):
            t = t.replace(unicodedata.normalize("NFKC", name), "＿")  # a unit word inside a name is not a scope
        department = self._department(t) if len(group) < 2 else ""  # an enumeration beats a unit word in it
        asks_many = bool(_COMPARE.search(t) or _SUM.search(t) or _RANK.search(t))
        named = self._named_sheets(q.norm) if asks_many and not (department or policy) else []
        if len(group) >= 2 and len(named) < 2:
            named = group
        missing_policy = self._unknown_policy(q.norm) if not policy else ""
        if missing_policy:
            return CrossQuery(op="list", scope=Scope(policy=missing_policy), scope_words=(f"「{missing_policy}」",))
        if spelled and len(named) < 2:
            return None  # one project named: a question about that sheet
        unknown = self._unknown_unit(t) if not (department or policy) else ""
        wordgroup = "" if (department or policy or len(named) >= 2) else self._word_group(t, q)
        scoped = bool(department or policy or len(named) >= 2 or unknown or wordgroup)
        # A municipality alone is a scope when the question is about its projects as a whole
        # (「神戸市の事業で…いちばん」「大船渡市の全事業の…合計」).
        # The projects' word must follow the city's name: 「…を育てる事業は」 is one project, described.
        citywide = bool(q.municipality) and bool(
            _RANK.search(t) or _COUNT.search(t) or _SUM.search(t)
            or re.search(re.escape(q.municipality) + r"(?:内)?(?:の|で|が)(?:全|すべての|全ての)?事業(?:の|で|は|を|全体)", t))
        if not scoped and not citywide:
            return None
        op = self._op(t, named)
        if op is None:
            return None
        if op == "rank" and q.sections and not _asks_figure(q, t):
            return None  # 「最大の悩みは何か」: the most of a text (課題), not a ranking of figures
        if op in ("rank", "sum", "compare") and by_name_only(named, department, policy) and not _asks_figure(q, t):
            return None  # namesakes asked about in words (「協議会参画事業を取り巻く状況は…比べて」): a text question
        if op == "sum" and _years_summed(q) and not (department or policy) and not _MANY_PROJECTS.search(t):
            # 「…の28年度から30年度までの合計」「令和5年度と6年度の合計」: one figure's years summed,
            # not the namesakes or the city's projects, which would need their plural said (各事業, 全事業)
            return None
        by_name = len(named) >= 2 and not (department or policy)
        scope = Scope(municipality="" if by_name else q.municipality, department=department or unknown, policy=policy,
                      department_exact=department in self._unit_names, name_like=wordgroup,
                      sheet_ids=tuple(sid for sid, _ in named) if by_name else ())
        words = tuple(name for _, name in named) if by_name else \
            tuple(w for w in (q.municipality, department or unknown, f"「{policy}」" if policy else "",
                              f"「{wordgroup}」を名前に含む" if wordgroup else "") if w)
        strip = t
        for w in (department, policy, wordgroup, *(n for _, n in named)):
            if w:
                strip = strip.replace(w, " ")
        for y in q.years:
            strip = strip.replace(y.text, " ")
        cities = {t for m in self.store.municipalities() for t in (*tokenize(m), *tokenize(m[:-1]))}
        quantity = tuple(content_tokens(tokenize(_OPS.sub(" ", strip)), cities))
        m = _TOP_N.search(t)
        top = int(next(g for g in m.groups() if g)) if m else (3 if re.search("上位" + _HIGHER_NOUN, t) or "トップ" in t else 1)
        nth = _NTH.search(t)
        # Money without a row named: 「予算で比べる」「決算額の合計」 ask for the main cost row.
        money = q.money or bool(q.tables) or bool(_MONEY_WORD.search(t)) or (
            bool(q.kinds) and q.kinds[0] in (Kind.BUDGET, Kind.SETTLED, Kind.SETTLED_ESTIMATE))
        return CrossQuery(op=op, scope=scope, scope_words=words, quantity=quantity,
                          qcompact=compact(_OPS.sub("", strip)), year_refs=q.years, kind=q.kind,
                          top=int(nth.group(1)) if nth else top, nth=bool(nth), ascending=bool(_LOW.search(t)),
                          money=money, tables=q.tables, unknown_unit=unknown)

    def _name_group(self, q: Query) -> list[tuple[str, str]]:
        """Several sheets the question names at once: a name that fits more than one sheet equally
        (「選挙執行事務」 ends three names), or 「X（A・B・C）」 for X（A）, X（B）, X（C）."""
        idf = self.store.name_idf
        within = Filters(municipality=q.municipality)  # the city asked bounds the names

        def fitting(name: str) -> list[tuple[SheetRow, float]]:
            return [(r, name_fit(name, r.project_name, idf)) for r in self.store.name_matches(name, k=20, filters=within)]

        out: list[tuple[str, str]] = []
        spelled = self.store.names_in(q.norm)   # whole names as catalogued (ふるさと納税事務, kana and all)
        for phrase in q.named:
            phrase = max((n for n in spelled if phrase in n and unicodedata.normalize('NFKC', n) in q.norm),
                         key=len, default=phrase)
            m = re.match(r"^(.+?)[（(]([^）)]+)[）)]$", phrase)
            if m and re.search(r"[・、,]", m.group(2)):
                stem = m.group(1)
                for part in re.split(r"[・、,]", m.group(2)):
                    for r in self.store.name_matches(f"{stem}{part}", k=5):
                        if part in r.project_name and name_fit(stem, r.project_name, idf) >= 0.75 \
                                and r.sheet_id not in {x for x, _ in out}:
                            out.append((r.sheet_id, f"{stem}（{part}）"))
                continue
            # 「北部浄水場の管理業務」: the words before の narrow the name when names hold them joined.
            at = q.norm.find(phrase)
            before = re.search(r"([\u4e00-\u9fff\u30a0-\u30ffー]{2,20})の$", q.norm[:at]) if at > 0 else None
            joined = before.group(1) + phrase if before else ""
            longer = fitting(joined) if joined else []
            if sum(1 for _, f in longer if f > 0.95) >= 2:
                phrase, fits = joined, longer
            elif sum(1 for _, f in longer if f > 0.95) == 1:
                continue  # 「細河分署の管理事業」: joined, the words name one sheet, not the namesakes of 管理事業
            else:
                fits = fitting(phrase)
            good = [r for r, f in fits if f > 0.95]  # spelled exactly in each name, not merely its words
            same = [r for r in good if name_key(r.project_name) == name_key(phrase)]
            if same:  # 「ふるさと納税事務」 is that project, not 「企業版ふるさと納税事務」 too
                good = same
            if len(good) >= 2 and at > 0:
                modifier = q.norm[:at]
                for w in (q.municipality, city_stem(q.municipality), *(y.text for y in q.years)):
                    modifier = modifier.replace(w, " ") if w else modifier
                good = _narrowed(good, modifier, phrase)
            if len(good) >= 2:
                out += [(r.sheet_id, r.project_name) for r in good if r.sheet_id not in {x for x, _ in out}]
        return out

    def _unknown_unit(self, t: str) -> str:
        """A unit the question names (a word ending 課/係/室/局/部/センター) that no sheet prints: it is
        asked about, and it is not in the store. Refused rather than widened to the whole city."""
        for m in _UNIT_WORD.finditer(t):
            word = re.sub(r"^(?:.*市|.*町|.*村)", "", m.group(0))
            if word.endswith(("関係", "関連")) or len(_UNIT_SUFFIX.sub("", word)) < 2:
                continue  # 「診療所関係」 names a topic, 「東部」 a direction
            if not any(word in n or n in word for n in self._departments):
                return word
        return ""

    def _unknown_policy(self, t: str) -> str:
        """A policy the question names in quotes (政策「…」, 施策『…』) that no sheet prints."""
        m = re.search(r"(?:政策|施策|基本事業|基本計画|施策の柱)\s*[「『]([^」』]{3,40})[」』]", t)
        return m.group(1) if m else ""

    def _word_group(self, t: str, q: Query) -> str:
        """「医療費助成の事業のうち」: projects whose names hold the words, when at least two do."""
        m = re.search(r"([\u4e00-\u9fff\u30a0-\u30ffー・]{2,20}?)(?:関係|関連)?(?:の|に関する)(?:事業|業務|事務事業)"
                      r"(?:のうち|の中で|で|の|を|は|って)", t)
        if not m or not (_RANK.search(t) or _COUNT.search(t) or _SUM.search(t) or _LIST.search(t)):
            return ""
        words = m.group(1)
        # The city's name, with or without 市 (「大船渡の事業」), says whose projects, not a word of their names.
        for city in (q.municipality, city_stem(q.municipality)) if q.municipality else ():
            if words.startswith(city):
                words = words[len(city):]
                break
        if len(words) < 2 or words in ("全体", "全部", "市", "全"):
            return ""
        hits = self.store.db.scoped(Scope(municipality=q.municipality, name_like=words))
        return words if len(hits) >= 2 else ""

    def _department(self, t: str) -> str:
        """A unit the question names: a store department name it holds, or a unit word it writes that
        is part of one (「水産課」 of 「農林水産部水産課」, 「こども家庭センター」)."""
        for name in self._departments:
            if len(name) >= 3 and name in t:
                return name
        for m in _DEPT_WORD.finditer(t):
            word = m.group(0)
            for cut in range(len(word) - 2):  # 「大船渡市水産課」: drop leading words until one is known
                part = word[cut:]
                head = _UNIT_SUFFIX.sub("", part)
                if len(head) >= 2 and any(part in name for name in self._departments):
                    return part
        return ""

    def _policy(self, t: str) -> str:
        """A policy the question names, as the sheets print it (the question is NFKC, the sheets may not be)."""
        quoted = [m.group(1) for m in _QUOTE.finditer(t)]
        for text in self._policies:
            flat = unicodedata.normalize("NFKC", text)
            core = re.sub(r"^[\dA-Za-z①-⑳.．\s]+", "", flat)
            if len(core) >= 4 and (core in t or any(q and q in flat for q in quoted)):
                return _printed(next((q for q in quoted if q in flat), core), text)
        m = _POLICY_WORD.search(t)
        if m:
            for text in self._policies:
                if m.group(1) in unicodedata.normalize("NFKC", text):
                    return _printed(m.group(1), text)
        return ""

    def _named_sheets(self, t: str) -> list[tuple[str, str]]:
        """Two or more sheets named one by one (「AとBの…」): (sheet id, the name as written)."""
        idf = self.store.name_idf
        found: list[tuple[str, str]] = []
        cities = "|".join(map(re.escape, self.store.municipalities())) or "(?!)"
        for piece in _SPLIT.split(t):
            piece = _PIECE_END.split(piece)[0]  # 「○○市の△△業務の令和5年度決算の…」: the name part
            piece = re.sub(rf"^(?:{cities})?の?", "", piece).strip(" 「」『』")
            if len(piece) < 3:
                continue
            names = self.store.name_matches(piece, k=3)
            best = max(names, key=lambda r: (name_fit(piece, r.project_name, idf), r.sheet_id), default=None)
            if best is not None and name_fit(piece, best.project_name, idf) >= 0.75 and \
                    best.sheet_id not in {sid for sid, _ in found}:
                found.append((best.sheet_id, piece))
        return found

    def _op(self, t: str, named: list) -> str | None:
        if len(named) >= 2 and _COMPARE.search(t):
            return "compare"
        if _RANK.search(t):
            return "rank"
        if _COUNT.search(t):
            return "count"
        if _SUM.search(t):
            return "sum"
        if len(named) >= 2 and re.search(r"いくら|は\?|は？|は$|どっち|どちら", t):
            return "compare"
        if _LIST.search(t) or re.search(r"事業(?:は|を)", t):
            return "list"
        return None

    # --- answering ----------------------------------------------------------------------
    def answer(self, cq: CrossQuery) -> Answer:
        sheets = self.store.db.scoped(cq.scope)
        reading = "・".join(cq.scope_words)
        if not sheets:
            return Answer(status=Status.NOT_FOUND, intent="cross",
                          answer=f"{reading}に当たる事務事業のシートは、取り込まれたシートの中に見当たりません。")
        if cq.op in ("list", "count"):
            return _listing(cq, reading, sheets)
        chosen, missing = self._rows(cq, sheets)
        if not chosen:
            return Answer(status=Status.NOT_FOUND, intent="cross", citations=_cite_all(sheets[:20]),
                          answer=f"{reading}の{len(sheets)}件のシートには、お尋ねの項目に当たる数値の行が見当たりません。")
        return self._figures(cq, reading, sheets, chosen, missing)

    def _rows(self, cq: CrossQuery, sheets: list[SheetRow]) -> tuple[dict[str, tuple[str, str, str]], list[SheetRow]]:
        """Each sheet's row for the asked quantity: the label that covers it best (or the cost table's
        total when only money is asked); sheets with no such row are returned apart."""
        by_sheet: dict[str, list[tuple[str, str, str, str]]] = {}
        for sid, tbl, label, unit in self.store.db.scope_rows(cq.scope):
            by_sheet.setdefault(sid, []).append((sid, tbl, label, unit))
        chosen: dict[str, tuple[str, str, str]] = {}
        missing: list[SheetRow] = []
        for s in sheets:
            rows = by_sheet.get(s.sheet_id, [])
            pick = self._pick_row(cq, rows)
            if pick is None:
                missing.append(s)
            else:
                chosen[s.sheet_id] = pick
        return chosen, missing

    def _pick_row(self, cq: CrossQuery, rows: list[tuple[str, str, str, str]]) -> tuple[str, str, str] | None:
        if not rows:
            return None
        if not cq.quantity or generic_cost(cq.quantity):
            if not (cq.money or cq.quantity):
                return None
            for table in (Table.TOTAL_COST.value, Table.COST.value):
                money = [r for r in rows if r[1] == table and r[3] in YEN]
                totals = [r for r in money if is_total(r[2], table)]
                if totals or money:
                    r = (totals or money)[0]
                    return (r[0], r[1], r[2])
            return None
        idf = self.store.bm25.idf
        scored = []
        for i, (sid, tbl, label, unit) in enumerate(rows):
            fit = _label_fit(cq.quantity, cq.qcompact, label, idf)
            if cq.money and unit not in YEN:
                fit *= 0.5
            if cq.tables and tbl in {t.value for t in cq.tables}:
                fit += 0.1
            scored.append((fit, -i, (sid, tbl, label)))
        fit, _, best = max(scored)
        return best if fit >= ROW_FIT else None

    def _figures(self, cq: CrossQuery, reading: str, sheets: list[SheetRow],
                 chosen: dict[str, tuple[str, str, str]], missing_row: list[SheetRow]) -> Answer:
        kinds = [k.value for k in _COMPATIBLE.get(cq.kind, ())] if cq.kind else []
        cells = self.store.db.cells_of_rows(chosen.values(), (), kinds)
        years = _resolve_years(cq.year_refs, cells)
        year = years[0] if years else _latest_common_year(cells)
        note = "" if years else f"（年度の指定がないため、多くのシートに値のある最新の年度 {canonical_year_label(year)} で比べます）"
        per_sheet = _one_cell_per_sheet(cells, year, cq.kind)
        if cq.op == "compare" and len(years) == len(chosen) >= 2 and len(set(years)) > 1:
            # 「AのH24…と、BのR4…」: each named sheet with its own year, in the order written.
            per_sheet = {}
            for sid, y in zip(list(chosen), years, strict=True):
                per_sheet.update({k: v for k, v in _one_cell_per_sheet([c for c in cells if c.sheet_id == sid],
                                                                     y, cq.kind).items()})
            note = ""
        elif cq.op == "compare" and not years and len(per_sheet) < len(chosen):
            # Sheets of different editions (平成 and 令和) share no year: each at its latest actual.
            per_sheet = {sid: c for sid, c in _latest_per_sheet(cells, cq.kind).items()}
            note = "（年度の指定がないため、各シートの実績のある最新の年度で比べます）"
        blank = [s for s in sheets if s.sheet_id in chosen and (s.sheet_id not in per_sheet
                 or per_sheet[s.sheet_id].value is None)]
        valued = [c for c in per_sheet.values() if c.value is not None]
        label = _common_label(valued)
        years_differ = len({c.fiscal_year for c in valued}) > 1
        reading_line = f"{reading}・{'各シートの最新年度' if years_differ else canonical_year_label(year)}・{label}" + (
            {"rank": "で順位づけ", "sum": "の合計", "compare": "を比較"}[cq.op])
        if not valued:
            return Answer(status=Status.NOT_FOUND, intent="cross",
                          answer=f"{reading_line}: 該当するシートに{canonical_year_label(year)}の値がありません。")
        unit, convert = _common_unit(valued)
        if unit is None:
            return Answer(status=Status.NOT_FOUND, intent="cross",
                          answer=f"{reading_line}: 単位が異なり（{'、'.join(sorted({c.unit or '単位なし' for c in valued}))}）、"
                                 "比べられません。")
        ordered = sorted(valued, key=lambda c: (_in(c, unit), c.project_name, c.sheet_id), reverse=not cq.ascending)
        if cq.ascending:
            ordered = sorted(valued, key=lambda c: (_in(c, unit), c.project_name, c.sheet_id))
        if cq.op == "compare":
            ordered = sorted(valued, key=lambda c: list(chosen).index(c.sheet_id))
        shown = ordered
        if cq.op == "rank" and cq.nth and cq.top <= len(ordered):
            edge = _in(ordered[cq.top - 1], unit)  # 「2番目」: that place, and whoever shares its value
            shown = [c for c in ordered if _in(c, unit) == edge]
        elif cq.op == "rank" and cq.top < len(ordered):
            edge = _in(ordered[cq.top - 1], unit)  # a tie at the edge is shown whole, never cut at random
            shown = [c for i, c in enumerate(ordered) if i < cq.top or _in(c, unit) == edge]
        cites = tuple(cite_cell(i, _sheet_of(c), _cell_of(c), _quote(c)) for i, c in enumerate(shown, start=1))
        head = "| 順位 | 事務事業名 | 担当 | 値 |" if cq.op == "rank" else "| 事務事業名 | 担当 | 値 |"
        rule = "|---|---|---|---|" if cq.op == "rank" else "|---|---|---|"
        lines = [head, rule]
        for i, c in enumerate(shown, start=1):
            val = f"{_shown_value(c, unit, convert)}[{i}]" + (f"（{c.year_label}）" if years_differ else "")
            row = f"| {_md(c.project_name)} | {_md(c.department or '—')} | {val} |"
            lines.append(f"| {i} " + row if cq.op == "rank" else row)
        text = [f"{reading_line}{note}", ""] + lines
        if cq.op == "rank":
            first = shown[0]
            which = "最も小さい" if cq.ascending else "最も大きい"
            if cq.nth:
                which = f"{cq.top}番目に{'小さい' if cq.ascending else '大きい'}"
                text.insert(0, f"{which}のは「{first.project_name}」で、{_shown_value(first, unit, convert)}[1]です。"
                            if len(shown) == 1 else f"{which}のは次の{len(shown)}件です（同じ値）。")
            elif cq.top == 1 and len(shown) == 1:
                text.insert(0, f"{which}のは「{first.project_name}」で、{_shown_value(first, unit, convert)}[1]です。")
            elif cq.top == 1:
                text.insert(0, f"{which}のは次の{len(shown)}件で、いずれも{_shown_value(first, unit, convert)}です（同じ値）。")
            else:
                text.insert(0, f"{'下' if cq.ascending else '上'}位{cq.top}件は次のとおりです"
                            + (f"（同じ値のため{len(shown)}件）。" if len(shown) > cq.top else "。"))
        if cq.op == "compare" and len(shown) == 2 and _in(shown[0], unit) != _in(shown[1], unit):
            big, small = sorted(shown, key=lambda c: -_in(c, unit))
            gap = _in(big, unit) - _in(small, unit)
            text.insert(0, f"「{big.project_name}」のほうが {format_number(gap)}{unit} 大きくなっています"
                        f"（{format_number(_in(big, unit))} − {format_number(_in(small, unit))}）。")
        if cq.op == "sum":
            total = sum(_in(c, unit) for c in shown)
            terms = " + ".join(format_number(_in(c, unit)) for c in shown) if len(shown) <= 10 else \
                f"表の {len(shown)} 件の値の和"  # every term is a row of the table below
            text.insert(0, f"合計は {terms} = {format_number(total)}{unit} です（{len(shown)}件）。")
        if convert:
            text.append(f"単位の換算: {convert}")
        if blank or missing_row:
            names = [f"「{s.project_name}」（{canonical_year_label(year)}の値が空欄または記載なし）" for s in blank]
            names += [f"「{s.project_name}」（お尋ねの項目の行なし）" for s in missing_row]
            text.append("数えていないシート（0とはみなしていません）: " + "、".join(names))
        chart = Chart(kind="bar", title=reading_line, unit=unit,
                      labels=tuple(c.project_name for c in shown), values=tuple(_in(c, unit) for c in shown),
                      cited=tuple(range(1, len(shown) + 1)))
        return Answer(status=Status.ANSWERED, intent="cross", citations=cites, answer="\n".join(text), chart=chart)


_OPS = re.compile(r"いちばん|一番|最も|もっとも|最大|最小|最高|最低|上位\d*|下位\d*|トップ\d*|ワースト\d*|順位|順に|"
                  r"大きい|小さい|多い|少ない|高い|低い|合計|足すと|足した|合わせ|総額|総計|比べ|比較|それぞれ|"
                  r"全部|すべて|全て|一覧|挙げて|教えて|(?:事業|業務)(?!費|計|数|量)|担当(?!職員)|所管|\d+つ|の中で|のうち")


def _printed(fragment: str, text: str) -> str:
    """The part of a printed text that a normalised fragment of it stands for (（児） for (児))."""
    flat = unicodedata.normalize("NFKC", text)
    if unicodedata.normalize("NFKC", text) == text:
        return fragment
    at = flat.find(fragment)
    # NFKC maps each of these characters to one character, so positions carry over.
    return text[at:at + len(fragment)] if at >= 0 and len(flat) == len(text) else fragment


@functools.lru_cache(maxsize=50_000)
def _label_parts(label: str) -> tuple[tuple[str, ...], str]:
    """A row label's tokens and compact form: the forms print the same labels on thousands of sheets."""
    return tuple(tokenize(label)), compact(label)


def _label_fit(quantity: tuple[str, ...], qcompact: str, label: str, idf) -> float:
    tokens, flat = _label_parts(label)
    return max(token_coverage(quantity, tokens, idf, flat), 0.9 * label_coverage(qcompact, label))


# Projects spoken of in the plural (「3つの…」「各事業」「それぞれ」「全事業」, an enumeration in brackets):
# several sheets asked about at once, not one sheet's figure over years. 全部 alone (「全部足したら」) may
# mean every year.
_MANY_PROJECTS = re.compile(r"\d+つの|[0-9０-９]+件の|各|それぞれ|(?:全|全ての|すべての)(?:事業|業務)|(?:事業|業務)(?:を|の)?(?:全部|全て|すべて|合わせ)"
                            r"|[（(][^）)]*[・、][^）)]*[）)]")


def by_name_only(named: list, department: str, policy: str) -> bool:
    return len(named) >= 2 and not (department or policy)


def _asks_figure(q: Query, t: str) -> bool:
    return bool(q.numeric or q.money or q.tables or _MONEY_WORD.search(t) or q.counter)


def _listing(cq: CrossQuery, reading: str, sheets: list[SheetRow]) -> Answer:
    cites = _cite_all(sheets)
    lines = ["| 事務事業名 | 自治体 | 担当 |", "|---|---|---|"]
    lines += [f"| {_md(s.project_name)}[{i}] | {_md(s.municipality or '不明')} | {_md(s.department or '—')} |"
              for i, s in enumerate(sheets, start=1)]
    # Sheets chosen by their names: the names are the list, said once (no 「…で絞り込み」 before it).
    by_name = bool(cq.scope.sheet_ids)
    whose = "お尋ねの名前" if by_name else reading
    head = f"{whose}の事業は {len(sheets)} 件です。" if cq.op == "count" else \
        f"{whose}の事業は次の {len(sheets)} 件です（すべて挙げます）。"
    scope = "" if by_name else f"{reading}で絞り込み: "
    return Answer(status=Status.ANSWERED, intent="cross", citations=cites,
                  answer=f"{scope}{head}\n\n" + "\n".join(lines))


def _cite_all(sheets: Sequence[SheetRow]) -> tuple[Citation, ...]:
    return tuple(cite_sheet(i, _sheet_row(s)) for i, s in enumerate(sheets, start=1))


def _resolve_years(refs: tuple, cells: list[CellRow]) -> list[int]:
    """Western years asked, a bare year (25年度) read in the era the sheets' own columns use."""
    have = {c.fiscal_year for c in cells if c.fiscal_year is not None}
    out = []
    for ref in refs:
        if ref.relative is not None:
            continue
        cands = ref.candidates()
        pick = next((y for y in cands if y in have), cands[0] if cands else None)
        if pick is not None:
            out.append(pick)
    return out


def _latest_common_year(cells: list[CellRow]) -> int:
    """The latest year in which at least half of the sheets have an actual value (else any value)."""
    sheets = {c.sheet_id for c in cells}
    by_year: dict[int, set[str]] = {}
    for c in cells:
        if c.fiscal_year is not None and c.value is not None and c.kind in ACTUAL_KINDS:
            by_year.setdefault(c.fiscal_year, set()).add(c.sheet_id)
    good = [y for y, ids in by_year.items() if len(ids) * 2 >= len(sheets)]
    if good:
        return max(good)
    years = [c.fiscal_year for c in cells if c.fiscal_year is not None and c.value is not None]
    return max(years) if years else 0


def _latest_per_sheet(cells: list[CellRow], kind: Kind | None) -> dict[str, CellRow]:
    """Each sheet's latest cell with a value: of the asked kind, else an actual."""
    out: dict[str, CellRow] = {}
    for c in cells:
        if c.value is None or c.fiscal_year is None:
            continue
        if kind is not None and c.kind != kind.value:
            continue
        if kind is None and c.kind not in ACTUAL_KINDS:
            continue
        have = out.get(c.sheet_id)
        if have is None or (c.fiscal_year or 0) > (have.fiscal_year or 0):
            out[c.sheet_id] = c
    return out


def _one_cell_per_sheet(cells: list[CellRow], year: int, kind: Kind | None) -> dict[str, CellRow]:
    """Each sheet's cell for the year: the asked kind, else an actual, else the first printed."""
    out: dict[str, CellRow] = {}
    for c in cells:
        if c.fiscal_year != year:
            continue
        have = out.get(c.sheet_id)
        rank = 0 if (kind is not None and c.kind == kind.value) else (1 if c.kind in ACTUAL_KINDS else 2)
        if have is None or rank < (0 if (kind is not None and have.kind == kind.value)
                                   else (1 if have.kind in ACTUAL_KINDS else 2)):
            out[c.sheet_id] = c
    return out


def _common_unit(cells: list[CellRow]) -> tuple[str | None, str]:
    """The unit to compare in, and how other money units were converted ('' when none were)."""
    units = {c.unit for c in cells}
    if len(units) == 1:
        return units.pop(), ""
    if all(u in YEN for u in units):
        target = "千円" if "千円" in units else min(units, key=lambda u: YEN[u])
        others = sorted(u for u in units if u != target)
        return target, "、".join(f"{u}は{target}に換算（1{u} = {format_number(YEN[u] / YEN[target])}{target}）"
                                 for u in others)
    return None, ""


def _in(c: CellRow, unit: str) -> float:
    if c.unit == unit or c.yen is None:
        return float(c.value or 0.0)
    return c.yen / YEN[unit]


def _shown_value(c: CellRow, unit: str, convert: str) -> str:
    if c.unit == unit or not convert:
        return f"{c.value_text}{'' if c.value_text.endswith(c.unit) else c.unit}"
    return f"{format_number(_in(c, unit))}{unit}（{c.value_text}{c.unit}）"


def _common_label(cells: list[CellRow]) -> str:
    labels = list(dict.fromkeys(re.sub(r"^[ア-ン]\s+", "", c.row_label) for c in cells))
    return labels[0] if len(labels) == 1 else "／".join(labels[:3])


def _md(text: str) -> str:
    return unicodedata.normalize("NFC", text).replace("|", "｜")


def _quote(c: CellRow) -> str:
    return f"{c.row_label} {c.year_label}: {c.value_text}{'' if c.value_text.endswith(c.unit) else c.unit}"


def _sheet_row(s: SheetRow) -> Sheet:
    return Sheet.model_construct(sheet_id=s.sheet_id, municipality=s.municipality, fiscal_year=s.fiscal_year,
                                 fiscal_year_label=s.fiscal_year_label, project_name=s.project_name,
                                 department=s.department, source_file=s.source_file, locator=s.locator, layout="")


def _sheet_of(c: CellRow) -> Sheet:
    return Sheet.model_construct(sheet_id=c.sheet_id, municipality=c.municipality, project_name=c.project_name,
                                 department=c.department, source_file=c.source_file, locator=c.sheet_locator,
                                 layout="", fiscal_year=c.sheet_year, fiscal_year_label=c.sheet_year_label)


def _cell_of(c: CellRow) -> TableCell:
    return TableCell.model_construct(record_id=c.record_id, sheet_id=c.sheet_id, table=Table(c.table),
                                     row_label=c.row_label, unit=c.unit, fiscal_year=c.fiscal_year,
                                     fiscal_year_label=c.year_label, printed_year_label=c.printed_year_label,
                                     kind=Kind(c.kind), value=c.value, value_text=c.value_text, locator=c.locator)


def _years_summed(q: Query) -> bool:
    """The question sums a figure over years: a range (28年度から30年度まで) or two or more years named."""
    return q.year_range or len({y.text for y in q.years}) >= 2


def _narrowed(names: list[SheetRow], modifier: str, phrase: str) -> list[SheetRow]:
    """「北部のほうの浄水場管理事業」: words before the name modify it, and when they are held by
    one of the names it fits (its bracketed part) and by no other, that one is meant."""
    said = set(content_tokens(tokenize(modifier))) - set(tokenize(phrase))
    held = [(len(said & set(tokenize(r.project_name))), r) for r in names]
    best = max(n for n, _ in held)
    winners = [r for n, r in held if n == best]
    # Every word said is held by the one meant: a word none of the names holds (台帳… for 補欠選挙) says
    # the project asked is none of them.
    return winners if best > 0 and best == len(said) and len(winners) == 1 else names
