"""Questions across sheets on a real-corpus slice: list by 課 and by 施策, count, top and bottom, a sum over
named sheets, a comparison across municipalities with different units, and a blank cell.

The slice: the 大船渡 workbook's rows of two 課 (水産課, 市民環境課), four 神戸 sheets, the 栃木 sample, and
the sample again as another city's sheet whose money is printed in 円 (×1,000). The answers go through
the SQL tables of the records store; every expected value here is computed from the parsed records
(ingest.parse), the other way round.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from openpyxl import Workbook, load_workbook

from assistant.scoring import has_number
from ingest.parse import parse_paths
from ingest.records import ParsedSheet
from tests.conftest import CORPUS
from tests.helpers import SAMPLE_DIR, ingested

# slow: ingests a slice of the corpus with the real e5 model
pytestmark = [pytest.mark.corpus, pytest.mark.slow]
UNITS = ("水産課", "市民環境課")
TOTAL = "トータルコスト(A)+(B)"


def _slice_workbook(src, dst) -> None:
    """The workbook's header rows and the rows of the two 課, found by parsing it (its own columns)."""
    rows_wanted = {int(ps.sheet.locator.split()[-1]) for ps in parse_paths([src]).sheets
                   if any(u in ps.sheet.department for u in UNITS)}
    wb = load_workbook(src, read_only=True)
    out = Workbook()
    ws = out.active
    ws.title = wb.worksheets[0].title
    for i, row in enumerate(wb.worksheets[0].iter_rows(values_only=True), start=1):
        if i <= 2 or i in rows_wanted:
            ws.append(list(row))
    out.save(dst)


def _yen_copy(text: str) -> str:
    """The sample as another city's sheet that prints its money in 円: every 千円 figure ×1,000."""
    out = []
    for line in text.replace("栃木県市町村情報化推進協議会参画事業", "情報化推進協議会円建て参画事業").splitlines():
        if "千円" in line:
            line = re.sub(r"(?<![\d.])(\d[\d,]*)(?![\d.])", lambda m: f"{int(m.group(1).replace(',', '')) * 1000:,}",
                          line).replace("千円", "円")
        out.append(line)
    return "自治体名\t円町\n" + "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    if not (CORPUS / "real").exists():
        pytest.skip(f"{CORPUS / 'real'} is absent: the shared corpus is not beside this checkout")
    root = tmp_path_factory.mktemp("cross-slice")
    (root / "ofunato").mkdir()
    _slice_workbook(CORPUS / "real/ofunato/report.xlsx", root / "ofunato/report.xlsx")
    (root / "kobe").mkdir()
    for n in ("001", "011", "012", "018"):
        shutil.copy(CORPUS / f"real/kobe/kobe-r25-{n}.pdf", root / "kobe")
    (root / "yen").mkdir()
    (root / "yen/sheet.txt").write_text(_yen_copy((SAMPLE_DIR / "tochigi-joho-kyogikai.txt").read_text("utf-8")),
                                        encoding="utf-8")
    (root / "manifest.toml").write_text('[[files]]\npath = "ofunato"\nmunicipality = "大船渡市"\n'
                                        '[[files]]\npath = "kobe"\nmunicipality = "神戸市"\n', encoding="utf-8")
    from ingest.labelling import Labeller, Manifest
    from vectorstore.indexer import Indexer

    home = tmp_path_factory.mktemp("cross-home")
    store, assistant = ingested(home, [])
    Indexer(store).ingest([root, SAMPLE_DIR], labeller=Labeller([root], manifest=Manifest.load(root / "manifest.toml")))
    sheets = [ps for ps in (store.sheet(r.sheet_id) for r in store.catalogue()) if ps is not None]
    return home, assistant, sheets


def _in(sheets: list[ParsedSheet], unit: str) -> list[ParsedSheet]:
    return [ps for ps in sheets if unit in ps.sheet.department]


def _value(ps: ParsedSheet, label: str, year: int) -> float | None:
    return next((c.value for c in ps.cells if c.row_label == label and c.fiscal_year == year), None)


def test_list_by_department_names_every_sheet_and_cites_each(env):
    _, a, sheets = env
    want = {ps.sheet.project_name for ps in _in(sheets, "水産課")}
    ans = a.ask("水産課の持っている事業をすべて教えて")
    assert ans.status == "answered" and len(want) >= 10
    assert {c.project_name for c in ans.citations} == want
    assert all(name in ans.answer for name in want) and f"{len(want)} 件" in ans.answer


def test_list_by_policy(env):
    _, a, sheets = env
    policy = next(n.text for ps in _in(sheets, "市民環境課") for n in ps.narratives if n.label == "施策名")
    want = {ps.sheet.project_name for ps in sheets if any(n.label == "施策名" and n.text == policy for n in ps.narratives)}
    ans = a.ask(f"施策「{policy}」の事業は？")
    assert ans.status == "answered"
    assert {c.project_name for c in ans.citations} == want


def test_count(env):
    _, a, sheets = env
    n = len(_in(sheets, "市民環境課"))
    ans = a.ask("市民環境課の事業はいくつありますか")
    assert ans.status == "answered" and has_number(ans.answer, str(n))


def test_top_and_bottom_with_ties_shown_whole(env):
    _, a, sheets = env
    values = {ps.sheet.project_name: _value(ps, TOTAL, 2024) for ps in _in(sheets, "水産課")}
    values = {k: v for k, v in values.items() if v is not None}
    top = max(values.values())
    ans = a.ask("水産課の事業のうち、令和6年度のトータルコストが最も多いのはどれ？")
    assert ans.status == "answered" and "令和6年度" in ans.answer
    assert {c.project_name for c in ans.citations} == {k for k, v in values.items() if v == top}
    assert all(c.fiscal_year == 2024 and c.label == TOTAL for c in ans.citations)
    low = min(values.values())
    bottom = a.ask("水産課の事業で令和6年度のトータルコストが最も小さいのは？")
    assert {c.project_name for c in bottom.citations} == {k for k, v in values.items() if v == low}


def test_sum_over_named_sheets_shows_its_terms(env):
    _, a, sheets = env
    named = sorted(_in(sheets, "市民環境課"), key=lambda ps: ps.sheet.project_name)[:3]
    values = [_value(ps, TOTAL, 2024) for ps in named]
    assert all(v is not None for v in values)
    names = "と".join(ps.sheet.project_name for ps in named)
    ans = a.ask(f"{names}の令和6年度のトータルコストを足すといくら？")
    assert ans.status == "answered"
    assert {c.project_name for c in ans.citations} == {ps.sheet.project_name for ps in named}
    assert has_number(ans.answer, f"{int(sum(values)):,}".replace(",", ""))
    assert ans.answer.count("+") >= 2  # the terms of the total


def test_compare_across_municipalities_converts_units(env):
    _, a, _ = env
    ans = a.ask("栃木県市町村情報化推進協議会参画事業と情報化推進協議会円建て参画事業の平成30年度のトータルコストを比べて")
    assert ans.status == "answered" and len(ans.citations) == 2
    assert {c.unit for c in ans.citations} == {"千円", "円"}
    assert "換算" in ans.answer and "1円 = 0.001千円" in ans.answer
    assert ans.answer.count("334千円") >= 2  # 334千円 as printed, and 334,000円 converted to 334千円


def test_a_blank_cell_is_named_not_counted(env):
    _, a, sheets = env
    kobe = [ps for ps in sheets if ps.sheet.municipality == "神戸市"]
    label = "減価償却費"
    blank = {ps.sheet.project_name for ps in kobe if _value(ps, label, 2012) is None}
    assert blank, "the slice needs a sheet whose cell is blank"
    ans = a.ask(f"神戸市の事業の平成24年度決算の{label}の合計は？")
    assert "0とはみなしていません" in ans.answer or ans.status == "not_found"
    assert all(name in ans.answer for name in blank)


def test_jsonl_contract_cites_every_cell_of_a_ranking(env):
    home = env[0]
    line = json.dumps({"id": "r", "question": "水産課の事業で令和6年度のトータルコストが大きい上位3つは？"}, ensure_ascii=False)
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "--jsonl"], input=line, capture_output=True,
                         text=True, check=True, env={"HYOKA_HOME": str(home), "PATH": ""})
    got = json.loads(out.stdout)
    assert got["status"] == "answered" and len(got["citations"]) >= 3
    assert set(got) == {"id", "status", "answer", "citations"}  # nothing new in the contract
    assert all(c["value"] and c["fiscal_year"] == 2024 for c in got["citations"])


def test_the_most_of_a_text_is_no_ranking_of_figures(env):
    _, a, _ = env
    ans = a.ask("神戸市の事業で、最大の課題になっているのは何？")
    assert ans.intent != "cross"
    ranked = a.ask("水産課の事業のうち、令和6年度のトータルコストが最も多いのはどれ？")
    assert ranked.intent == "cross"


def test_a_project_described_with_the_citys_short_name_is_not_a_list_of_its_namesakes(env):
    """「…している大船渡の事業」 describes one project: 大船渡 says whose it is, not a word of the names."""
    _, a, sheets = env
    ans = a.ask("カキの貝毒を調べている大船渡の事業は？")
    assert "名前に含む" not in ans.answer
    assert ans.status == "answered" and any("貝毒" in c.project_name for c in ans.citations)
    assert len({c.project_name for c in ans.citations}) <= 2


def test_two_years_of_one_figure_summed_are_that_sheets_sum_not_the_citys(env):
    """「大船渡市の〇〇、令和5年度と6年度を合わせて」 sums one indicator over two years: one sheet answers, not a sum
    of every 大船渡 sheet's figure for one year."""
    _, a, sheets = env
    labels: dict[str, list[ParsedSheet]] = {}
    for ps in sheets:
        for label in {c.row_label for c in ps.cells if c.table.value.endswith("指標")}:
            labels.setdefault(label, []).append(ps)
    label, ps = next((lb, found[0]) for lb, found in sorted(labels.items()) if len(found) == 1
                     and found[0].sheet.municipality == "大船渡市" and len(lb) > 6
                     and not re.search("計画|実績|予算|決算|見込|目標", lb)  # words that also name a kind of figure
                     and all(_value(found[0], lb, y) for y in (2023, 2024)))
    plain = re.sub(r"^[ア-ン]\s*", "", label)
    ans = a.ask(f"大船渡市の{plain}は令和5年度と6年度の合計でいくつ？")
    assert ans.status == "answered"
    assert {c.project_name for c in ans.citations} == {ps.sheet.project_name}
    total = _value(ps, label, 2023) + _value(ps, label, 2024)  # pyright: ignore[reportOperatorIssue]
    assert has_number(ans.answer, f"{total:g}")



def test_words_before_a_shared_name_joined_with_it_name_one_sheet(env):
    """「〇〇の管理事業」: 〇〇管理事業 is one sheet's name, so the question is about that sheet, not a
    comparison of every sheet whose name ends in 管理事業 (and a follow-up keeps it)."""
    _, a, sheets = env
    names = [ps.sheet.project_name for ps in sheets]
    pick = None
    for n in sorted(names):
        for cut in range(2, min(7, len(n) - 3)):
            head, tail = n[:cut], n[cut:]
            if re.fullmatch(r"[\u4e00-\u9fff]+", head) and len(tail) >= 4 and \
                    sum(tail in m for m in names) >= 2 and sum((head + tail) in m for m in names) == 1:
                pick = (n, head, tail)
                break
        if pick:
            break
    assert pick, "the slice has two names sharing a tail"
    name, head, tail = pick
    ps = next(p for p in sheets if p.sheet.project_name == name)
    value = _value(ps, TOTAL, 2024)
    ans = a.ask(f"{head}の{tail}、令和6年度のトータルコストは？")
    assert ans.status == "answered"
    assert {c.project_name for c in ans.citations} == {name}
    if value is not None:
        assert has_number(ans.answer, f"{value:g}")
