"""What a sheet says about its place in the city: the department by level, and the policy hierarchy.

Both come from what the sheet prints: its 担当部署 (「農林水産部水産課 漁港漁村係」, 「市民局地域振興部総務課」)
and the labels of its 政策体系 section, which each form names its own way. The label variants are
data (LEVEL_LABELS), so another city's form of a known family needs a line here, not code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .records import ParsedSheet, Section

# Policy levels as the forms print them, most general first.
POLICY = "政策"
MEASURE = "施策"
BASIC = "基本事業"
OTHER = "その他"
LEVEL_LABELS: tuple[tuple[str, str], ...] = (
    ("コード", OTHER), ("SDG", OTHER), ("事業区分", OTHER), ("成果指標", OTHER),
    ("政策名", POLICY), ("施策の柱", POLICY), ("分野別目標", POLICY), ("政策", POLICY),
    ("施策名称", MEASURE), ("施策名", MEASURE), ("基本計画 施策", MEASURE), ("行財政改革", MEASURE),
    ("基本事業名", BASIC), ("事業群", BASIC), ("基本事業", BASIC),
)
# Department levels by the word a unit's name ends with.
_DEPT_PART = re.compile(r"[^\s・、/／]+?(?:局|部|本部|課|室|係|班|担当|センター|事務所|所|館|園|委員会|事務局)(?=[^\s・、/／]|$|\s|・)")
_LEVEL_OF = (("局", "局"), ("本部", "部"), ("部", "部"), ("課", "課"), ("室", "課"), ("センター", "課"), ("事務所", "課"),
             ("委員会", "課"), ("事務局", "課"), ("館", "課"), ("園", "課"), ("所", "課"), ("係", "係"), ("班", "係"),
             ("担当", "係"))


@dataclass(frozen=True)
class SheetMeta:
    department: str                               # as printed
    parts: tuple[tuple[str, str], ...]            # (level 局|部|課|係, name), in printed order
    policy: tuple[tuple[str, str, str], ...]      # (level, label as printed, text)


def department_parts(department: str) -> tuple[tuple[str, str], ...]:
    """「農林水産部水産課 漁港漁村係」 -> (部 農林水産部), (課 水産課), (係 漁港漁村係). Several units joined
    by ・ (「…庶務課・市民参画推進局…」) each keep their levels."""
    t = unicodedata.normalize("NFKC", department or "").strip()
    out: list[tuple[str, str]] = []
    for m in _DEPT_PART.finditer(t):
        name = m.group(0).strip("-－ ")
        level = next((lv for suffix, lv in _LEVEL_OF if name.endswith(suffix)), "課")
        if name and (level, name) not in out:
            out.append((level, name))
    return tuple(out)


def policy_level(label: str) -> str:
    t = unicodedata.normalize("NFKC", label)
    return next((level for word, level in LEVEL_LABELS if word in t), OTHER)


def sheet_meta(ps: ParsedSheet) -> SheetMeta:
    policy = tuple((policy_level(n.label), n.label, n.text) for n in ps.narratives if n.section is Section.POLICY)
    return SheetMeta(ps.sheet.department, department_parts(ps.sheet.department), policy)
