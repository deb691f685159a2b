"""和暦/西暦, numbers and kinds as printed on sheets."""

from types import SimpleNamespace

import pytest

from ingest.normalize import (
    YearContext,
    era_of,
    era_year_to_western,
    format_number,
    parse_kind,
    parse_number,
    parse_year,
    western_to_wareki,
)
from ingest.records import Kind
from ingest.years import bare_year_era, canonical_year_label, show_municipality, show_year


@pytest.mark.parametrize(
    ("label", "year"),
    [
        ("令和5年度", 2023), ("令和元年度", 2019), ("平成31年度", 2019), ("平成30年度", 2018),
        ("昭和39年", 1964), ("R6決算", 2024), ("H21年度決算", 2009), ("R９年度", 2027),
        ("令和５年度予算現額", 2023), ("2019年度", 2019), ("Ｒ４年度", 2022),
    ],
)
def test_era_labels_become_western_years(label, year):
    assert parse_year(label) == year


def test_bare_years_are_read_in_the_sheets_era():
    heisei = YearContext(era="平成")
    assert parse_year("28年度(実績)", heisei) == 2016
    # A Heisei-era form keeps counting after the era ended: 32年度 is 令和2 = 2020.
    assert parse_year("32年度(見込)", heisei) == 2020
    assert parse_year("31年度", heisei) == 2019
    assert parse_year("5年度", YearContext(era="令和")) == 2023
    assert parse_year("28年度") is None  # no era known: no guess


def test_era_arithmetic_and_labels():
    assert era_year_to_western("H", 31) == era_year_to_western("令和", 1) == 2019
    assert western_to_wareki(2019) == "令和元"
    assert western_to_wareki(2018) == "平成30"
    assert era_of("開始年度 平成 3 年度～") == "平成"
    with pytest.raises(ValueError):
        era_year_to_western("X", 1)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234", 1234.0), ("１２，３４５", 12345.0), ("△50", -50.0), ("▲1,000", -1000.0), ("-7", -7.0),
        ("83.5", 83.5), (0, 0.0), (154882, 154882.0), ("0", 0.0),
    ],
)
def test_numbers(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", None, "-", "約30", "30以上", "―", "空欄", True])
def test_blank_or_text_cells_are_not_numbers(text):
    assert parse_number(text) is None


def test_kinds_and_formatting():
    assert parse_kind("R6年度決算見込") is Kind.SETTLED_ESTIMATE
    assert parse_kind("25年度予算") is Kind.BUDGET
    assert parse_kind("R9年度目標") is Kind.TARGET
    assert parse_kind("28年度(実績)") is Kind.ACTUAL
    assert parse_kind("32年度(見込)") is Kind.ESTIMATE
    assert format_number(408178.0) == "408,178"
    assert format_number(83.5) == "83.5"


# --- years as staff write them (ingest/years.py) -------------------------------------------------


def test_canonical_labels_are_in_the_era_in_force():
    assert canonical_year_label(2020) == "令和2年度"   # printed 平成32年度 or 32年度 on a Heisei form
    assert canonical_year_label(2019) == "令和元年度"  # printed 平成31年度
    assert canonical_year_label(2018) == "平成30年度"
    assert canonical_year_label(None) == ""


@pytest.mark.parametrize(("canonical", "printed", "shown"), [
    ("令和2年度", "32年度(見込)", "令和2年度（32年度見込）"),
    ("令和元年度", "平成31年度", "令和元年度（平成31年度）"),
    ("平成21年度", "21年度決算", "平成21年度（21年度決算）"),
    ("令和7年度", "7", "令和7年度"),                  # a bare 7 in a 年度 column adds nothing
    ("令和6年度", "", "令和6年度"),
    ("令和5年度", "令和５年度予算現額", "令和５年度予算現額"),  # already in the era in force
    ("第1列", "第1列", "第1列"),                      # a column with no year: as printed
    ("", "", "不明"),
])
def test_one_display_of_a_year(canonical, printed, shown):
    assert show_year(SimpleNamespace(fiscal_year_label=canonical, printed_year_label=printed)) == shown


def test_unknown_municipality_is_shown_as_unknown():
    assert show_municipality("") == "不明" and show_municipality("神戸市") == "神戸市"


@pytest.mark.parametrize(("text", "bare", "era"), [
    # A Heisei form: its own dates are 平成 (設立 平成3年, 平成22年度から).
    ("平成3年5月20日に設立。平成22年度からは負担金を徴収せず", [28, 32], "平成"),
    # Next year's edition of it, one year past the era's end: still 平成 (33年度 = 令和3).
    ("平成3年5月20日に設立。平成23年度からは", [29, 33], "平成"),
    # No era at all, only a plan's Western year (神戸's 行財政改革2015): 20–25年度 lie beside 2015 in 平成.
    ("行財政改革2015の項目", [20, 25], "平成"),
    # A 令和 sheet that dates its history in 平成: its own years are after that history.
    ("平成30年度から実施。昭和39年に設立", [2, 7], "令和"),
    # History in 昭和 is no era for a sheet's own columns (no 事務事業評価 before the 1990s).
    ("令和5年度に見直し。昭和39年に設立", [7], "令和"),
    ("昭和45年に開始。平成24年度に委託化", [20, 25], "平成"),
    # A far target does not move the sheet's own years.
    ("平成22年度から。2050年カーボンニュートラル", [28, 32], "平成"),
    # Nothing dated at all: the era in force.
    ("事業の概要", [5], "令和"),
])
def test_era_of_bare_years_comes_from_the_sheets_own_dates(text, bare, era):
    assert bare_year_era(text, bare) == era
