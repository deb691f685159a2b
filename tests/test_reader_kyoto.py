"""京都市 新規・充実事業 cards (pdf_kyoto): header, doubled glyphs, 経費, golden file, every file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import NotASheet, SheetFileError
from ingest.readers import pdf_kyoto
from ingest.readers.pdfwords import undouble
from ingest.records import ParsedSheet
from tests.conftest import CORPUS, cell, check_golden, corpus_file


@pytest.fixture(scope="module")
def datsutanso() -> ParsedSheet:
    sheets = pdf_kyoto.read(corpus_file("real/kyoto/kyoto-r6-001.pdf"))
    assert len(sheets) == 1
    return sheets[0]


def _text(ps: ParsedSheet, label: str) -> list[str]:
    return [n.text for n in ps.narratives if n.label == label]


def test_sheet_header(datsutanso: ParsedSheet) -> None:
    s = datsutanso.sheet
    # The card does not print its city (only the project's name contains it): unknown until the user says.
    assert (s.municipality, s.fiscal_year, s.fiscal_year_label) == ("", 2024, "令和6年度")
    assert (s.project_id, s.project_name, s.department) == ("1", "京都市脱炭素先行地域創出事業",
                                                             "環境政策局")
    assert (s.locator, s.layout) == ("p.1-2", "pdf_kyoto")
    assert _text(datsutanso, "事業実施期間") == ["令和5年度～9年度"]


def test_cost_table(datsutanso: ParsedSheet) -> None:
    budget = cell(datsutanso, "事業費", "経費", 2023, "予算")
    assert (budget.value, budget.unit, budget.fiscal_year_label) == (326800, "千円", "令和5年度")
    assert budget.printed_year_label == "令和5年度予算現額"
    plan = cell(datsutanso, "事業費", "経費", 2025, "予算")
    assert (plan.fiscal_year_label, plan.printed_year_label) == ("令和7年度", "予算案")
    assert cell(datsutanso, "事業費", "経費", 2023, "決算").value == 197770
    assert cell(datsutanso, "財源内訳", "経費のうち一般財源", 2023, "決算").value == 1  # printed (１)
    assert cell(datsutanso, "事業費", "経費", 2024, "予算").value == 478067
    assert cell(datsutanso, "事業費", "経費", 2025, "予算").value == 663000  # 令和7年度 予算案


def test_hand_checked_cell() -> None:
    """kyoto-r6-013 p.1, 3 経費: 令和５年度決算 is printed 「16,744(10,625)」."""
    gx = pdf_kyoto.read(corpus_file("real/kyoto/kyoto-r6-013.pdf"))[0]
    assert cell(gx, "事業費", "経費", 2023, "決算").value == 16744
    assert cell(gx, "財源内訳", "一般財源", 2023, "決算").value == 10625
    assert gx.sheet.project_name == "グリーントランスフォーメーション（ＧＸ）推進プロジェクト"


def test_numeric_targets(datsutanso: ParsedSheet) -> None:
    solar = cell(datsutanso, "活動指標", "太陽光発電設備導入量", 2027, "目標")
    assert (solar.value, solar.unit) == (8339, "kW")
    co2 = cell(datsutanso, "成果指標", "温室効果ガス排出量の削減", 2027, "目標")
    assert (co2.value, co2.unit) == (89442, "t-CO2")


def test_activities_split_by_year(datsutanso: ParsedSheet) -> None:
    labels = [n.label for n in datsutanso.narratives if n.section.value == "取組状況"]
    assert labels == ["取組実績（令和５年度）", "取組実績（令和６年度）"]
    roles = _text(datsutanso, "役割分担評価")[0]
    assert "行政専門性：■ 行政上の専門知識を必要としないサービス（一般専門性）" in roles
    assert _text(datsutanso, "方向性") == ["現状のまま継続"]


def test_golden(datsutanso: ParsedSheet) -> None:
    check_golden("kyoto_001", datsutanso)


@pytest.mark.slow
def test_every_sample_file() -> None:
    corpus_file("real/kyoto/kyoto-r6-001.pdf")
    paths = sorted((CORPUS / "real/kyoto").glob("kyoto-r6-*.pdf"))
    assert len(paths) == 5
    for path in paths:
        assert pdf_kyoto.sniff(path, path.read_bytes()[:1024]), path.name
        sheets = pdf_kyoto.read(path)
        assert len(sheets) == 1, path.name
        ps = sheets[0]
        assert ps.sheet.project_name and ps.sheet.department, path.name
        assert ps.sheet.project_id == str(int(path.stem.rsplit("-", 1)[1])), path.name
        assert len({n.section for n in ps.narratives}) >= 4, path.name
        assert len([c for c in ps.cells if c.row_label == "経費"]) == 4, path.name
        everything = " ".join([ps.sheet.project_name] + [n.text + n.label for n in ps.narratives])
        for doubled in ("事事業業", "令令和和", "【【", "年年度度"):
            assert doubled not in everything, (path.name, doubled)


def test_undouble_only_touches_doubled_runs() -> None:
    assert undouble("【【事事業業実実施施期期間間】】") == "【事業実施期間】"
    assert undouble("令令和和55年年度度～～99年年度度") == "令和5年度～9年度"
    assert undouble("ささやかな工夫") == "ささやかな工夫"
    assert undouble("1,100人") == "1,100人"
    assert undouble("1000000円") == "1000000円"


def test_other_layout_is_not_a_sheet() -> None:
    ikeda = corpus_file("real/ikeda/ikeda-r7-001.pdf")
    assert not pdf_kyoto.sniff(ikeda, b"")
    with pytest.raises(NotASheet):
        pdf_kyoto.read(ikeda)


def test_truncated_file(tmp_path: Path) -> None:
    data = corpus_file("real/kyoto/kyoto-r6-001.pdf").read_bytes()
    path = tmp_path / "kyoto.pdf"
    path.write_bytes(data[:4000])
    assert not pdf_kyoto.sniff(path, b"")
    with pytest.raises(SheetFileError):
        pdf_kyoto.read(path)
