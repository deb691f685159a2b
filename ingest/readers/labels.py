"""Shared vocabulary of the readers: printed labels -> canonical Section / Table, and cell helpers.

Labels on real sheets carry long form hints ('③ 意図（この事業によって、対象をどう変えるのか）'),
and the hints name other sections ('対象'). So a label is matched on its head (the text before
the first parenthesis) first, and only then on the whole text.
"""

from __future__ import annotations

import re

from ..normalize import format_number, nfkc, parse_number
from ..records import Section, Table

# Order matters: the first keyword found wins, so specific phrases come before general words.
LABEL_SECTIONS: tuple[tuple[str, Section], ...] = (
    ("課長", Section.MANAGER_OPINION),
    ("全体総括", Section.MANAGER_OPINION),
    ("前年度実績", Section.MEANS_DONE),
    ("今年度計画", Section.MEANS_PLAN),
    ("きっかけ", Section.ORIGIN),
    ("取り巻く状況", Section.CHANGES),
    ("環境変化", Section.CHANGES),
    ("関係者", Section.OPINIONS),
    ("市民意見", Section.OPINIONS),
    ("意見や要望", Section.OPINIONS),
    ("根拠法令", Section.LEGAL_BASIS),
    ("法令根拠", Section.LEGAL_BASIS),
    ("関連法令", Section.LEGAL_BASIS),
    ("事業期間", Section.PERIOD),
    ("実施期間", Section.PERIOD),
    ("開始年度", Section.PERIOD),
    ("政策", Section.POLICY),
    ("施策", Section.POLICY),
    ("基本事業", Section.POLICY),
    ("総合計画", Section.POLICY),
    ("行政計画", Section.POLICY),
    ("基本計画", Section.POLICY),
    ("概要", Section.OVERVIEW),
    ("事業内容", Section.OVERVIEW),
    ("実施内容", Section.OVERVIEW),
    ("手段", Section.MEANS),
    ("方法", Section.MEANS),
    ("結果", Section.RESULT),
    ("アウトプット", Section.RESULT),
    ("アウトカム", Section.RESULT),
    ("目指す状態", Section.PURPOSE),
    ("意図", Section.PURPOSE),
    ("目的", Section.PURPOSE),
    ("対象", Section.TARGET),
    ("課題", Section.ISSUES),
    ("方向性", Section.DIRECTION),
    ("期待成果", Section.DIRECTION),
    ("改革改善", Section.DIRECTION),
    ("評価", Section.EVALUATION),
    ("妥当性", Section.EVALUATION),
    ("整合性", Section.EVALUATION),
    ("余地", Section.EVALUATION),
    ("実施形態", Section.DELIVERY),
    ("執行体制", Section.STAFFING),
    ("取組状況", Section.ACTIVITIES),
    ("取組実績", Section.ACTIVITIES),
    ("他都市", Section.OTHER_CITIES),
)

# Row labels of figure tables. 財源 rows come before 事業費 so '事業費（財源内訳）' is not COST.
LABEL_TABLES: tuple[tuple[str, Table], ...] = (
    ("トータルコスト", Table.TOTAL_COST),
    ("総コスト", Table.TOTAL_COST),
    ("人件費", Table.PERSONNEL),
    ("従事人", Table.PERSONNEL),
    ("業務時間", Table.PERSONNEL),
    ("人工", Table.PERSONNEL),
    ("国庫", Table.FUNDING),
    ("支出金", Table.FUNDING),
    ("地方債", Table.FUNDING),
    ("一般財源", Table.FUNDING),
    ("特定財源", Table.FUNDING),
    ("その他", Table.FUNDING),
    ("事業費", Table.COST),
    ("歳出", Table.COST),
    ("決算額", Table.COST),
    ("予算額", Table.COST),
    ("活動指標", Table.ACTIVITY),
    ("対象指標", Table.TARGET),
    ("上位成果", Table.UPPER_OUTCOME),
    ("成果指標", Table.OUTCOME),
    ("単位あたり", Table.UNIT_COST),
)

# Labels whose value names the sheet rather than a narrative section.
NAME_LABELS = ("事務事業名", "事業名")
DEPARTMENT_LABELS = ("担当部署", "担当課", "所管課", "所属名", "所管局", "部課名", "係名", "担当", "所管")
ID_LABELS = ("事務事業ID", "事務事業番号", "事業番号", "事業No", "事業ID")
MUNICIPALITY_LABELS = ("自治体名", "市町村名", "団体名")

_HEAD_RE = re.compile(r"^[^（(]*")
_NUMBERING_RE = re.compile(r"^\s*(?:[（(]\s*\d+\s*[)）]|\d+[.．、]|[0-9０-９]+\s)\s*")


def label_head(label: str) -> str:
    """'③ 意図（この事業によって…）' -> '③ 意図'; '(1) 改革改善の方向性' keeps its words."""
    m = _HEAD_RE.match(_NUMBERING_RE.sub("", nfkc(label)))
    return (m.group(0) if m else "").strip()


def section_for(label: str, default: Section | None = None) -> Section | None:
    """The canonical section a printed label belongs to, or default.

    A two-line header ('① 手段（主な活動）' / '前年度実績（…）') is named by its last line, so
    line heads are tried last line first, then the whole text.
    """
    heads = [label_head(line) for line in nfkc(label).split("\n")]
    for text in [*reversed([h for h in heads if h]), nfkc(label)]:
        for word, section in LABEL_SECTIONS:
            if word in text:
                return section
    return default


def table_for(label: str, default: Table | None = None) -> Table | None:
    t = nfkc(label)
    for word, table in LABEL_TABLES:
        if word in t:
            return table
    return default


_CIRCLED_RE = re.compile(r"([①-⑳])")


def compact(label: object) -> str:
    """A printed label with NFKC and no whitespace: '事業費計  （A）' -> '事業費計(A)'.

    Circled numbers are kept: NFKC would turn ① into 1, and they number a sheet's items.
    """
    parts = _CIRCLED_RE.split(str(label))
    return re.sub(r"\s+", "", "".join(p if _CIRCLED_RE.fullmatch(p) else nfkc(p) for p in parts))


def is_label(text: str, names: tuple[str, ...]) -> bool:
    """True when the cell text is one of the labels (ignoring spaces, colons and brackets)."""
    t = compact(text).strip("：:【】[]■□◆●・")
    return t in names


def cell_text(value: object) -> str:
    """A spreadsheet/JSON value as it would print: None -> '', 1234 -> '1,234', text as is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return format_number(float(value))
    return str(value).strip()


def cell_number(value: object) -> float | None:
    """The number in a cell; strings like '11' and '1,234' count, blanks and text do not."""
    if isinstance(value, str) and value.strip().endswith(("%", "％")):
        return parse_number(value.strip()[:-1])
    return parse_number(value)


# A municipality as a title or header names it: 〇〇市 / 〇〇町 / 〇〇村 / 〇〇区, optionally after its
# prefecture, standing alone or followed by what a title says of it (役所, 総合計画, の, 事務事業…).
# Words that end in 市 or 町 without naming one (都市, 市町村, 政令市, 本市) are not municipalities.
_CITY_RE = re.compile(
    r"(?:^|(?<=[\s　（(「『【・、:：度次]))(?:[^\s\d　（）()「」【】]{2,3}[都道府県])?"
    r"([^\s\d　（）()「」『』【】、。・:：]{1,6}?[市町村区])"
    r"(?=役所|役場|長|総合計画|議会|の|事務事業|行政評価|政策評価|施策評価|評価|[\s　)）」』】、・]|$)")
_NOT_CITIES = ("都市", "市町村", "区市町村", "市区町村", "政令市", "指定市", "中核市", "本市", "全市", "各市",
               "他市", "同市", "当市", "市", "町", "村", "区", "地区", "区町村")


def city_in(text: str) -> str:
    """The municipality a title or header names ('…評価シート（〇〇市）', '第７次〇〇市総合計画'), or ''."""
    for m in _CITY_RE.finditer(nfkc(text)):
        name = m.group(1)
        if name not in _NOT_CITIES and not name.endswith(_NOT_CITIES[:6]) and "協議会" not in name:
            return name
    return ""


def plain_project_id(raw: object) -> str:
    """A 事務事業ID as printed; an all-zero id is a placeholder (大船渡 row 314 has 0), shown as no id."""
    text = cell_text(raw) if not isinstance(raw, str) else raw.strip()
    return "" if not text.strip("0") else text
