"""Limits checked before parsing, and the parse worker's memory and time limits.

Hostile files are built by the tests (tests/hostile.py): a workbook whose shared strings inflate to
256 MiB from a 260 KB file, and a 2,000-page PDF of 900 KB.
"""

from __future__ import annotations

import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.limits import FileLimits, _check_inflated
from ingest.parse import parse_file
from ingest.sandbox import Sandbox, run_isolated
from testkit.hostile import many_page_pdf, zip_bomb_xlsx
from tests.conftest import corpus_file
from tests.helpers import SAMPLE_DIR

SAMPLE = SAMPLE_DIR / "tochigi-joho-kyogikai.txt"
NO_LIMITS = FileLimits(file_mb=10**4, inflated_mb=10**6, inflate_ratio=10**9, pdf_pages=10**6,
                       sheets_per_file=10**6, worksheet_rows=10**9)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    return zip_bomb_xlsx(tmp_path_factory.mktemp("bomb") / "予算書.xlsx", inflated_mib=256)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    return many_page_pdf(tmp_path_factory.mktemp("pages") / "議事録.pdf", pages=2000)


def _peak_mib(fn: Callable[[], object]) -> tuple[object, float]:
    """fn()'s result and the most memory Python allocated while it ran (MiB)."""
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1] / 1024 / 1024
    finally:
        tracemalloc.stop()


def test_zip_bomb_is_refused_before_it_is_inflated(bomb: Path):
    assert bomb.stat().st_size < 1024 * 1024
    r, peak = _peak_mib(lambda: parse_file(bomb))
    assert not r.sheets and str(bomb) in r.error and "展開後のサイズが大きすぎます" in r.error, r.error
    assert peak < 16, f"refused without inflating it, yet {peak:.0f} MiB were allocated"


def test_inflate_ratio_is_held_per_part(tmp_path: Path):
    small_bomb = zip_bomb_xlsx(tmp_path / "小さな爆弾.xlsx", inflated_mib=32)
    r = parse_file(small_bomb)  # 32 MiB is under the size limit, but inflates ~1000:1
    assert "圧縮率が異常です" in r.error and "小さな爆弾.xlsx" in r.error, r.error


def test_inflated_bytes_are_counted_not_taken_from_the_directory(tmp_path: Path):
    """The directory's sizes can be forged; the check that decides inflates and counts."""
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/sharedStrings.xml", "x" * (3 * 1024 * 1024))
    with zipfile.ZipFile(path) as zf, pytest.raises(Exception, match="展開後のサイズが上限"):
        _check_inflated(path, zf, zf.infolist(), FileLimits(inflated_mb=2))


def test_too_many_worksheets_and_rows(tmp_path: Path):
    import openpyxl

    wb = openpyxl.Workbook()
    for i in range(5):
        wb.create_sheet(f"s{i}")
    wb.active["A30"] = "x"
    path = tmp_path / "多数.xlsx"
    wb.save(path)
    assert "ワークシートが多すぎます" in parse_file(path, limits=FileLimits(sheets_per_file=3)).error
    assert "行が多すぎます" in parse_file(path, limits=FileLimits(worksheet_rows=20)).error  # as declared
    streamed = openpyxl.Workbook(write_only=True)  # writes no <dimension>: the rows are counted
    ws = streamed.create_sheet("データ")
    for i in range(50):
        ws.append(["令和6年度", f"第{i}事業"])
    path = tmp_path / "行.xlsx"
    streamed.save(path)
    r = parse_file(path, limits=FileLimits(worksheet_rows=40))
    assert "行が多すぎます" in r.error and "50 行、上限 40 行" in r.error, r.error


def test_pdf_of_many_pages_is_refused_by_its_page_count(pages: Path):
    r = parse_file(pages)
    assert not r.sheets and str(pages) in r.error and "ページ数が上限（300 ページ）" in r.error, r.error


@pytest.mark.slow
def test_sheets_per_file_is_a_limit():
    report = corpus_file("real/ofunato/report.xlsx")
    r = parse_file(report, limits=FileLimits(sheets_per_file=100, worksheet_rows=10**6))
    assert not r.sheets and "シートが多すぎます" in r.error and "上限 100 件" in r.error, r.error[:200]


def test_file_size_is_a_setting(tmp_path: Path):
    path = tmp_path / "sheet.txt"
    path.write_bytes(SAMPLE.read_bytes() + b"\n" * (2 * 1024 * 1024))
    assert "大きすぎ" in parse_file(path, limits=FileLimits(file_mb=1)).error


# --- the worker --------------------------------------------------------------------------------
def test_worker_parses_like_the_parser():
    got = run_isolated(SAMPLE, FileLimits(), Sandbox())
    want = parse_file(SAMPLE)
    assert [ps.content_hash() for ps in got.result.sheets] == [ps.content_hash() for ps in want.sheets]
    assert got.result.reader == want.reader and got.peak_kib > 0


@pytest.mark.slow
def test_worker_memory_limit_stops_a_bomb_that_passes_the_checks(bomb: Path):
    """With every pre-check disabled, the bomb is still stopped, by the worker's address-space cap,
    well under 1 GiB; this process (the server's stand-in) never holds any of it."""
    got, here = _peak_mib(lambda: run_isolated(bomb, NO_LIMITS, Sandbox(memory_mb=512, seconds=60)))
    assert not got.result.sheets and "予算書.xlsx" in got.result.error and "メモリ" in got.result.error
    assert got.peak_kib / 1024 < 1024, f"the worker peaked at {got.peak_kib / 1024:.0f} MiB"
    assert here < 16, f"{here:.0f} MiB allocated in this process"


def test_worker_time_limit_kills_the_parse():
    got = run_isolated(SAMPLE, FileLimits(), Sandbox(seconds=0.05))
    assert not got.result.sheets and "制限時間" in got.result.error and str(SAMPLE) in got.result.error
