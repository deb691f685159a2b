"""xlsx_tabs, text/Markdown (UTF-8, Shift_JIS, UTF-16), the generic fallback, and what is skipped."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from ingest.errors import NotASheet, SheetFileError
from ingest.parse import parse_file
from ingest.readers import generic, json_sheets, text_sheet, xlsx_rows, xlsx_tabs
from tests.conftest import cell, corpus_file
from tests.helpers import SAMPLE_DIR

MARKDOWN = """# 令和6年度 事務事業評価シート（サンプル市）

事務事業名: 図書館運営事業
担当: 教育部 図書館

## 事業概要
市立図書館を運営し、
市民の学習を支援する。

【対象】市民、来館者

■ 意図
市民が学習機会を得る。

| 区分 | 令和4年度(実績) | 令和5年度(実績) | 令和6年度(見込) |
|---|---|---|---|
| 事業費 | 1,000 | 1,200 | |
| 人件費 | 300 | 300 | 300 |
| トータルコスト | 1,300 | 1,600 | 300 |
"""


def _workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    sheets = [("図書館運営事業", [1000, 1200], [1300, 1500]), ("公園管理事業", [500, None], [1300, 300])]
    for k, (name, cost, total) in enumerate(sheets):
        ws = wb.active if k == 0 else wb.create_sheet()
        ws.title = f"No{k + 1}"
        ws.append(["令和6年度 事務事業評価シート（サンプル市）"])
        ws.append(["事務事業名", name, None, "担当", "建設部 公園課" if k else "教育部 図書館"])
        ws.append(["事業概要", f"{name}の概要。"])
        ws.append([])
        ws.append(["（単位：千円）"])
        ws.append(["区分", "令和4年度", "令和5年度"])
        ws.append(["事業費", cost[0], cost[1]])
        ws.append(["人件費", 300, 300])
        ws.append(["トータルコスト", *total])
    wb.save(path)
    return path


def test_xlsx_tabs(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "tabs.xlsx")
    head = path.read_bytes()[:65536]
    assert not xlsx_rows.sniff(path, head) and xlsx_tabs.sniff(path, head)
    lib, park = xlsx_tabs.read(path)
    assert (lib.sheet.project_name, lib.sheet.department) == ("図書館運営事業", "教育部 図書館")
    assert (lib.sheet.municipality, lib.sheet.fiscal_year, lib.sheet.locator) == ("サンプル市", 2024, "sheet No1")
    assert [(n.section.value, n.text) for n in lib.narratives] == [("事業概要", "図書館運営事業の概要。")]
    assert cell(lib, "事業費", "事業費", 2023).value == 1200
    assert cell(lib, "事業費", "事業費", 2023).unit == "千円"
    assert cell(lib, "トータルコスト", "トータルコスト", 2022).locator == "No1!B9"
    assert lib.warnings == ()
    blank = cell(park, "事業費", "事業費", 2023)
    assert (blank.value, blank.value_text) == (None, "")
    assert len(park.warnings) == 1 and "令和4年度" in park.warnings[0]  # 500 + 300 != 1,300


@pytest.mark.parametrize("encoding", ["utf-8", "cp932", "utf-16"])
def test_markdown_in_each_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "sheet.md"
    path.write_bytes(MARKDOWN.encode(encoding))
    assert text_sheet.sniff(path, path.read_bytes()[:65536])
    (ps,) = text_sheet.read(path)
    assert (ps.sheet.project_name, ps.sheet.department, ps.sheet.fiscal_year) == ("図書館運営事業", "教育部 図書館", 2024)
    sections = {n.label: n.section.value for n in ps.narratives}
    assert sections == {"事業概要": "事業概要", "対象": "対象", "意図": "目的・意図"}
    assert cell(ps, "事業費", "事業費", 2023, "実績").value == 1200
    assert cell(ps, "事業費", "事業費", 2024, "見込").value is None
    assert len(ps.warnings) == 1 and "1,600" in ps.warnings[0]


def test_text_without_project_name_is_not_a_sheet(tmp_path: Path) -> None:
    path = tmp_path / "memo.txt"
    path.write_text("# 会議メモ\n事業名の候補を検討した。\n", encoding="utf-8")
    with pytest.raises(NotASheet):
        text_sheet.read(path)


def test_text_sheet_leaves_the_tsv_sample_alone() -> None:
    path = SAMPLE_DIR / "tochigi-joho-kyogikai.txt"  # the sample ships in the package: never skipped
    assert not text_sheet.sniff(path, path.read_bytes()[:65536])


def test_generic_text_files_everything_as_other(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("事業名,防災訓練事業\n参加者,市民\n区分,令和4年度,令和5年度\n参加人数,120,140\n",
                    encoding="utf-8")
    (ps,) = generic.read(path)
    assert ps.sheet.project_name == "防災訓練事業" and ps.sheet.layout == "generic"
    assert {n.section.value for n in ps.narratives} <= {"その他"}
    assert cell(ps, "その他", "参加人数", 2023).value == 140


def test_generic_without_name_is_not_a_sheet(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# 議事録\n本日の議題\n", encoding="utf-8")
    with pytest.raises(NotASheet, match="事務事業名"):
        generic.read(path)


def test_generic_broken_pdf_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n")  # truncated
    with pytest.raises(SheetFileError) as exc:
        generic.read(path)
    assert "broken.pdf" in exc.value.message_ja


def test_generic_reads_a_real_pdf() -> None:
    (ps,) = generic.read(corpus_file("real/kobe/kobe-r25-001.pdf"))
    assert ps.sheet.project_name == "庁舎設備管理業務"
    assert ps.cells and all(c.table.value == "その他" for c in ps.cells)
    assert {c.fiscal_year for c in ps.cells if c.printed_year_label.startswith("20年度")} == {2008}


def test_title_list_is_skipped() -> None:
    path = corpus_file("real/kobe/policies.kobe.json")
    with pytest.raises(NotASheet, match="タイトル一覧であり、評価シートではありません"):
        json_sheets.read(path)
    assert "タイトル一覧" in parse_file(path).skipped


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"事業名": ', encoding="utf-8")
    result = parse_file(path)
    assert str(path) in result.error and "JSON として読めません" in result.error


def test_unrecognised_json_is_not_a_sheet(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"theme": "dark"}', encoding="utf-8")
    assert parse_file(path).skipped


@pytest.mark.parametrize(("title", "city"), [
    ("令和6年度 事務事業評価シート（サンプル市）", "サンプル市"),
    ("第７次池田市総合計画 前期基本計画 事務事業評価（令和６年度実施事業）", "池田市"),
    ("平成25年度神戸市事務事業評価シート", "神戸市"),
    ("岩手県大船渡市 行政評価", "大船渡市"),
    ("津市の事務事業評価", "津市"),
    # Words ending in 市/町 that name no municipality.
    ("栃木県市町村情報化推進協議会参画事業", ""),
    ("政令指定都市 20都市中", ""),
    ("令和５年度新規・充実事業の取組状況について", ""),
])
def test_municipality_named_by_a_title(title, city):
    from ingest.readers.labels import city_in

    assert city_in(title) == city
