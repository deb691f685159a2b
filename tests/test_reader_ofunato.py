"""大船渡市 report.xlsx (one sheet per row) and its dashboard export projects.json."""

from __future__ import annotations

import pytest

from ingest.parse import parse_paths
from ingest.readers import json_sheets, xlsx_rows
from ingest.records import ParsedSheet
from tests.conftest import cell, check_golden, corpus_file


@pytest.fixture(scope="module")
def sheets() -> list[ParsedSheet]:
    path = corpus_file("real/ofunato/report.xlsx")
    return xlsx_rows.read(path)


def _by_name(sheets: list[ParsedSheet], name: str) -> ParsedSheet:
    hits = [s for s in sheets if s.sheet.project_name == name]
    assert len(hits) == 1, name
    return hits[0]


def test_every_row_is_a_sheet(sheets: list[ParsedSheet]) -> None:
    assert len(sheets) == 407
    assert len({s.sheet.sheet_id for s in sheets}) == 407
    first = sheets[0].sheet
    # The workbook never names its city: unknown here, whatever folder it sits in (the user says it).
    assert (first.municipality, first.fiscal_year, first.fiscal_year_label) == ("", 2025, "令和7年度")
    assert (first.project_id, first.locator, first.layout) == ("0086", "row 3", "xlsx_rows")
    assert first.department == "市民生活部市民環境課 環境衛生係"


def test_spot_figures(sheets: list[ParsedSheet]) -> None:
    fuho = _by_name(sheets, "不法投棄対策事業")
    assert cell(fuho, "トータルコスト", "トータルコスト", 2024).value == 3963
    assert cell(fuho, "トータルコスト", "トータルコスト", 2024).kind.value == "実績"
    assert cell(fuho, "事業費", "事業費計", 2025).kind.value == "計画"
    houkago = _by_name(sheets, "放課後児童健全育成事業")
    assert cell(houkago, "事業費", "事業費計", 2025).value == 154882
    suisan = _by_name(sheets, "水産基盤整備費")
    assert cell(suisan, "事業費", "事業費計", 2023).value == 5164
    assert cell(suisan, "事業費", "事業費計", 2022).value == 6107


def test_indicators_and_blanks(sheets: list[ParsedSheet]) -> None:
    fuho = _by_name(sheets, "不法投棄対策事業")
    ind = cell(fuho, "活動指標", "ア 意識啓発事業の回数", 2020)
    assert (ind.unit, ind.value, ind.value_text) == ("回", 0, "0")  # a printed 0 stays 0
    assert not [c for c in fuho.cells if c.row_label.startswith(("ウ", "キ", "ク"))]  # empty slots
    blanks = [c for s in sheets for c in s.cells if c.value_text == ""]
    assert blanks and all(c.value is None for c in blanks)


def test_narratives(sheets: list[ParsedSheet]) -> None:
    fuho = sheets[0]
    sections = {n.section.value for n in fuho.narratives}
    assert {"事業概要", "手段（実績）", "手段（計画）", "対象", "目的・意図", "結果", "開始のきっかけ",
            "環境変化", "関係者・市民意見", "評価", "方向性", "課題", "課長意見", "政策体系"} <= sections
    ev = [n for n in fuho.narratives if n.section.value == "評価"]
    assert len(ev) == 8 and ev[0].label == "① 政策体系との整合性"
    assert ev[0].text.startswith("結びついている：")


def test_no_project_number_zero(sheets: list[ParsedSheet]) -> None:
    nakano = _by_name(sheets, "中野地区水路改修事業")  # its ID cell holds 0, a placeholder
    assert nakano.sheet.project_id == ""


def test_golden_row3(sheets: list[ParsedSheet]) -> None:
    check_golden("ofunato_row3", sheets[0])


@pytest.mark.slow
def test_dashboard_export_is_the_same_sheets() -> None:
    path = corpus_file("real/ofunato/projects.json")
    dash = json_sheets.read(path)
    assert len(dash) == 407
    fuho = dash[0]
    assert cell(fuho, "トータルコスト", "トータルコスト", 2024).value == 3963
    report = parse_paths([path.parent])
    assert len(report.sheets) == 407
    assert all(s.sheet.layout == "xlsx_rows" for s in report.sheets)
    assert len(report.duplicates) == 407
