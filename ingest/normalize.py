"""Japanese eras, numbers and units, as printed on evaluation sheets."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .kinds import parse_kind as parse_kind  # the readers take it from here
from .years import (
    ERA_ABBREV,
    ERA_IN_FORCE,
    ERA_LETTERS,
    ERA_NAMES,
    ERAS,
    era_year_to_western,
    western_to_wareki,
)

__all__ = ["ERAS", "ERA_ABBREV", "ERA_IN_FORCE", "era_year_to_western", "western_to_wareki"]


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


_ERA_RE = re.compile(rf"({ERA_NAMES}|{ERA_LETTERS})\s*(元|\d{{1,2}})")
_WESTERN_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_BARE_RE = re.compile(r"(?<![\d.])(元|\d{1,2})\s*年度?")


@dataclass(frozen=True)
class YearContext:
    """The era in which bare years ('28年度') on a sheet are read, from the sheet's own dates."""

    era: str = ERA_IN_FORCE

    def bare(self, n: int) -> int:
        # A Heisei-era form keeps counting past 31 ('32年度' = 令和2 = 2020): ERAS arithmetic does that.
        return era_year_to_western(self.era, n)


def parse_year(text: str, ctx: YearContext | None = None) -> int | None:
    """The Western fiscal year named in a label: 令和5年度, R5, H30決算, 2023年度, 28年度(実績)."""
    t = nfkc(text)
    m = _ERA_RE.search(t)
    if m:
        n = 1 if m.group(2) == "元" else int(m.group(2))
        return era_year_to_western(m.group(1), n)
    m = _WESTERN_RE.search(t)
    if m:
        return int(m.group(1))
    m = _BARE_RE.search(t)
    if m and ctx is not None:
        n = 1 if m.group(1) == "元" else int(m.group(1))
        return ctx.bare(n)
    return None


def era_of(text: str) -> str | None:
    """The era of the first era-dated string in a text ('令和5年度～9年度' -> 令和, for its 9)."""
    m = _ERA_RE.search(nfkc(text))
    if not m:
        return None
    era = m.group(1)
    return ERA_ABBREV.get(era, era)


_NUM_RE = re.compile(r"^[△▲\-−]?\s*\d[\d,]*(?:\.\d+)?$")


def parse_number(text: object) -> float | None:
    """'1,234' -> 1234; '△50' / '▲50' -> -50; full-width digits; '' / '-' / text -> None.

    Only a cell that is a number is a number: '約30' or '30以上' stays text (None).
    """
    if text is None:
        return None
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text)
    t = nfkc(str(text)).strip().replace(" ", "")
    t = t.replace("−", "-").replace("ー", "-") if t[:1] in "−ー" else t
    if not t or not _NUM_RE.match(t):
        return None
    negative = t[0] in "△▲-"
    digits = t.lstrip("△▲-").replace(",", "")
    try:
        value = float(digits)
    except ValueError:
        return None
    return -value if negative else value


def format_number(value: float) -> str:
    """1234.0 -> '1,234'; 83.5 -> '83.5'."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.10g}" if abs(value) >= 1000 else f"{value:.10g}"


UNITS = ("千円", "百万円", "万円", "円", "人", "回", "件", "%", "％", "時間", "事業", "団体", "箇所",
         "か所", "ヶ所", "基", "校", "世帯", "台", "日", "冊", "ha", "m", "km", "t", "人日", "人工")


def normalize_unit(text: str) -> str:
    t = nfkc(text).strip().strip("()（）")
    return "%" if t in {"%", "パーセント"} else t
