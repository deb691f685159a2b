"""和暦/西暦, numbers and kinds as printed on sheets."""

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
