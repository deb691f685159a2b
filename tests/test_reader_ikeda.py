"""池田市 目標設定シート (pdf_ikeda): spot figures, narratives, golden file, every sample file, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import NotASheet, SheetFileError
from ingest.readers import pdf_ikeda
from ingest.records import ParsedSheet
from tests.conftest import CORPUS, cell, check_golden, corpus_file


@pytest.fixture(scope="module")
def kankyo() -> ParsedSheet:
    sheets = pdf_ikeda.read(corpus_file("real/ikeda/ikeda-r7-001.pdf"))
    assert len(sheets) == 1
    return sheets[0]


def _text(ps: ParsedSheet, label: str) -> list[str]:
    return [n.text for n in ps.narratives if n.label == label]


def test_sheet_header(kankyo: ParsedSheet) -> None:
    s = kankyo.sheet
    assert (s.municipality, s.fiscal_year, s.fiscal_year_label) == ("池田市", 2024, "令和6年度")
    assert (s.project_id, s.project_name, s.department) == ("1", "環境学習推進事業", "環境政策課")
    assert (s.locator, s.layout) == ("p.1", "pdf_ikeda")


def test_spot_figures(kankyo: ParsedSheet) -> None:
    goal = cell(kankyo, "成果指標", "出前授業のメニュー数", 2027)
    assert (goal.value, goal.kind.value, goal.unit) == (30, "目標", "種類")
    assert cell(kankyo, "成果指標", "出前授業のメニュー数", 2024, "見込").value == 27
    cost = cell(kankyo, "事業費", "事業費 A", 2024, "決算")
    assert (cost.value, cost.value_text, cost.unit) == (5690, "5,690", "千円")
    assert cell(kankyo, "事業費", "事業費 A", 2024, "予算").value == 5700
    assert cell(kankyo, "財源内訳", "その他", 2022).value == 5690
    assert cell(kankyo, "財源内訳", "一般財源", 2023).value == 0  # a printed 0 stays 0
    blank = cell(kankyo, "財源内訳", "地方債", 2023)
    assert (blank.value, blank.value_text) == (None, "")  # a blank stays blank
    ratio = cell(kankyo, "その他", "受益者負担率", 2024, "決算")
    assert (ratio.unit, ratio.value) == ("%", None)
    assert kankyo.warnings == ()


def test_columns_are_not_interleaved(kankyo: ParsedSheet) -> None:
    """事業の対象 and 事業内容 share text lines in the PDF's text stream; each must stand alone."""
    assert _text(kankyo, "事業の対象") == ["市内小・中学生、教員、保護者等"]
    assert _text(kankyo, "事業内容")[0].startswith("環境学習基本方針に基づき")
    assert _text(kankyo, "事業内容")[0].endswith("環境学習啓発イベント等を実施する。")
    assert _text(kankyo, "実施形態（直営/委託）") == ["全部委託"]
    assert _text(kankyo, "実施期間") == ["令和5年度 ～ 令和9年度"]
    assert _text(kankyo, "R6年度における「その他」財源の主な内容") == ["基金繰入金 5,690千円"]
    direction = [n for n in kankyo.narratives if n.section.value == "方向性"]
    assert [n.label for n in direction] == ["R7年度以降の事業の方向性", "判断理由"]


def test_golden(kankyo: ParsedSheet) -> None:
    check_golden("ikeda_001", kankyo)


@pytest.mark.slow
def test_every_sample_file() -> None:
    corpus_file("real/ikeda/ikeda-r7-001.pdf")
    paths = sorted((CORPUS / "real/ikeda").glob("ikeda-r7-*.pdf"))
    assert len(paths) == 15
    for path in paths:
        assert pdf_ikeda.sniff(path, path.read_bytes()[:1024]), path.name
        sheets = pdf_ikeda.read(path)
        assert len(sheets) == 1, path.name
        ps = sheets[0]
        assert ps.sheet.project_name and ps.sheet.department, path.name
        assert ps.sheet.project_id == str(int(path.stem.rsplit("-", 1)[1])), path.name
        assert len({n.section for n in ps.narratives}) >= 4, path.name
        assert any(c.table.value == "成果指標" for c in ps.cells), path.name
        assert any(c.row_label == "事業費 A" for c in ps.cells), path.name
        assert ps.warnings == (), (path.name, ps.warnings)


def test_remarks_and_disaster_plan() -> None:
    chugaku = pdf_ikeda.read(corpus_file("real/ikeda/ikeda-r7-151.pdf"))[0]
    assert _text(chugaku, "備考") == ["継続・廃止に係る長期的目線での判断について、慎重な検討が必要。"]
    bunsho = pdf_ikeda.read(corpus_file("real/ikeda/ikeda-r7-391.pdf"))[0]
    assert _text(bunsho, "国土強靭化地域計画 施策分野") == ["① 行政・危機管理機能"]


def test_other_layout_is_not_a_sheet() -> None:
    kyoto = corpus_file("real/kyoto/kyoto-r6-001.pdf")
    assert not pdf_ikeda.sniff(kyoto, b"")
    with pytest.raises(NotASheet):
        pdf_ikeda.read(kyoto)


def test_broken_files(tmp_path: Path) -> None:
    data = corpus_file("real/ikeda/ikeda-r7-001.pdf").read_bytes()
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"not a pdf at all")
    for path in (truncated, garbage):
        assert not pdf_ikeda.sniff(path, b"")
        with pytest.raises(SheetFileError) as err:
            pdf_ikeda.read(path)
        assert err.value.path == str(path) and "PDF" in err.value.problem_ja


def test_encrypted_file(tmp_path: Path) -> None:
    import pypdf  # a test dependency (pyproject.toml [test])
    writer = pypdf.PdfWriter(clone_from=corpus_file("real/ikeda/ikeda-r7-001.pdf"))
    writer.encrypt("secret")
    path = tmp_path / "locked.pdf"
    writer.write(path)
    with pytest.raises(SheetFileError, match="暗号化"):
        pdf_ikeda.read(path)
