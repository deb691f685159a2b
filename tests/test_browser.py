"""The page in a real browser: Debian chromium headless, driven by Playwright, at 1366 and 390 px.

What a newcomer does: press an example (every example answers), read the cited cell highlighted,
ask something the sheet does not hold (nothing highlighted), open the whole sheet from a citation
and from the catalogue, on a phone-width window where nothing overlaps and every tab is in reach,
with every label in Japanese, whatever the browser's own language.

Saves tests/artifacts/browser-*.png; with HYOKA_UPDATE_SCREENSHOT=1 it also replaces the README's
pictures in docs/ after a passing run.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.test_app import PROJECT, STARTED, sample_dir

# slow: drives chromium against a served app
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "tests" / "artifacts"
TIMEOUT_MS = 30_000
DOCS = {"browser-answer-1366.png": "screenshot.png", "browser-answer-390.png": "screenshot-390.png",
        "browser-viewer-1366.png": "viewer.png"}

# English words that may appear outside sheet text: none of Gradio's own.
_ENGLISH = re.compile(r"[A-Za-z]{3,}")
_ALLOWED = re.compile(r"hyoka|tochigi|joho|kyogikai|txt|xlsx|json|pdf|tsv|csv")
_CHROME_TEXT = """() => {
  const skip = "#hyoka-chat .message-content, #hyoka-chat .md, #hyoka-sources, #hyoka-viewer, #hyoka-catalogue,"
             + " #hyoka-examples, script, style, svg, .hyoka-hidden";
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode, el = n.parentElement;
    if (!el || el.closest(skip) || !n.textContent.trim()) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0 && !el.closest(".sr-only")) continue;
    out.push(n.textContent.trim());
  }
  for (const el of document.querySelectorAll("[aria-label],[title],[placeholder]")) {
    if (el.closest("#hyoka-sources, #hyoka-viewer")) continue;
    for (const a of ["aria-label", "title", "placeholder"]) {
      const v = el.getAttribute(a);
      if (v && !/^(user|bot)'s message/.test(v) && !v.startsWith("質問: ") && !v.startsWith("回答: ")) out.push(v);
    }
  }
  return out;
}"""
_BOXES = """(sels) => sels.map(s => { const el = document.querySelector(s); if (!el) return null;
  const r = el.getBoundingClientRect(); return r.width && r.height ? [s, r.left, r.top, r.right, r.bottom] : null; })
  .filter(Boolean)"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium fonts-noto-cjk")
    from app import HyokaApp
    from assistant.core import Assistant
    from assistant.factory import build_store
    from assistant.settings import Settings
    from vectorstore.indexer import Indexer

    settings = Settings(home=tmp_path_factory.mktemp("browser-home"), allow_upload=True)
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


def _open(browser, server: str, width: int):
    # An English browser: the page must still be Japanese.
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="en-US")
    page.goto(server, wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    page.locator("#hyoka-question textarea").wait_for(state="visible", timeout=TIMEOUT_MS)
    page.locator("#hyoka-examples button").first.wait_for(state="visible", timeout=TIMEOUT_MS)
    return page


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("HYOKA_UPDATE_SCREENSHOT") == "1" and name in DOCS:
        if "viewer" in name:  # the README shows the top of the sheet; the artifact has all of it
            page.screenshot(path=str(ROOT / "docs" / DOCS[name]))
        else:
            shutil.copyfile(shot, ROOT / "docs" / DOCS[name])


def _newest_turn(page):
    return page.locator("#hyoka-sources details.hyoka-turn").first


def _ask(page, question: str, turn: int) -> None:
    box = page.locator("#hyoka-question textarea")
    box.fill(question)
    box.press("Enter")
    page.locator("#hyoka-sources details.hyoka-turn summary", has_text=f"Q{turn}.").wait_for(timeout=TIMEOUT_MS)


def _assert_japanese(page) -> None:
    english = [t for t in page.evaluate(_CHROME_TEXT) if _ENGLISH.search(_ALLOWED.sub("", t))]
    assert not english, f"English in the page's own labels: {english[:10]}"


def _assert_no_overlap(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "nothing runs off the side"
    boxes = page.evaluate(_BOXES, ["#hyoka-intro", "div[role=tablist]", "#hyoka-chat", "#hyoka-question",
                                   "#hyoka-send", "#hyoka-examples", "#hyoka-sources"])
    for i, (a, *ra) in enumerate(boxes):
        for b, *rb in boxes[i + 1:]:
            overlap = min(ra[2], rb[2]) - max(ra[0], rb[0]) > 1 and min(ra[3], rb[3]) - max(ra[1], rb[1]) > 1
            assert not overlap, f"{a} overlaps {b} at {width} px"
    assert page.locator("#hyoka-chat .top-panel").count() == 0 or not page.locator("#hyoka-chat .top-panel").is_visible()
    for tab in ("質問する", "シート一覧", "シートを読む", "追加"):
        assert page.get_by_role("tab", name=tab).is_visible(), f"tab {tab} is out of reach at {width} px"


@pytest.mark.parametrize("width", [1366, 390])
def test_newcomer_path(server, browser, width):
    page = _open(browser, server, width)
    assert "事務事業評価シート" in page.title()
    chat = page.locator("#hyoka-chat")

    # a question the sheet cannot answer: a refusal highlights nothing
    _ask(page, f"{PROJECT}の令和5年度のトータルコストは？", 1)
    refusal = _newest_turn(page)
    assert "記載がありません" in chat.locator(".message").last.inner_text()
    assert refusal.locator("td.hyoka-cited").count() == 0 and refusal.locator("mark").count() == 0

    # every example answers; the figure one highlights the one cell its answer cites
    examples = page.locator("#hyoka-examples button")
    labels = [examples.nth(i).inner_text() for i in range(examples.count()) if examples.nth(i).is_visible()]
    assert len(labels) >= 3 and all(PROJECT in q for q in labels)
    figure = next(i for i, q in enumerate(labels) if "トータルコストは" in q)
    examples.nth(figure).click()
    page.locator("#hyoka-sources details.hyoka-turn summary", has_text="Q2.").wait_for(timeout=TIMEOUT_MS)
    cited = _newest_turn(page).locator("td.hyoka-cited")
    assert cited.count() == 1 and cited.inner_text().strip() in chat.locator(".message").last.inner_text()
    assert "\\(" not in chat.locator(".message").last.inner_text(), "escapes are not shown"

    narrative = next(i for i, q in enumerate(labels) if "始まった" in q)
    examples.nth(narrative).click()
    page.locator("#hyoka-sources details.hyoka-turn summary", has_text="Q3.").wait_for(timeout=TIMEOUT_MS)
    page.locator("#hyoka-sources mark", has_text=STARTED).wait_for(timeout=TIMEOUT_MS)
    link = chat.locator('a[href="#hyoka-src-2-1"]').first
    assert link.inner_text().strip() == "[1]"
    link.click()
    assert len(browser.contexts[-1].pages) == 1, "a citation scrolls the panel, it opens no tab"
    page.wait_for_timeout(300)
    _assert_no_overlap(page, width)
    _assert_japanese(page)
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, f"browser-answer-{width}.png")

    # the whole sheet, opened from the citation: the cited passage is marked
    _newest_turn(page).locator("a.hyoka-open-sheet").first.click()
    viewer = page.locator("#hyoka-viewer")
    viewer.locator(".hyoka-sheet-section.hyoka-cited", has_text=STARTED).wait_for(timeout=TIMEOUT_MS)
    assert viewer.locator("table.hyoka-sheet-table").count() >= 5
    assert viewer.locator(".hyoka-sheet-section").count() >= 10
    assert "公式" in viewer.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    _assert_japanese(page)
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, f"browser-viewer-{width}.png")

    # and from the catalogue
    page.get_by_role("tab", name="シート一覧").click()
    page.locator("#hyoka-catalogue").get_by_text(PROJECT).filter(visible=True).first.click()
    viewer.locator(".hyoka-sheet-head", has_text=PROJECT).wait_for(timeout=TIMEOUT_MS)
    assert viewer.locator(".hyoka-cited").count() == 0
    page.get_by_role("tab", name="追加").click()
    page.wait_for_timeout(300)
    _assert_japanese(page)
    page.close()
