"""Editions nobody tuned the readers on, generated here from the real files: next year's sample, a
大船渡 workbook of 令和8年度, a 池田-style sheet labelled R7, a 福岡-shaped export under a neutral
name, and files filed under folders whose names say nothing (or the wrong thing).

In each, the years, the sections and the municipality must be right: the municipality from the
sheet, from --municipality, or 「不明」, never from a folder or file name.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path

import pytest

from assistant.cli import main
from ingest.readers import json_sheets, pdf_ikeda, xlsx_rows
from ingest.records import Kind, Section
from tests.conftest import CORPUS, ROOT, cell, corpus_file

SAMPLE = ROOT / "ingest" / "data" / "sample" / "tochigi-joho-kyogikai.txt"


def parse_json(capsys, *args: str) -> list[dict]:
    """`hyoka parse --json ARGS` as a user runs it; its stdout as data."""
    capsys.readouterr()
    assert main(["parse", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def _sections(sheet: dict) -> set[str]:
    return {n["section"] for n in sheet["narratives"]}


# --- the sample, one year later ----------------------------------------------------------------
def _shift_bare_years(text: str) -> str:
    """Every year one later: 28年度 -> 29年度 … 32年度 -> 33年度 (平成22年度 -> 平成23年度 too)."""
    return re.sub(r"(?<![\d.])(\d{1,2})(\s*)年度", lambda m: f"{int(m.group(1)) + 1}{m.group(2)}年度", text)


def test_sample_one_year_later(tmp_path, capsys):
    path = tmp_path / "next" / "sheet.txt"
    path.parent.mkdir()
    path.write_text(_shift_bare_years(SAMPLE.read_text(encoding="utf-8")), encoding="utf-8")
    (before,) = parse_json(capsys, str(SAMPLE))
    (after,) = parse_json(capsys, str(path))
    s = after["sheet"]
    # 33年度 on this Heisei-era form is 令和3 (2021): shown in the era in force, then as printed.
    assert (s["fiscal_year"], s["fiscal_year_label"], s["printed_year_label"]) == (2021, "令和3年度", "33年度(見込)")
    assert after["shown"] == {"municipality": "不明", "fiscal_year": "令和3年度（33年度見込）"}
    years = {c["printed_year_label"]: (c["fiscal_year"], c["fiscal_year_label"]) for c in after["cells"]}
    assert years == {"29年度(実績)": (2017, "平成29年度"), "30年度(実績)": (2018, "平成30年度"),
                     "31年度(実績)": (2019, "令和元年度"), "32年度(実績)": (2020, "令和2年度"),
                     "33年度(見込)": (2021, "令和3年度")}
    assert len(after["cells"]) == len(before["cells"])
    assert _sections(after) == _sections(before)
    labels = {n["label"] for n in after["narratives"] if n["section"] in {"手段（実績）", "手段（計画）"}}
    assert labels == {"① 手段（主な活動） 32年度実績", "① 手段（主な活動） 33年度計画"}


# --- the 大船渡 workbook, 令和8年度 edition, under folders of any name -------------------------------
def _workbook(src: Path, dst: Path, rows: int, year: int | None = None) -> Path:
    """The first rows of the real workbook, as a new file; with `year`, its 年度 column set to it."""
    from openpyxl import Workbook, load_workbook

    wb = load_workbook(src, read_only=True)
    ws_in = wb.worksheets[0]
    data = [list(r) for r in ws_in.iter_rows(max_row=2 + rows, values_only=True)]
    wb.close()
    col = next(i for i, h in enumerate(data[1]) if h == "年度")
    out = Workbook()
    ws = out.active
    ws.title = ws_in.title
    for i, r in enumerate(data):
        ws.append([year if year is not None and i >= 2 and k == col else v for k, v in enumerate(r)])
    dst.parent.mkdir(parents=True, exist_ok=True)
    out.save(dst)
    return dst


@pytest.fixture(scope="module")
def ofunato_rows():
    return xlsx_rows.read(corpus_file("real/ofunato/report.xlsx"))[:4]


def test_ofunato_reiwa_8(tmp_path, capsys, ofunato_rows):
    path = _workbook(corpus_file("real/ofunato/report.xlsx"), tmp_path / "r8" / "report.xlsx", 4, year=8)
    sheets = parse_json(capsys, str(path))
    assert len(sheets) == 4
    for got, before in zip(sheets, ofunato_rows, strict=True):
        s = got["sheet"]
        assert (s["project_name"], s["fiscal_year"], s["fiscal_year_label"]) == (before.sheet.project_name, 2026,
                                                                                    "令和8年度")
        assert got["shown"]["municipality"] == "不明"
        years = sorted({c["fiscal_year"] for c in got["cells"]})
        assert years == list(range(2021, 2027))  # the six blocks are R3–R8
        labels = {c["fiscal_year"]: c["fiscal_year_label"] for c in got["cells"]}
        assert (labels[2021], labels[2026]) == ("令和3年度", "令和8年度")
        plan = {c["kind"] for c in got["cells"] if c["fiscal_year"] == 2026}
        assert plan == {"計画"}  # the sheet's own year is this year's plan
        assert _sections(got) == {n.section.value for n in before.narratives}
        assert len(got["cells"]) == len(before.cells)
    ps = xlsx_rows.read(path)[0]
    assert cell(ps, "トータルコスト", "トータルコスト", 2025).value == cell(ofunato_rows[0], "トータルコスト",
                                                                    "トータルコスト", 2024).value


@pytest.mark.parametrize("folder", ["kobe", "uploads", "大船渡市以外"])
def test_workbook_under_another_folder(tmp_path, capsys, folder, ofunato_rows):
    """A folder named like another city (kobe), the upload folder, anything: the folder says nothing."""
    src = _workbook(corpus_file("real/ofunato/report.xlsx"), tmp_path / "ofunato" / "report.xlsx", 4)
    copy = tmp_path / folder / "report.xlsx"
    copy.parent.mkdir()
    shutil.copy(src, copy)
    plain = parse_json(capsys, str(copy))
    named = parse_json(capsys, "--municipality", "大船渡市", str(copy))
    assert {x["sheet"]["municipality"] for x in plain} == {""}
    assert {x["shown"]["municipality"] for x in plain} == {"不明"}
    assert {x["sheet"]["municipality"] for x in named} == {"大船渡市"}
    assert {x["sheet"]["municipality_origin"] for x in named} == {"user"}
    # The same sheets, whatever the folder and whether or not the user named the city.
    ids = [x["sheet"]["sheet_id"] for x in plain]
    assert ids == [x["sheet"]["sheet_id"] for x in named] == [x["sheet"]["sheet_id"] for x in parse_json(capsys, str(src))]
    assert ids == [ps.sheet.sheet_id for ps in ofunato_rows]


# --- a 池田-style sheet of the next edition (R7), and of another city --------------------------------
_NEXT = re.compile(r"(R|令和)(\s*)(\d{1,2})(?=\s*年度)")


def _edition(text: str | None, city: str = "池田市") -> str | None:
    """The page's text or a cell as next year's edition prints it: R6 -> R7, 令和６年度 -> 令和7年度."""
    if text is None:
        return None
    t = unicodedata.normalize("NFKC", text).replace("池田市", city)
    return _NEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}{int(m.group(3)) + 1}", t)


def _ikeda(city: str = "池田市"):
    import pdfplumber

    path = corpus_file("real/ikeda/ikeda-r7-001.pdf")
    with pdfplumber.open(path) as pdf:
        text, tables, remarks = pdf_ikeda.page_content(pdf.pages[0].dedupe_chars())
    before = pdf_ikeda.sheet_from(path, text, tables, remarks)
    tables = [[[_edition(c, city) for c in row] for row in t] for t in tables]
    return before, pdf_ikeda.sheet_from(path, _edition(text, city) or "", tables, remarks)


def test_ikeda_next_edition_keeps_every_section():
    before, after = _ikeda()
    s = after.sheet
    assert (s.municipality, s.fiscal_year, s.fiscal_year_label) == ("池田市", 2025, "令和7年度")
    assert {n.section for n in after.narratives} == {n.section for n in before.narratives}
    by_label = {n.label: n for n in after.narratives}
    assert by_label["R7年度取組予定"].section is Section.MEANS_PLAN
    assert by_label["R7年度取組実績"].section is Section.MEANS_DONE
    assert by_label["R7年度取組実績"].text == next(n.text for n in before.narratives if n.label == "R6年度取組実績")
    assert by_label["R8年度以降の事業の方向性"].section is Section.DIRECTION
    assert by_label["R7年度における「その他」財源の主な内容"].text == "基金繰入金 5,690千円"
    cost = cell(after, "事業費", "事業費 A", 2025, "決算")
    assert (cost.value, cost.fiscal_year_label, cost.printed_year_label) == (5690, "令和7年度", "R7年度決算")
    assert cell(after, "事業費", "事業費 A", 2023).printed_year_label == "R5年度決算"
    goal = cell(after, "成果指標", "出前授業のメニュー数", 2028)  # R10: the plan's goal, beyond the period
    assert (goal.kind, goal.value) == (Kind.TARGET, 30)
    assert len(after.cells) == len(before.cells)


def test_ikeda_form_of_another_city():
    _, other = _ikeda(city="箕面市")
    assert other.sheet.municipality == "箕面市" and other.sheet.municipality_origin == "sheet"
    assert other.sheet.sheet_id != _ikeda()[1].sheet.sheet_id


# --- a 福岡-shaped export under a neutral name --------------------------------------------------
def test_fukuoka_export_under_a_neutral_name(tmp_path, capsys):
    src = corpus_file("real/fukuoka/jimu-jigyo-r6-kouwan.json")
    path = tmp_path / "ofunato" / "export.json"  # a neutral file name, in a folder named for another city
    path.parent.mkdir()
    shutil.copy(src, path)
    (got,) = parse_json(capsys, str(path))
    (named,) = parse_json(capsys, "--municipality", "福岡市", str(path))
    (before,) = json_sheets.read(src)
    assert (got["sheet"]["fiscal_year"], got["sheet"]["fiscal_year_label"]) == (2024, "令和6年度")
    assert got["shown"]["municipality"] == "不明" and named["sheet"]["municipality"] == "福岡市"
    assert _sections(got) == {n.section.value for n in before.narratives}
    money = {(c["fiscal_year"], c["kind"]) for c in got["cells"] if c["table"] == "事業費"}
    assert money == {(2023, "決算"), (2024, "決算見込"), (2025, "予算")}
    assert got["sheet"]["sheet_id"] == named["sheet"]["sheet_id"] == before.sheet.sheet_id


# --- every layout: the folder name is never read ------------------------------------------------
@pytest.mark.parametrize(("rel", "municipality"), [
    ("real/kobe/kobe-r25-001.pdf", ""), ("real/kyoto/kyoto-r6-001.pdf", ""),
    ("real/ikeda/ikeda-r7-001.pdf", "池田市"),  # its title names the city
    ("real/fukuoka/jimu-jigyo-r6-nousui.json", ""),
])
def test_no_layout_reads_the_folder_name(tmp_path, capsys, rel, municipality):
    # Folders named after the corpus's own folders, for another city: the old folder table's trap.
    trap = {"kobe": "fukuoka", "kyoto": "kobe", "ikeda": "kyoto", "fukuoka": "ikeda"}[rel.split("/")[1]]
    path = tmp_path / trap / Path(rel).name
    path.parent.mkdir()
    shutil.copy(corpus_file(rel), path)
    got = parse_json(capsys, str(path))
    assert got and {x["sheet"]["municipality"] for x in got} == {municipality}
    assert all(x["sheet"]["fiscal_year"] for x in got)


def test_kobe_years_come_from_its_tables(capsys):
    (got,) = parse_json(capsys, str(corpus_file("real/kobe/kobe-r25-001.pdf")))
    # The form prints only 20年度決算 … 25年度予算: the era from its own dates (行財政改革2015), the
    # evaluation year from its 予算 column.
    assert got["shown"]["fiscal_year"] == "平成25年度（25年度予算）"
    assert sorted({c["fiscal_year"] for c in got["cells"] if c["fiscal_year"]}) == list(range(2008, 2014))


def test_shared_corpus_manifest_names_only_files_that_do_not_name_themselves():
    """The manifest `make eval` uses: each entry is a folder of the corpus, and no entry is needed
    where the sheets state their municipality."""
    from ingest.labelling import Manifest

    if not (CORPUS / "real").exists():
        pytest.skip(f"{CORPUS / 'real'} is absent: the shared corpus is not beside this checkout")
    manifest = Manifest.load(ROOT / "tests/data/shared-corpus-manifest.toml")
    assert all((CORPUS / e.path).is_dir() for e in manifest.entries)
    assert not any("ikeda" in str(e.path) for e in manifest.entries)
