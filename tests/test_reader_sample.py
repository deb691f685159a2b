"""The 栃木 sample (tab-separated export of the 行政評価 template), checked by hand against the file."""

from pathlib import Path

import pytest

from ingest.parse import parse_paths
from ingest.readers import tsv_sheet
from ingest.records import Section
from tests.conftest import ROOT, cell, check_golden

SAMPLE = ROOT / "ingest" / "data" / "sample" / "tochigi-joho-kyogikai.txt"


@pytest.fixture(scope="module")
def sheet():
    return tsv_sheet.read(SAMPLE)[0]


def test_golden(sheet):
    check_golden("sample_tochigi", sheet)


def test_sheet_identity(sheet):
    s = sheet.sheet
    assert s.project_name == "栃木県市町村情報化推進協議会参画事業"
    assert s.department == "総務部 情報政策課 情報管理係"
    # The form's last column is 32年度(見込): a Heisei-era form written in 令和2 (2020).
    assert s.fiscal_year == 2020
    assert (s.fiscal_year_label, s.printed_year_label) == ("令和2年度", "32年度(見込)")
    assert s.municipality == ""  # a 協議会 is named, not a municipality


def test_total_cost_h30_is_334_thousand_yen(sheet):
    c = cell(sheet, "トータルコスト", "トータルコスト", 2018)
    assert (c.value, c.unit, c.kind.value) == (334.0, "千円", "実績")
    assert (c.fiscal_year_label, c.printed_year_label) == ("平成30年度", "30年度(実績)")


def test_blank_cells_stay_blank_not_zero(sheet):
    c = cell(sheet, "上位成果指標", "通信利用動向調査", 2019)
    assert c.value is None and c.value_text == ""
    zero = cell(sheet, "事業費", "事業費計", 2019)
    assert zero.value == 0.0 and zero.value_text == "0"


def test_indicator_rows_keep_their_letter_and_unit(sheet):
    c = cell(sheet, "活動指標", "各種事業の開催・参加回数", 2016)
    assert c.row_label == "ア 各種事業の開催・参加回数" and c.unit == "回" and c.value == 15.0
    # Empty indicator slots (イ–オ with no name) make no rows.
    assert not [x for x in sheet.cells if x.row_label.strip() in {"イ", "ウ", "エ", "オ"}]


def test_sections_are_canonical_with_the_printed_label(sheet):
    by = {n.section: n for n in sheet.narratives}
    assert "平成3年5月20日" in by[Section.ORIGIN].text
    assert "統一された情報化施策" in by[Section.OPINIONS].text
    assert by[Section.RESULT].label == "④ 結果（どんな結果（上位施策）に結びつけるのか）"
    assert {Section.MEANS_DONE, Section.MEANS_PLAN, Section.TARGET, Section.PURPOSE, Section.CHANGES,
            Section.OVERVIEW, Section.LEGAL_BASIS} <= set(by)


def test_parsing_twice_gives_the_same_ids(sheet):
    again = tsv_sheet.read(SAMPLE)[0]
    assert [c.record_id for c in again.cells] == [c.record_id for c in sheet.cells]
    assert again.content_hash() == sheet.content_hash()


def test_arithmetic_warning_when_the_sheet_does_not_add_up(tmp_path: Path):
    text = SAMPLE.read_text(encoding="utf-8").replace(
        "トータルコスト(A)+(B)\t\t千円\t332\t332\t334", "トータルコスト(A)+(B)\t\t千円\t332\t332\t999")
    bad = tmp_path / "bad.txt"
    bad.write_text(text, encoding="utf-8")
    ps = tsv_sheet.read(bad)[0]
    assert any("30年度(実績)" in w and "999" in w for w in ps.warnings)
    assert cell(ps, "トータルコスト", "トータルコスト", 2018).value == 999.0  # reported, never fixed


def test_same_sheet_twice_is_indexed_once(tmp_path: Path):
    (tmp_path / "a.txt").write_bytes(SAMPLE.read_bytes())
    (tmp_path / "copy-of-a.txt").write_bytes(SAMPLE.read_bytes())
    report = parse_paths([tmp_path])
    assert len(report.sheets) == 1
    assert report.duplicates and "copy-of-a.txt" in report.duplicates[0] + report.duplicates[0]
