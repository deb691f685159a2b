"""Fiscal years as staff write them: eras, the canonical label in the era in force, and one display.

Sheets print years in many ways: 28年度(実績) on a Heisei form, 平成32年度 (a year that never
existed: it is 令和2年度), R6決算, 2023年度. Each record keeps the label as printed and carries the
canonical one, the label staff write for that fiscal year in the era in force (令和2年度, 令和元年度).
`show_year` is the one place a year is rendered for people: the canonical label, then the printed one.

Nothing here reads today's date: the same file always gives the same years.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable
from typing import Protocol

# First Western year of each era (era year 1 = this year). The last one is the era in force.
ERAS: dict[str, int] = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
ERA_ABBREV: dict[str, str] = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
ERA_IN_FORCE = max(ERAS, key=lambda e: ERAS[e])
# The pieces every era regex is built from, so the eras are listed once: the names as an
# alternation (no name is a prefix of another), the one-letter abbreviations as a character class.
ERA_NAMES = "|".join(ERAS)                       # 明治|大正|昭和|平成|令和
ERA_LETTERS = "[" + "".join(ERA_ABBREV) + "]"    # [MTSHR]
UNKNOWN = "不明"

# Bare table years (28年度) are a sheet's own recent years. 事務事業評価 began in the 1990s (三重県,
# 1996), so no sheet's own years lie in an era that ended before then: 昭和 and earlier are dates of
# history (設立 昭和39年), never the era of a sheet's columns.
_SHEET_ERAS = [e for e, start in ERAS.items() if start >= ERAS["平成"]]


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def era_year_to_western(era: str, year: int) -> int:
    """令和5 -> 2023. 平成31 and 令和元 are both 2019; 平成32 (printed on a Heisei-era form) is 2020."""
    era = ERA_ABBREV.get(era.upper(), era) if len(era) == 1 else era
    if era not in ERAS:
        raise ValueError(f"unknown era: {era}")
    return ERAS[era] + year - 1


def western_to_wareki(year: int) -> str:
    """2019 -> '令和元', 2018 -> '平成30': the era in force in that year (a fiscal year starting in
    April 2019 is 令和元年度, whatever a Heisei-era form printed for it)."""
    for era, start in sorted(ERAS.items(), key=lambda kv: -kv[1]):
        if year >= start:
            n = year - start + 1
            return f"{era}{'元' if n == 1 else n}"
    return str(year)


def canonical_year_label(year: int | None) -> str:
    """2020 -> '令和2年度'; None -> ''."""
    return f"{western_to_wareki(year)}年度" if year else ""


class _Dated(Protocol):
    @property
    def fiscal_year_label(self) -> str: ...


_KIND_IN_BRACKETS = re.compile(r"[（(]([^（）()]{1,6})[）)]$")


def show_year(item: _Dated) -> str:
    """How a year is shown to people: the canonical label, then the label as printed after it.

    Works for anything with `fiscal_year_label` (canonical) and optionally `printed_year_label`:
    a TableCell, a Sheet, a Citation. 32年度(見込) on a Heisei form -> 「令和2年度（32年度見込）」;
    a printed label that already is the canonical one is shown once; no year at all -> 「不明」.
    """
    canonical = (getattr(item, "fiscal_year_label", "") or "").strip()
    printed = (getattr(item, "printed_year_label", "") or "").strip()
    if not printed or _says_nothing_more(printed, canonical):
        return canonical or UNKNOWN
    if not canonical or _nfkc(printed).replace(" ", "").startswith(canonical):
        return printed  # 「令和５年度予算現額」 already says it in the era in force
    flat = _KIND_IN_BRACKETS.sub(lambda m: m.group(1), printed)  # 32年度(見込) -> 32年度見込
    return f"{canonical}（{flat}）"


def _says_nothing_more(printed: str, canonical: str) -> bool:
    """'7' or '7年度' printed for 令和7年度: the printed label adds nothing to the canonical one."""
    t = _nfkc(printed).replace(" ", "")
    n = re.sub(r"^\D+|年度$", "", canonical)
    return t in {canonical, n, f"{n}年度"} or (n == "元" and t in {"1", "1年度"})


def show_municipality(name: str) -> str:
    """A municipality for people: the name, or 「不明」 when neither the sheet nor the user gave one."""
    return name.strip() or UNKNOWN


# --- the era of bare years ---------------------------------------------------------------------
_ERA_DATED = re.compile(rf"({ERA_NAMES})\s*(元|\d{{1,2}})\s*年"
                        rf"|(?<![A-Za-z])({ERA_LETTERS})\s*(元|\d{{1,2}})\s*(?=年|決算|予算|実績|見込|計画|目標)")
# A Western year written on the sheet (2015, 行財政改革2015, 西暦2010年度); not a count (2000人, 2,015).
_WESTERN = re.compile(r"(?<![\d,.])((?:19|20)\d{2})(?![\d,.]|\s*(?:人|件|円|回|個|台|%|世帯|名|部|冊|本|箇所|t\b|m\b))")
_BARE = re.compile(r"(?<![\d.])(\d{1,2})\s*年度")


def dated_years(text: str) -> tuple[list[int], list[int]]:
    """The years a text writes out: (era-dated ones as Western years, Western ones)."""
    t = _nfkc(text)
    era_dated = []
    for m in _ERA_DATED.finditer(t):
        era, n = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        era_dated.append(era_year_to_western(era, 1 if n == "元" else int(n)))
    return era_dated, [int(y) for y in _WESTERN.findall(t)]


def bare_years(text: str) -> list[int]:
    """The bare era years of a text ('28年度'), not counting era-dated ones ('平成 3 年度')."""
    return [int(n) for n in _BARE.findall(_ERA_DATED.sub(" ", _nfkc(text)))]


def bare_year_era(text: str, bare: Iterable[int] = ()) -> str:
    """The era in which a sheet's bare years (28年度, a 年度 column of 7) are read.

    A sheet that prints 28年度 leaves its era to the reader, who takes it from the sheet's own dates:
    the bare years are the sheet's own time, so they lie near the latest year it writes out with its
    era (平成22年度, 令和5年度から), or, failing those, near the Western years it prints (行財政改革2015).
    Of 平成 and 令和, the era whose reading puts the bare years nearest that reference wins; a sheet
    that dates nothing at all is read in the era in force.
    """
    numbers = sorted(set(bare)) or sorted(set(bare_years(text)))
    era_dated, western = dated_years(text)
    if not numbers or not (era_dated or western):
        return ERA_IN_FORCE
    # The latest era-dated year: sheets date their own recent history with its era. Western years
    # are often targets (2030年までに), so of those the median is taken.
    ref = max(era_dated) if era_dated else statistics.median(western)

    def gap(era: str) -> float:
        lo, hi = era_year_to_western(era, numbers[0]), era_year_to_western(era, numbers[-1])
        return 0.0 if lo <= ref <= hi else min(abs(ref - lo), abs(ref - hi))

    return min(reversed(_SHEET_ERAS), key=gap)  # on a tie, the later era
