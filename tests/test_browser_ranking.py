"""A ranking across sheets in a real browser: the answer's table, its bar chart with every bar a cited
cell, the same table in the sources panel; and a single sheet's row over the years as a line.

Runs on the 22 real 神戸 sheets (../shared/corpus), headless Debian chromium driven by Playwright.
Saves tests/artifacts/browser-ranking-1366.png (docs/ranking.png with HYOKA_UPDATE_SCREENSHOT=1).
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.conftest import CORPUS, ROOT, free_port
from tests.test_browser import ARGS, ARTIFACTS, CHROMIUM, TIMEOUT_MS, _assert_japanese

pytestmark = [pytest.mark.browser, pytest.mark.corpus, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium fonts-noto-cjk")
    kobe = CORPUS / "real" / "kobe"
    if not kobe.exists():
        pytest.skip(f"{kobe} is absent: the shared corpus is not beside this checkout")
    from app import HyokaApp
    from assistant.core import Assistant
    from assistant.factory import build_store
    from assistant.settings import Settings
    from ingest.labelling import Labeller, Labels
    from vectorstore.indexer import Indexer

    settings = Settings(home=tmp_path_factory.mktemp("ranking-home"))
    store = build_store(settings)
    Indexer(store).ingest([kobe], labeller=Labeller([kobe], default=Labels(municipality="神戸市")))
    app = HyokaApp(Assistant(store), store, settings)
    port = free_port()
    app.launch("127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def _ask(page, question: str, turn: int) -> None:
    box = page.locator("#hyoka-question textarea")
    box.fill(question)
    box.press("Enter")
    page.locator("#hyoka-sources details.hyoka-turn summary", has_text=f"Q{turn}.").wait_for(timeout=TIMEOUT_MS)


def test_ranking_table_and_chart(server, browser):
    page = browser.new_page(viewport={"width": 1366, "height": 1000}, locale="en-US")
    page.goto(server, wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    page.locator("#hyoka-question textarea").wait_for(state="visible", timeout=TIMEOUT_MS)

    _ask(page, "神戸市の事業で平成24年度決算の合計（A）が大きい上位3つは？", 1)
    answer = page.locator("#hyoka-chat .message").last
    table = answer.locator("table")
    table.wait_for(timeout=TIMEOUT_MS)
    assert table.locator("tbody tr").count() == 3
    assert "平成24年度" in answer.inner_text() and "順位づけ" in answer.inner_text()
    panel = page.locator("#hyoka-sources details.hyoka-turn").first
    assert panel.locator("table.hyoka-answer-table tbody tr").count() == 3
    assert panel.locator("td.hyoka-cited").count() == 3  # each ranked value is a highlighted, cited cell

    bar = page.locator("#hyoka-bar")
    bar.wait_for(state="visible", timeout=TIMEOUT_MS)
    bar.locator("canvas, svg").first.wait_for(timeout=TIMEOUT_MS)
    time.sleep(0.5)  # the chart library draws after the element appears
    assert "[1]" in bar.inner_text() or bar.locator("text", has_text="[1]").count() >= 1
    _assert_japanese(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "browser-ranking-1366.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("HYOKA_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "ranking.png")

    # one sheet's row over the years: a line, and the bars are gone
    _ask(page, "神戸市の税務事務の合計（A）の推移は？", 2)
    line = page.locator("#hyoka-line")
    line.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.locator("#hyoka-bar").wait_for(state="hidden", timeout=TIMEOUT_MS)
    page.close()
