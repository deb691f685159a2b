"""How well a question's words cover a row label or a passage.

Two readings of "covers", both needed on real sheets:
- token coverage, idf-weighted, over Sudachi's normalised tokens (貸し出された ~ 貸出 ~ 貸し出し);
- character bigrams of the compact label, for compounds Sudachi splits differently in the question
  and on the sheet (「開催・参加回数」 vs 「開催した回数」).

Everyday words for the labels the 行政評価 forms print (総コスト for トータルコスト, 職員数 for
正規職員従事人数) are listed once, here; they widen what a word can match, at a lower weight.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from vectorstore.tokens import parts_of, tokenize

# The words people use for what the forms' rows are called, by how the forms name them.
EVERYDAY: dict[str, tuple[str, ...]] = {
    "コスト": ("トータルコスト", "合計", "総コスト", "フルコスト", "事業費"),
    "総コスト": ("トータルコスト", "合計"),
    "フルコスト": ("トータルコスト", "合計"),
    "総事業費": ("トータルコスト", "事業費", "合計"),
    "職員": ("従事", "従事人員", "正規職員", "人員", "職員"),
    "職員数": ("従事", "人数", "従事人員", "正規職員", "人員"),
    "人員": ("従事", "人数", "従事人員"),
    "人数": ("人数", "人員", "者数"),
    "人": ("者", "人員"),  # 何人: the persons a label counts as 受診者, 利用者
    "補助金": ("支出金", "補助金", "交付金"),
    "国": ("国庫", "国県", "国・府", "国費"),
    "県": ("都道府県", "県支出金", "府支出金", "国県"),
    "府": ("府支出金", "国・府"),
    "国庫補助": ("国庫支出金",),
    "借金": ("地方債",),
    "市債": ("地方債",),
    "町債": ("地方債",),
    "持ち出し": ("一般財源",),
    "起債": ("地方債",),
    "税金": ("一般財源",),
    "市費": ("一般財源",),
    "自主財源": ("一般財源",),
    "業務時間": ("業務時間", "延べ"),
    "作業時間": ("業務時間",),
    "予算額": ("事業費", "歳出", "経費", "予算"),
    "支出": ("事業費", "歳出", "経費"),
    "支出額": ("事業費", "歳出", "経費"),
    "費用": ("事業費", "経費", "コスト", "歳出"),
    "経費": ("事業費", "経費", "歳出"),
    "歳出": ("歳出", "事業費"),
    "事業費": ("事業費", "歳出", "経費"),
    "総額": ("合計", "計", "トータルコスト"),
    "利用者": ("利用者", "利用人数", "参加者"),
    "参加者": ("参加者", "参加人数", "受講者"),
    "件数": ("件数", "数"),
    "担当": ("従事",),
    "子供": ("児童", "生徒", "園児", "子ども", "こども"),
    "子ども": ("児童", "生徒", "園児"),
    "お年寄り": ("高齢者",),
    # Loanwords for the forms' Sino-Japanese terms.
    "パスポート": ("旅券",), "オープン": ("開設", "開所", "開館", "開業"), "スタート": ("開始",),
    "中身": ("内容",), "キャンセル": ("取消", "中止"), "レンタル": ("貸出", "貸与"), "ペット": ("動物", "愛玩動物"),
}
# Native words people say for the Sino-Japanese nouns the sheets are written in (和語 → 漢語): a
# form says 配布, 移転, 廃止, 継続, 普及 where a question says 配る, 引っ越す, やめる, 続く, 広まる.
# Keys are Sudachi's normalized forms (造る → 作る, やめる as written).
WAGO: dict[str, tuple[str, ...]] = {
    "家庭": ("世帯",), "住民": ("市民",), "名前": ("名称",), "呼び方": ("名称",),
    "届ける": ("配布", "配達", "送付"), "配る": ("配布", "交付"), "引っ越す": ("移転",),
    "建てる": ("建設", "整備", "建築"), "作る": ("建設", "建造", "整備", "作成", "創設"),
    "やめる": ("廃止", "終了", "中止"), "終わる": ("終了", "廃止"), "始める": ("開始", "創設"),
    "続く": ("継続",), "続ける": ("継続",), "増やす": ("拡充", "増加", "増額"), "減らす": ("削減", "縮小", "減額"),
    "困る": ("課題",), "広まる": ("普及",), "広める": ("普及", "周知"), "手伝う": ("支援",),
    "助ける": ("支援",), "集める": ("徴収", "募集"), "払う": ("支払", "負担"), "乗る": ("乗車",),
    "泊まる": ("宿泊",), "教える": ("指導",), "選ぶ": ("選定",), "決める": ("決定",),
    "調べる": ("調査",), "守る": ("保全", "保護"), "育てる": ("育成",), "直す": ("修繕", "補修"),
    "壊れる": ("破損", "故障"), "古い": ("老朽",), "売る": ("販売",), "買う": ("購入",),
    "貸す": ("貸与", "貸付", "貸出"), "借りる": ("借用", "借入"), "値上げ": ("改定", "引き上げ"),
    "値下げ": ("改定", "引き下げ"), "訪れる": ("来訪", "訪問"), "申し込む": ("申込", "申請"),
    "断る": ("不承認", "却下"), "待つ": ("待機",), "渡す": ("交付", "支給", "贈呈"), "進める": ("推進",),
    "なくなる": ("廃止", "終了"), "無くなる": ("廃止", "終了"), "なくす": ("廃止",), "無くす": ("廃止",),
    "打ち切る": ("終了", "廃止", "中止"), "取り止める": ("中止", "廃止"), "閉じる": ("閉鎖", "廃止"),
}
SYNONYM_WEIGHT = 0.8
# Words that ask for a project's cost as such: its main cost row (the total of its cost table),
# not a row that qualifies the word (単位あたりコスト, 物件費).
GENERIC_COST = frozenset({"コスト", "費用", "経費", "お金", "御金", "総額", "総コスト", "フルコスト", "トータルコスト", "総費用",
                          "トータル", "金額", "総事業費"})


_TOTAL = re.compile(r"計\s*(?:[(（][A-ZＡ-Ｚ][)）])?\s*$|トータル|歳出|総額")


def is_total(label: str, table: str) -> bool:
    """A cost table's total row: labelled so at its end (事業費計(A), 合計（A）, トータルコスト), or
    the table's own name with at most a letter for the formula (池田's 「事業費 A」). 計 inside a
    name (負担金【介護保険特別会計】) is not a total."""
    label = unicodedata.normalize("NFKC", label).strip()
    return bool(_TOTAL.search(label) or re.fullmatch(rf"{re.escape(table)}\s*\(?[A-Z]?\)?", label))


def inflected(token: str) -> bool:
    """A verb or adjective: Sudachi's dictionary form of one ends in kana (関わる, 多い); a noun
    compound, what a row label is, ends in kanji or katakana."""
    return bool(token) and "\u3041" <= token[-1] <= "\u3096"


def generic_cost(asked: Iterable[str]) -> bool:
    asked = list(asked)
    return bool(asked) and all(t in GENERIC_COST for t in asked)

# Not content: how a question asks, its years and kinds, words every sheet shares. Written as a
# person writes them; their Sudachi forms are added (いくら -> 幾ら, ください -> 下さる, について -> つく).
_ASKING_WORDS = (
    "何 なに なん いくら いくつ いつ どこ どう どの どんな 誰 だれ どれ どれだけ どのくらい どの位 どれくらい "
    "どれぐらい 教えて 教えてください 下さい ください 知りたい 知る について に関して における に関する "
    "ですか ますか でしたか ありますか あります いる ある する れる られる です ます でした おる くる "
    "もらう いただく いう 思う 考える 分かる 年度 年 値 現在 実際 具体的 予算 決算 見込み 見込 実績 計画 目標 達成率 "
    "当初 令和 平成 昭和 西暦 前年 昨年 去年 今年 翌年 次 前 その この あの 比べる 比べると 増える 減る 伸びる 伸び 上がる 下がる 違う "
    "差 合計 合わせる 推移 動き 動く 動向 移り変わり 変わる 変化 増加 減少 金額 数値 数字 状況 内容 様子 事業 業務 事務 シート 記載 計上 "
    "話 聞く 本当 ほんと 今 今まで 今迄 これまで 所 ところ 書く 下 お ご 頃 位 ぐらい くらい 場合 中 上 うち 方 為 時 際 さらに 更に では じゃあ それでは どんなふう ふう "
    "それ 同じ また 値は 額は 分 ほど 程度 だいたい 大体 およそ 約 全体 全部 教え 聞きたい 質問 "
    "もの 物 こと 事 探す 探して 探しています 欄 挙げる 上げる 記す 少ない 多い 大きい 小さい 高い 低い 予算現額 予算案 予算額 "
    "決算額 当初予算 見込額 決算見込額 差額 差し引き 上回る 下回る 増減 円 千円 万円 百万円 億円 使い残す 余る より まで から にかけて かける に対して 対する 対し かかる 掛かる 使う 載る 載ってる 持つ 持ってる 属する 入る 入ってる 該当 該当する など 及び 並びに または 又は 年間 毎年 "
    "?"
).split()


# Light verbs: they make a verb of a noun (派遣できる, 午後にやる) and name nothing a sheet says; 回す is
# 'to run' the work (「窓口を何人で回す」), said of any project.
_LIGHT_VERBS = "やる できる くれる しまう 回す".split()


@lru_cache(maxsize=1)
def light_verbs() -> frozenset[str]:
    return frozenset(t for w in _LIGHT_VERBS for t in (w, *tokenize(w)))


@lru_cache(maxsize=1)
def asking() -> frozenset[str]:
    out: set[str] = set(_ASKING_WORDS) | light_verbs()
    for w in _ASKING_WORDS:
        out.update(tokenize(w))
    return frozenset(out)


def compact(text: str) -> str:
    """A label compared without letters, markers, kana endings or spaces."""
    t = unicodedata.normalize("NFKC", text)
    t = re.sub(r"^[ア-ンA-Za-z①-⑳]\s+|^[ア-ン](?=[\u4e00-\u9fff])", "", t)
    t = re.sub(r"[（(][A-Za-z/＋+÷×*\s]+[）)]|[（）()「」『』・\s、。:：+＋\-－―]", "", t)
    return "".join(ch for ch in t if not ("\u3041" <= ch <= "\u3096"))


def name_key(name: str) -> str:
    """A project name compared as written (kana and all), without spaces or width differences."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", name))


def bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1)) if len(text) > 1 else frozenset({text})


def content_tokens(tokens: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Tokens that carry content: not asking words, years, counters on their own, or excluded ones."""
    ex = set(exclude)
    stop = asking()
    # 「備考欄」「判断理由欄」: a field of the form named by its label and 欄; the label is what it prints.
    tokens = [t[:-1] if len(t) >= 3 and t.endswith("欄") else t for t in tokens]
    return [t for t in dict.fromkeys(tokens)
            if t not in stop and t not in ex and not t.startswith("何")
            and not re.fullmatch(r"[\d.,%]+|[\d.,]+[a-z]*|r\d+|h\d+", t)]


def expand(token: str) -> tuple[str, ...]:
    """Everyday words for the forms' terms; a prefecture named (岩手県, 大阪府) is the 県 or 府 of a
    funding row (都道府県支出金, 国・府支出金)."""
    out = EVERYDAY.get(token, ()) + WAGO.get(token, ())
    if len(token) > 1 and token[-1] in "県府" and token not in EVERYDAY:
        out = out + EVERYDAY[token[-1]]
    return out


def _stem(token: str) -> str:
    """A verb's kanji with its okurigana gone (貸し出す → 貸出, 申し込む → 申込): the noun a row
    label makes of it, when it has two kanji or more."""
    if not inflected(token):
        return ""
    c = compact(token)  # a label's own form: kana gone
    return c if len(c) >= 2 else ""


def token_coverage(asked: Sequence[str], have: Iterable[str], idf: Callable[[str], float],
                   have_text: str = "", split: bool = False) -> float:
    """Idf-weighted share of the asked tokens the other side holds (a synonym counts 0.8; a token
    found inside the other side's compact text, as part of a longer compound, counts too, and so does a
    verb whose kanji the text holds as a noun: 貸し出す in 貸出点数). `split`: a compound of the
    question the other side does not hold whole (コスト削減) counts for the share of its words it holds
    (削減), as a synonym does."""
    if not asked:
        return 0.0
    have = set(have)
    total = got = 0.0
    for t in asked:
        w = idf(t)
        total += w
        if t in have or (have_text and len(t) >= 2 and t in have_text):
            got += w
        elif have_text and (stem := _stem(t)) and stem in have_text:
            got += w
        elif any(s in have or (have_text and s in have_text) for s in expand(t)):
            got += w * SYNONYM_WEIGHT
        elif split and len(words := [p for p in parts_of(t) if len(p) >= 2]) >= 2:
            held = sum(1 for p in words if p in have or (have_text and p in have_text))
            got += w * SYNONYM_WEIGHT * held / len(words)
    return got / total if total else 0.0


def label_coverage(question_compact: str, label: str) -> float:
    """Share of the label's character bigrams the question holds: 1.0 when it names the row exactly."""
    core = compact(label)
    if not core:
        return 0.0
    grams = bigrams(core)
    return len(grams & bigrams(question_compact)) / len(grams)


# The measure a row's label ends in: Japanese compounds put their head last, so what a row counts is
# the run that ends its label (寄附件数 in 「ふるさと大船渡応援寄附件数」, not アクセス件数).
_MEASURE_TAIL = re.compile(r"(?:件数|人数|者数|回数|日数|世帯数|金額|額|数|率|割合|量)$")


# The counter a measure counts in: 「何件…寄附」 asks the 寄附件数 as surely as 「寄附件数」 does.
_COUNTED_IN = {"件数": "件", "人数": "人", "者数": "人", "回数": "回", "日数": "日", "世帯数": "世帯"}


def spells_head(question_compact: str, label: str, counter: str = "") -> bool:
    """The question spells the compound that ends the label, the measure and at least two characters
    of what it measures (「寄附件数」 for 「…応援寄附件数」; a bare 「件数」 is not enough), or asks in
    the measure's counter about those two characters (「何件…寄附」)."""
    core = compact(re.sub(r"\s*[（(][^）)]*[）)]\s*$", "", unicodedata.normalize("NFKC", label)))
    m = _MEASURE_TAIL.search(core)
    if not m:
        return False
    need = len(m.group(0)) + 2
    if len(core) < need:
        return False
    if core[-need:] in question_compact:
        return True
    return bool(counter) and _COUNTED_IN.get(m.group(0)) == counter and core[-need:-len(m.group(0))] in question_compact


def tokens_of(text: str) -> list[str]:
    return tokenize(text)
