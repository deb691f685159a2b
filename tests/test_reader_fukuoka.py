"""福岡市 事務事業マネジメントシート (structured JSON, 令和6年度実施分)."""

from __future__ import annotations

import pytest

from ingest.readers import json_sheets
from ingest.records import ParsedSheet
from tests.conftest import cell, check_golden, corpus_file


@pytest.fixture(scope="module")
def cruise() -> ParsedSheet:
    (ps,) = json_sheets.read(corpus_file("real/fukuoka/jimu-jigyo-r6-kouwan.json"))
    return ps


def test_sheet(cruise: ParsedSheet) -> None:
    s = cruise.sheet
    # The export names no city; its year is the one its 事業費 columns evaluate (R6決算見込).
    assert (s.municipality, s.fiscal_year, s.fiscal_year_label, s.printed_year_label) == ("", 2024, "令和6年度",
                                                                                          "R6決算見込")
    assert (s.project_name, s.department, s.locator) == ("クルーズ船誘致事業", "港湾空港局 港湾企画課", "item 1")


def test_money(cruise: ParsedSheet) -> None:
    assert cell(cruise, "事業費", "歳出", 2025, "予算").value == 4975
    assert cell(cruise, "財源内訳", "特定財源", 2025, "予算").value == 200
    assert cell(cruise, "事業費", "歳出", 2024, "決算見込").value == 3046
    assert cell(cruise, "事業費", "歳出", 2023, "決算").value == 3681
    assert cruise.warnings == ()


def test_indicators(cruise: ParsedSheet) -> None:
    assert cell(cruise, "活動指標", "海外コンベンション参加回数", 2024, "実績").value == 2
    rate = cell(cruise, "活動指標", "海外コンベンション参加回数", 2024, "達成率")
    assert (rate.value, rate.value_text, rate.unit) == (66.7, "66.7%", "%")
    blank = cell(cruise, "活動指標", "海外コンベンション参加回数", 2025, "目標")
    assert (blank.value, blank.value_text) == (None, "")
    assert cell(cruise, "成果指標", "博多港発着クルーズ回数", 2024, "実績").value == 26


def test_narratives(cruise: ParsedSheet) -> None:
    by_label = {n.label: n.section.value for n in cruise.narratives}
    assert by_label["事業きっかけ"] == "開始のきっかけ"
    assert by_label["実施内容"] == "事業概要"
    assert by_label["対象の目指す状態"] == "目的・意図"
    assert by_label["中間アウトカム"] == "結果"
    assert by_label["成果見直し判断基準"] == "評価"
    assert "根拠法令" not in by_label  # null in the source


def test_bureau_file_with_final_year_targets() -> None:
    sheets = json_sheets.read(corpus_file("real/fukuoka/jimu-jigyo-r6-nousui.json"))
    assert len(sheets) == 8
    nofuku = next(s for s in sheets if s.sheet.project_name == "農福連携推進事業")
    final = cell(nofuku, "成果指標", "新たに農福連携", 2026, "目標")
    assert (final.value, final.value_text) == (None, "累計7件")


def test_golden(cruise: ParsedSheet) -> None:
    check_golden("fukuoka_cruise", cruise)
