"""Generate tuning questions from the records themselves, for breadth rather than for one question.

    HYOKA_HOME=.hyoka/eval python bench/breadth.py --out .hyoka/breadth.jsonl [--per-sheet 3]
    HYOKA_HOME=.hyoka/eval hyoka eval .hyoka/breadth.jsonl

Every expected value is read from a stored record, so the set is exactly right about what the sheets
say; its phrasing is varied (和暦/西暦/R5/kanji numerals, labels shortened or paraphrased, with and
without the municipality, conversations) but it is still machine-made. It is for tuning; the blind
set written by people is the honest measure. Sheets whose id hashes to 0 mod 10 are held out: their
questions carry ids starting "x" so they can be scored separately.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.normalize import western_to_wareki  # noqa: E402
from ingest.records import Kind, ParsedSheet, Section, TableCell  # noqa: E402

KANJI_DIGITS = "〇一二三四五六七八九"
KIND_AND_TIME = {"予算", "決算", "実績", "見込み", "計画", "目標", "現在", "年度", "場合", "対象", "実施", "合計", "全体"}
MONEY = ("千円", "円", "万円", "百万円")
# A row's letter (ア, サ, A) or circled number before its label: followed by a space or by kanji.
_LETTER = re.compile(r"^(?:[ア-ンA-Za-z①-⑳]\s+|[ア-ン](?=[\u4e00-\u9fff]))")
_PAREN = re.compile(r"[（(][^）)]*[）)]")

# Everyday words for labels every 行政評価 form prints; the answerer must understand them too.
EVERYDAY = {
    "トータルコスト": ["総コスト", "トータルコスト", "フルコスト"],
    "事業費計": ["事業費", "事業費の合計"],
    "人件費計": ["人件費"],
    "正規職員従事人数": ["職員数", "正規職員の従事人数", "担当職員の数"],
    "延べ業務時間": ["業務時間", "延べの業務時間"],
    "国庫支出金": ["国庫支出金", "国の補助金"],
    "都道府県支出金": ["県支出金", "県からの支出金"],
    "一般財源": ["一般財源"],
    "地方債": ["地方債", "起債額"],
    "歳出": ["歳出", "事業費"],
    "合計": ["合計コスト", "コストの合計"],
    "従事人員": ["従事人員", "職員数"],
}

SECTION_ASKS: dict[Section, list[str]] = {
    Section.ORIGIN: ["{n}を始めたきっかけは？", "{n}の発端を教えてください", "そもそも{n}はなぜ始まったの？",
                     "{n}が開始された経緯は？"],
    Section.OPINIONS: ["{n}について関係者や住民からどんな意見がありますか", "{n}への市民の声は？"],
    Section.CHANGES: ["{n}を取り巻く状況はどう変わりましたか", "{n}の環境変化について教えて"],
    Section.TARGET: ["{n}は誰を対象にしていますか", "{n}の対象は？"],
    Section.PURPOSE: ["{n}の目的は何ですか", "{n}のねらいは？", "{n}で対象をどう変えたいの？"],
    Section.ISSUES: ["{n}の課題は何ですか", "{n}で解決すべき課題を教えて"],
    Section.DIRECTION: ["{n}の今後の方向性は？"],
    Section.LEGAL_BASIS: ["{n}の根拠法令は？", "{n}は何の法律や条例に基づいていますか"],
    Section.DELIVERY: ["{n}は直営ですか、委託ですか", "{n}の実施形態は？"],
    Section.OVERVIEW: ["{n}はどんな事業ですか", "{n}の概要を教えて"],
    Section.MEANS_DONE: ["{n}で前年度に行った主な活動は？"],
    Section.MANAGER_OPINION: ["{n}について課長の意見は？"],
    Section.OTHER_CITIES: ["{n}について他都市の状況は？"],
    Section.ACTIVITIES: ["{n}の取組状況を教えて", "{n}のこれまでの取組と成果は？"],
}

_DATE = re.compile(r"(?:昭和|平成|令和)(?:元|\d{1,2})年(?:度|\d{1,2}月(?:\d{1,2}日)?)?|(?:19|20)\d{2}年(?:度)?")
_COUNT = re.compile(r"(\d[\d,]*)\s*(人|回|件|か所|箇所|校|団体|基|台|頭|トン|枚|隻|世帯|戸|施設|地区|小学校区)")


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def kanji_number(n: int) -> str:
    """23 -> 二十三 (years and small counts as people write them)."""
    if n == 1:
        return "元"
    tens, ones = divmod(n, 10)
    out = ("" if tens == 0 else ("十" if tens == 1 else KANJI_DIGITS[tens] + "十"))
    return out + (KANJI_DIGITS[ones] if ones else "")


def year_phrases(year: int, era_hint: str) -> list[str]:
    stem = western_to_wareki(year)  # 令和5 / 平成30 / 令和元
    era, num = stem[:2], stem[2:]
    n = 1 if num == "元" else int(num)
    letter = {"令和": "R", "平成": "H", "昭和": "S"}.get(era, "")
    out = [f"{stem}年度", f"{year}年度", f"{letter}{n}年度", f"{era}{kanji_number(n)}年度", f"{letter}{n}"]
    if era_hint == era:
        out.append(f"{n}年度")
    return out


def clean_label(label: str) -> str:
    t = _PAREN.sub("", nfkc(label)).strip()
    t = _LETTER.sub("", t).strip()
    return t.strip("・:：+＋ ")


def label_variants(label: str) -> list[str]:
    core = clean_label(label)
    if not core:
        return []
    out = [core]
    for key, words in EVERYDAY.items():
        if core.replace(" ", "").startswith(key) or core.replace(" ", "") == key:
            out += words
    if len(core) > 10 and "の" in core:
        out.append(core.split("の")[-1] if len(core.split("の")[-1]) >= 3 else core)
    return list(dict.fromkeys(out))


def name_variants(name: str, municipality: str) -> list[str]:
    short = re.sub(r"(事業|業務|事務)$", "", name)
    out = [name, f"{municipality}の{name}" if municipality else name]
    if len(short) >= 4 and short != name:
        out.append(short)
    return out


def digits(value_text: str) -> str:
    t = nfkc(value_text).replace(",", "")
    m = re.search(r"-?\d+(?:\.\d+)?", t)
    return m.group(0) if m else ""


class Generator:
    def __init__(self, sheets: list[ParsedSheet], seed: int = 7) -> None:
        self.sheets = sheets
        self.names = Counter(ps.sheet.project_name for ps in sheets)
        self.seed = seed
        self.qs: list[dict] = []

    def rng(self, *key: object) -> random.Random:
        h = hashlib.sha256(json.dumps([self.seed, *map(str, key)], ensure_ascii=False).encode()).hexdigest()
        return random.Random(int(h[:12], 16))

    @staticmethod
    def held_out(ps: ParsedSheet) -> bool:
        return int(hashlib.sha256(ps.sheet.sheet_id.encode()).hexdigest()[:8], 16) % 10 == 0

    def add(self, ps: ParsedSheet | None, kind: str, qtype: str, question: str, expect: dict,
            history: list[dict] | None = None) -> None:
        prefix = "x" if ps is not None and self.held_out(ps) else "g"
        q = {"id": f"{prefix}{len(self.qs):05d}-{kind}", "type": qtype, "question": question, "expect": expect}
        if history:
            q["history"] = history
        self.qs.append(q)

    def unique_name(self, ps: ParsedSheet) -> bool:
        return self.names[ps.sheet.project_name] == 1

    # --- figures --------------------------------------------------------------------------
    def figure_rows(self, ps: ParsedSheet) -> list[list[TableCell]]:
        out = []
        for cells in ps.rows().values():
            filled = [c for c in cells if c.value is not None and c.fiscal_year is not None
                      and c.kind is not Kind.ACHIEVEMENT]
            if filled and clean_label(cells[0].row_label):
                out.append(cells)
        return out

    def ambiguous(self, ps: ParsedSheet, cells: list[TableCell], cell: TableCell, label: str) -> bool:
        """Another row of the sheet that the same words name, with another value that year."""
        for other in ps.rows().values():
            if other is cells or other[0].row_label == cells[0].row_label:
                continue
            if label in clean_label(other[0].row_label) or clean_label(other[0].row_label) in label:
                if any(o.fiscal_year == cell.fiscal_year and o.value != cell.value for o in other):
                    return True
        return False

    def figure(self, ps: ParsedSheet, n: int) -> None:
        rows = self.figure_rows(ps)
        if not rows or not self.unique_name(ps):
            return
        s = ps.sheet
        r = self.rng(s.sheet_id, "figure")
        era = western_to_wareki(s.fiscal_year or 2020)[:2]
        for i in range(n):
            cells = r.choice(rows)
            filled = [c for c in cells if c.value is not None and c.fiscal_year is not None
                      and c.kind is not Kind.ACHIEVEMENT]
            cell = r.choice(filled)
            label = r.choice(label_variants(cell.row_label))
            if self.ambiguous(ps, cells, cell, clean_label(cell.row_label)) or self.ambiguous(ps, cells, cell, label):
                continue
            same_year = [c for c in cells if c.fiscal_year == cell.fiscal_year and c.value is not None]
            kinds = {c.kind for c in same_year}
            year = r.choice(year_phrases(cell.fiscal_year, era))
            kind = cell.kind.value if (len(kinds) > 1 or r.random() < 0.3) and cell.kind is not Kind.UNKNOWN else ""
            name = r.choice(name_variants(s.project_name, s.municipality))
            ask = ("はいくらですか" if cell.unit in MONEY else
                   (f"は何{cell.unit}ですか" if cell.unit in ("人", "回", "件", "基", "校", "団体") else "は？"))
            template = r.choice(["{name}の{year}{kind}の{label}{ask}", "{year}{kind}の{name}の{label}{ask}",
                                 "{name}について、{year}{kind}の{label}を教えてください"])
            q = template.format(name=name, year=year, kind=kind, label=label, ask=ask)
            value = digits(cell.value_text)
            if not value:
                continue
            self.add(ps, f"f{i}", "figure", q, {"status": "answered", "sheet": s.project_name, "numbers": [value]})
            if i == 0:
                self.conversation(ps, cells, cell, q, r)
                self.change(ps, cells, cell, label, name, r)

    def conversation(self, ps: ParsedSheet, cells: list[TableCell], cell: TableCell, first: str,
                     r: random.Random) -> None:
        """A figure, then the year walked back, then a narrative question about the same project."""
        history = [{"role": "user", "content": first},
                   {"role": "assistant", "content": f"{cell.value_text}{cell.unit}です。"}]
        by_year = {c.fiscal_year: c for c in cells if c.kind == cell.kind or c.kind is Kind.UNKNOWN}
        year = cell.fiscal_year
        for step, ask in enumerate(["その前の年度は？", "さらにその前の年は？", "その前は？"]):
            year = (year or 0) - 1
            prev = by_year.get(year)
            if prev is None or prev.value is None:
                break
            self.add(ps, f"m{step}", "multi", ask,
                     {"status": "answered", "sheet": ps.sheet.project_name, "numbers": [digits(prev.value_text)]},
                     history=list(history))
            history += [{"role": "user", "content": ask}, {"role": "assistant", "content": f"{prev.value_text}です。"}]
        origin = [n for n in ps.narratives if n.section is Section.ORIGIN and len(n.text) >= 12]
        if origin:
            phrase = first_phrase(origin[0].text)
            if phrase:
                self.add(ps, "mo", "multi", r.choice(["この事業はいつ始まったの？", "そもそもなぜ始まった事業ですか"]),
                         {"status": "answered", "sheet": ps.sheet.project_name, "phrases_any": [phrase]},
                         history=list(history))

    def change(self, ps: ParsedSheet, cells: list[TableCell], cell: TableCell, label: str, name: str,
               r: random.Random) -> None:
        prev = [c for c in cells if c.fiscal_year == (cell.fiscal_year or 0) - 1 and c.kind == cell.kind
                and c.value is not None]
        if not prev or cell.value is None:
            return
        a, b = prev[0], cell
        era = western_to_wareki(b.fiscal_year or 2020)[:2]
        yb = r.choice(year_phrases(b.fiscal_year or 0, era))
        ya = r.choice(year_phrases(a.fiscal_year or 0, era))
        diff = abs((b.value or 0) - (a.value or 0))
        dtext = f"{diff:,.10g}".replace(",", "")
        qtype, q, nums = r.choice([
            ("trend", f"{name}の{label}は、{ya}から{yb}にかけてどう変わりましたか", [digits(a.value_text), digits(b.value_text)]),
            ("trend", f"{name}の{yb}の{label}は前年度より増えましたか", [digits(a.value_text), digits(b.value_text)]),
            ("derived", f"{name}の{label}は{ya}と{yb}でどれだけ違いますか", [dtext]),
        ])
        self.add(ps, "c", qtype, q, {"status": "answered", "sheet": ps.sheet.project_name, "numbers": nums})

    # --- narratives -----------------------------------------------------------------------
    def narrative(self, ps: ParsedSheet, n: int) -> None:
        if not self.unique_name(ps):
            return
        s = ps.sheet
        r = self.rng(s.sheet_id, "narrative")
        by_section: dict[Section, list] = {}
        for rec in ps.narratives:
            by_section.setdefault(rec.section, []).append(rec)
        askable = [sec for sec, recs in by_section.items() if sec in SECTION_ASKS and len(recs) == 1
                   and len(recs[0].text) >= 12 and first_phrase(recs[0].text)]
        for i in range(min(n, len(askable))):
            sec = askable.pop(r.randrange(len(askable)))
            rec = by_section[sec][0]
            name = r.choice(name_variants(s.project_name, s.municipality))
            q = r.choice(SECTION_ASKS[sec]).format(n=name)
            self.add(ps, f"n{i}", "narrative", q,
                     {"status": "answered", "sheet": s.project_name, "phrases_any": [first_phrase(rec.text)]})
        self.facts(ps, r)

    def facts(self, ps: ParsedSheet, r: random.Random) -> None:
        """A date or a count written in prose, asked with the sentence's own nouns."""
        from vectorstore.tokens import tokenize

        s = ps.sheet
        name = r.choice(name_variants(s.project_name, s.municipality))
        name_toks = set(tokenize(s.project_name))
        for rec in ps.narratives:
            for sent in re.split(r"(?<=[。])", rec.text):
                m = _COUNT.search(nfkc(sent))
                d = _DATE.search(nfkc(sent))
                dated = set(tokenize(d.group(0))) if d else set()
                nouns = [t for t in tokenize(sent) if t not in name_toks and t not in dated and len(t) >= 2
                         and not t[0].isdigit() and t not in ("昭和", "平成", "令和", "年度")]
                if len(nouns) < 2:
                    continue
                if m and r.random() < 0.5:
                    # The noun right before the count, in the same clause (「衛生監視員（34人）」).
                    before = re.split(r"[、。,]", nfkc(sent)[: m.start()])[-1]
                    head = [t for t in tokenize(before[-20:]) if len(t) >= 2 and not t[0].isdigit()
                            and t not in KIND_AND_TIME]
                    if not head or not before.rstrip("（( ").endswith(tuple(head[-1][:2])):
                        continue
                    q = f"{name}で、{head[-1]}は何{m.group(2)}ですか"
                    self.add(ps, "fc", "narrative", q, {"status": "answered", "sheet": s.project_name,
                                                        "phrases_any": [f"{m.group(1)}{m.group(2)}"]})
                    return
                if d and r.random() < 0.5:
                    # The nouns closest after the date name what happened then (「昭和44年度に衛生監視員を設置」).
                    near = [t for t in tokenize(nfkc(sent)[d.end(): d.end() + 30]) if t in nouns]
                    near += [t for t in nouns if t not in near]
                    q = f"{name}で、{near[0]}や{near[1]}はいつのことですか"
                    self.add(ps, "fd", "narrative", q,
                             {"status": "answered", "sheet": s.project_name, "phrases_any": [d.group(0)]})
                    return

    # --- topics and refusals --------------------------------------------------------------
    def topic(self, ps: ParsedSheet, df: Counter) -> None:
        from vectorstore.tokens import tokenize

        s = ps.sheet
        overview = next((n.text for n in ps.narratives if n.section in (Section.OVERVIEW, Section.PURPOSE)), "")
        name_toks = set(tokenize(s.project_name))
        rare = [t for t in dict.fromkeys(tokenize(overview)) if t not in name_toks and len(t) >= 2
                and not t[0].isdigit() and 1 <= df[t] <= 2]
        if len(rare) < 2:
            return
        r = self.rng(s.sheet_id, "topic")
        q = r.choice(["{a}や{b}に取り組んでいる事業はありますか", "{a}と{b}に関する事業を探しています",
                      "{a}について{b}をしている業務のシートは？"]).format(a=rare[0], b=rare[1])
        self.add(ps, "t", "topic", q, {"status": "answered", "sheet": s.project_name})

    def refusals(self, ps: ParsedSheet, all_names: list[str]) -> None:
        s = ps.sheet
        r = self.rng(s.sheet_id, "refusal")
        rows = self.figure_rows(ps)
        if rows and self.unique_name(ps):
            cells = r.choice(rows)
            years = {c.fiscal_year for c in cells if c.fiscal_year}
            missing = max(years) + r.choice([3, 4, 6]) if r.random() < 0.5 else min(years) - r.choice([4, 7])
            era = western_to_wareki(s.fiscal_year or 2020)[:2]
            label = r.choice(label_variants(cells[0].row_label))
            self.add(ps, "ry", "refusal", f"{s.project_name}の{r.choice(year_phrases(missing, era)[:3])}の{label}は？",
                     {"status": "not_found"})
            present = " ".join(c[0].row_label for c in ps.rows().values()) + " ".join(n.text for n in ps.narratives)
            # Quantities some forms print and others lack (not ones every form has under another name:
            # 国県支出金 is 神戸's 国庫支出金, 従事人員 its 職員数).
            absent = [w for w in ("延べ業務時間", "地方債", "物件費", "受益者負担率",
                                  "市民一人あたり", "減価償却費", "達成率")
                      if w[:3] not in present]
            if absent:
                w = r.choice(absent)
                y = r.choice(sorted(years))
                self.add(ps, "rl", "refusal", f"{s.project_name}の{r.choice(year_phrases(y, era)[:3])}の{w}は？",
                         {"status": "not_found"})
        fake = fake_name(s.project_name, all_names, r)
        if fake:
            self.add(None, "rp", "refusal", r.choice([f"{fake}の令和5年度のトータルコストは？", f"{fake}はいつ始まったのですか",
                                                     f"{fake}の担当部署はどこですか"]), {"status": "not_found"})


# --- across sheets ---------------------------------------------------------------------------
LIST_ASKS = ["{g}が担当している事業は？", "{g}の事業を全部挙げてください", "{g}の事業にはどんなものがありますか",
             "{g}が所管する事業を一覧で教えて"]
COUNT_ASKS = ["{g}の事業はいくつありますか", "{g}が担当している事業は何件？", "{g}の事業の数を教えて"]
RANK_ASKS = ["{g}の事業で{y}の{q}がいちばん大きいのは？", "{g}の事業のうち{y}の{q}が最も多い事業は？",
             "{y}の{q}が一番大きい{g}の事業はどれ？"]
LOW_ASKS = ["{g}の事業で{y}の{q}がいちばん小さいのは？", "{g}の事業のうち{y}の{q}が最も少ない事業は？"]
SUM_ASKS = ["{g}の事業の{y}の{q}の合計は？", "{g}の全事業の{y}の{q}を足すといくら？"]
QUANTITIES = {"トータルコスト(A)+(B)": ["トータルコスト", "総コスト"], "事業費計(A)": ["事業費"], "人件費計(B)": ["人件費"]}


def cross_questions(gen: Generator, sheets: list[ParsedSheet]) -> None:
    """Lists, counts, rankings and totals over the units (課, 係) and policies the sheets print."""
    from ingest.meta import department_parts

    groups: dict[str, list[ParsedSheet]] = {}
    for ps in sheets:
        for level, name in department_parts(ps.sheet.department):
            if level in ("課", "係") and len(name) >= 3:
                groups.setdefault(name, []).append(ps)
        for n in ps.narratives:
            if n.label in ("施策名", "基本事業名") and len(n.text) >= 6:
                groups.setdefault(f"施策「{n.text}」" if n.label == "施策名" else f"基本事業「{n.text}」", []).append(ps)
    names = Counter(ps.sheet.project_name for ps in sheets)
    for g, members in sorted(groups.items()):
        members = [ps for ps in members if names[ps.sheet.project_name] == 1]
        if not 2 <= len(members) <= 12 or any(g in n for n in names):  # a unit named like a project is ambiguous
            continue
        r = gen.rng("cross", g)
        listed = sorted(ps.sheet.project_name for ps in members)
        gen.add(None, "xl", "list", r.choice(LIST_ASKS).format(g=g),
                {"status": "answered", "sheet": listed[0], "phrases_any": listed, "phrases_min": len(listed)})
        gen.add(None, "xc", "count", r.choice(COUNT_ASKS).format(g=g),
                {"status": "answered", "sheet": listed[0], "numbers": [str(len(listed))]})
        label = r.choice(list(QUANTITIES))
        year = 2024
        values = {ps.sheet.project_name: next((c for c in ps.cells if c.row_label == label and c.fiscal_year == year
                                               and c.value is not None), None) for ps in members}
        if any(v is None for v in values.values()) or g.startswith(("施策", "基本事業")):
            continue
        q = r.choice(QUANTITIES[label])
        y = r.choice(["令和6年度", "R6", "2024年度"])
        ranked = sorted(values.items(), key=lambda kv: -(kv[1].value or 0))
        if ranked[0][1].value != ranked[1][1].value:
            gen.add(None, "xr", "rank", r.choice(RANK_ASKS).format(g=g, y=y, q=q),
                    {"status": "answered", "sheet": ranked[0][0], "numbers": [digits(ranked[0][1].value_text)]})
        if ranked[-1][1].value != ranked[-2][1].value:
            gen.add(None, "xb", "rank", r.choice(LOW_ASKS).format(g=g, y=y, q=q),
                    {"status": "answered", "sheet": ranked[-1][0], "numbers": [digits(ranked[-1][1].value_text)]})
        total = sum(c.value or 0 for c in values.values())
        gen.add(None, "xs", "sum", r.choice(SUM_ASKS).format(g=g, y=y, q=q),
                {"status": "answered", "sheet": listed[0], "numbers": [f"{total:.10g}"]})


def first_phrase(text: str) -> str:
    """A distinctive run near the start of a section: what a quote of it must contain."""
    t = nfkc(text).lstrip("・●○■◆※-－ 　")
    t = re.split(r"[。\n]", t)[0]
    t = re.sub(r"^[①-⑳\d.．、)）(（\s]+", "", t)
    if len(t) < 6 or re.fullmatch(r"[\d,.\s%]+", t):
        return ""
    return t[:12].strip()


def fake_name(name: str, all_names: list[str], r: random.Random) -> str:
    """A plausible project that is not in the store: this name with its topic noun swapped."""
    from vectorstore.tokens import tokenize

    toks = [t for t in tokenize(name) if len(t) >= 2]
    others = [t for n in r.sample(all_names, min(30, len(all_names))) for t in tokenize(n) if len(t) >= 2]
    if len(toks) < 2 or not others:
        return ""
    swap = r.choice(others)
    cand = nfkc(name).replace(toks[0], swap, 1)
    if cand == nfkc(name) or any(cand in nfkc(n) or nfkc(n) in cand for n in all_names):
        return ""
    if any(swap in nfkc(n) and toks[1] in nfkc(n) for n in all_names):
        return ""  # the swapped words meet in a real project: not clearly absent
    return cand


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-sheet", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cross", action="store_true", help="only questions across sheets (lists, counts, ranks, sums)")
    args = ap.parse_args()
    from assistant.factory import build_store
    from assistant.settings import Settings
    from vectorstore.tokens import tokenize

    store = build_store(Settings())
    sheets = [ps for ps in (store.sheet(r.sheet_id) for r in store.catalogue()) if ps is not None]
    sheets.sort(key=lambda ps: ps.sheet.sheet_id)
    df: Counter = Counter()
    for ps in sheets:
        df.update(set(tokenize(" ".join(n.text for n in ps.narratives))))
    gen = Generator(sheets, args.seed)
    names = [ps.sheet.project_name for ps in sheets]
    for ps in ([] if args.cross else sheets):
        gen.figure(ps, args.per_sheet)
        gen.narrative(ps, args.per_sheet)
        gen.topic(ps, df)
        gen.refusals(ps, names)
    if args.cross:
        cross_questions(gen, sheets)
    Path(args.out).write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in gen.qs), encoding="utf-8")
    print(f"{len(gen.qs)} questions -> {args.out}: {dict(Counter(q['type'] for q in gen.qs))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
