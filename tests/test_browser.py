"""The page in a real browser: Debian chromium headless, driven by Playwright.

Saves tests/artifacts/browser-answer.png; with HYOKA_UPDATE_SCREENSHOT=1 it also replaces
docs/screenshot.png (the README's picture) after a passing run.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.test_app import PROJECT, STARTED, sample_dir

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "tests" / "artifacts"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium fonts-noto-cjk")
    from app import HyokaApp
    from assistant.core import Assistant
    from assistant.factory import build_store
    from assistant.settings import Settings
    from vectorstore.indexer import Indexer

    settings = Settings(home=tmp_path_factory.mktemp("browser-home"))
    store = build_store(settings)
    Indexer(store).ingest([sample_dir()])
    app = HyokaApp(Assistant(store), store, settings)
    port = free_port()
    t0 = time.perf_counter()
    app.launch("127.0.0.1", port, block=False)
    print(f"\nserver up in {time.perf_counter() - t0:.2f} s")
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium fonts-noto-cjk")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def test_question_answered_with_citation_and_section(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
    t0 = time.perf_counter()
    page.goto(server, wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    box = page.locator("#hyoka-question textarea")
    box.wait_for(state="visible", timeout=TIMEOUT_MS)
    print(f"\npage ready in {time.perf_counter() - t0:.2f} s")
    assert "事務事業評価シート" in page.title()

    box.fill("この事業はいつ始まったのですか")
    t1 = time.perf_counter()
    box.press("Enter")
    chat = page.locator("#hyoka-chat")
    chat.get_by_text(STARTED, exact=False).first.wait_for(timeout=TIMEOUT_MS)
    page.locator("#hyoka-sources mark", has_text=STARTED).wait_for(timeout=TIMEOUT_MS)
    print(f"answer shown in {time.perf_counter() - t1:.2f} s")

    sources = page.locator("#hyoka-sources")
    assert PROJECT in sources.inner_text()
    assert "開始のきっかけ" in sources.inner_text()
    link = chat.locator('a[href="#hyoka-src-0-1"]').first
    assert link.inner_text().strip() == "[1]"
    link.click()
    assert len(browser.contexts[0].pages) == 1, "a citation scrolls the panel, it opens no tab"
    page.wait_for_timeout(300)  # let the smooth scroll settle before the picture

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "browser-answer.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("HYOKA_UPDATE_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / "screenshot.png")
    page.close()


def test_figure_answer_highlights_the_year(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
    page.goto(server, wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    page.get_by_role("button", name="トータルコストの推移を教えてください").click(timeout=TIMEOUT_MS)
    cited = page.locator("#hyoka-sources td.hyoka-cited")
    cited.wait_for(timeout=TIMEOUT_MS)
    assert cited.inner_text().strip() == "323"
    assert page.locator("#hyoka-sources table.hyoka-row th").count() == 5
    page.close()
