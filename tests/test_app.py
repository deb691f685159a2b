"""The chat UI's handlers, called without a server, and one end-to-end run through gradio_client."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from pathlib import Path

import gradio as gr
import pytest

from app import UNEXPECTED, HyokaApp, parse_filters
from assistant import presenter as P
from assistant import viewer as V
from assistant.answer import Answer, Status
from assistant.core import Assistant
from assistant.factory import build_store
from assistant.messages import History
from assistant.settings import Settings
from ingest.errors import StoreError, UserInputError
from tests.conftest import free_port
from tests.helpers import SAMPLE_DIR
from vectorstore.indexer import Indexer
from vectorstore.store import Filters

PROJECT = "栃木県市町村情報化推進協議会参画事業"
STARTED = "平成3年5月20日"


def sample_dir() -> Path:
    """The sample bundled in the package: always there, so these tests never skip."""
    assert any(SAMPLE_DIR.iterdir()), SAMPLE_DIR
    return SAMPLE_DIR


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """One store with the sample ingested, shared by the module (embedding is the slow part)."""
    settings = Settings(home=tmp_path_factory.mktemp("ui-home"))
    store = build_store(settings)
    Indexer(store).ingest([sample_dir()])
    return settings, store


@pytest.fixture
def app(indexed):
    settings, store = indexed
    return HyokaApp(Assistant(store), store, settings, stream_delay=0)


def ask(app: HyokaApp, question: str, chat=None, turns=None, *filters: str):
    """Run the chat handler to the end; returns every step and the final (chat, turns, panel, box)."""
    steps = list(app.respond(question, chat or [], turns or [], *filters))
    return steps, steps[-1]


class Recording(Assistant):
    """The real assistant, remembering what it was asked."""

    def __init__(self, store) -> None:
        super().__init__(store)
        self.calls: list[tuple[str, History | None, Filters | None]] = []

    def ask(self, question, history=None, filters=None):
        self.calls.append((question, history, filters))
        return super().ask(question, history, filters)


class Canned(Assistant):
    """Returns one answer or raises one error, whatever the question."""

    def __init__(self, store, result) -> None:
        super().__init__(store)
        self.result = result

    def ask(self, question, history=None, filters=None):
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


# --- answers and sources ------------------------------------------------------------------------
def test_narrative_answer_cites_the_section(app):
    _, (chat, turns, panel, box) = ask(app, "この事業はいつ始まったのですか")
    assert box == ""
    assert [m["role"] for m in chat] == ["user", "assistant"]
    text = chat[-1]["content"]
    assert STARTED in text
    assert "(#hyoka-src-0-1)" in text, "each [n] links to its entry in the sources panel"
    assert PROJECT in panel and "開始のきっかけ" in panel
    assert 'id="hyoka-src-0-1"' in panel
    assert "tochigi-joho-kyogikai.txt#" in panel, "the source file and its locator"
    assert f"<mark>栃木県内における、地域情報化の円滑かつ着実な推進を図るため、{STARTED}に設立された。</mark>" in panel
    assert turns[0]["answer"].count("[1]") == 1, "history keeps the plain answer, not the Markdown"


def test_answer_streams_in_pieces(app):
    steps, _ = ask(app, "この事業はいつ始まったのですか")
    shown = [s[0][-1]["content"] for s in steps if s[0] and s[0][-1]["role"] == "assistant"]
    assert len(shown) >= 4
    assert len(set(shown)) >= 4, "the answer grows step by step"
    assert STARTED not in shown[1] and STARTED in shown[-1]


def test_figure_shows_the_whole_row_with_the_cited_year_marked(app):
    _, (chat, _, panel, _) = ask(app, "令和元年度のトータルコストは？")
    assert "323千円" in chat[-1]["content"]
    assert "<caption>トータルコスト(A)+(B)（単位: 千円）</caption>" in panel
    # Each year in the era in force, then as the sheet prints it (a Heisei form's 31 and 32 are 令和).
    for year in ("平成28年度（28年度実績）", "平成29年度（29年度実績）", "平成30年度（30年度実績）",
                 "令和元年度（31年度実績）", "令和2年度（32年度見込）"):
        assert f"<th>{year}</th>" in panel
    assert panel.count('class="hyoka-cited"') == 1
    assert "<td>334</td><td class=\"hyoka-cited\"><mark>323</mark></td><td>323</td>" in panel


def test_follow_up_passes_the_history(indexed):
    settings, store = indexed
    rec = Recording(store)
    app = HyokaApp(rec, store, settings, stream_delay=0)
    _, (chat, turns, _, _) = ask(app, "栃木県市町村情報化推進協議会参画事業はいつ始まったのですか")
    _, (chat, turns, panel, _) = ask(app, "担当部署は？", chat, turns)
    question, history, _ = rec.calls[-1]
    assert question == "担当部署は？"
    assert [m.role for m in history] == ["user", "assistant"]
    assert history[0].content.endswith("いつ始まったのですか") and STARTED in history[1].content
    assert "総務部 情報政策課" in chat[-1]["content"]
    assert len(chat) == 4 and len(turns) == 2
    assert 'id="hyoka-src-1-1"' in panel and 'id="hyoka-src-0-1"' in panel, "older turns stay in the panel"


def test_filters_reach_the_assistant(indexed):
    settings, store = indexed
    rec = Recording(store)
    app = HyokaApp(rec, store, settings, stream_delay=0)
    _, (chat, *_) = ask(app, "事業の目的は何ですか", None, None, "", "情報政策", "2020")
    assert rec.calls[-1][2] == Filters(municipality="", department="情報政策", fiscal_year=2020)
    assert "目的" in chat[-1]["content"]
    _, (chat, *_) = ask(app, "事業の目的は何ですか", None, None, "", "福祉課", "")
    assert "見つかりません" in chat[-1]["content"]
    assert parse_filters(None, " 課 ", "（すべて）") == Filters(department="課")


def test_notice_is_shown(indexed):
    settings, store = indexed
    canned = Answer(status=Status.ANSWERED, answer="回答です。", notice="LLM に接続できないため、抽出型の回答に切り替えました。")
    app = HyokaApp(Canned(store, canned), store, settings, stream_delay=0)
    _, (chat, *_) = ask(app, "質問")
    assert "LLM に接続できないため" in chat[-1]["content"]
    assert app.api_ask("質問")["notice"].startswith("LLM")


def test_errors_are_plain_japanese(indexed, caplog):
    settings, store = indexed
    app = HyokaApp(Canned(store, StoreError("索引を読み込めません")), store, settings, stream_delay=0)
    _, (chat, turns, _, _) = ask(app, "質問")
    assert "索引を読み込めません" in chat[-1]["content"]
    assert turns[-1]["answer"] == "", "a failed turn is not history for a follow-up"
    app = HyokaApp(Canned(store, RuntimeError("boom in chroma")), store, settings, stream_delay=0)
    with caplog.at_level(logging.ERROR, logger="hyoka.app"):
        _, (chat, *_) = ask(app, "質問")
        api = app.api_ask("質問")
    shown = chat[-1]["content"] + str(api)
    assert UNEXPECTED.split("。")[0] in chat[-1]["content"] and api["status"] == "error"
    assert "boom" not in shown and "Traceback" not in shown and "RuntimeError" not in shown
    assert "boom in chroma" in caplog.text, "the real error goes to the server log"


def test_empty_question_does_nothing(app):
    _, (chat, turns, _, _) = ask(app, "   ")
    assert chat == [] and turns == []


# --- catalogue, empty store, upload ---------------------------------------------------------------
def test_catalogue_lists_the_sheets(app):
    rows = app.catalogue()
    # The sample names no municipality (不明); its year is 令和2年度, never the 平成32年度 that did not exist.
    assert rows == [[PROJECT, "不明", "総務部 情報政策課 情報管理係", "令和2年度", "tochigi-joho-kyogikai.txt", "公式"]]
    assert app.empty_notice() == ""
    notice, table, _, _, years, *_ = app.refresh()
    assert notice["visible"] is False and table == rows
    assert ("2020年度（令和2年度）", "2020") in years["choices"]


def test_empty_store_explains_how_to_ingest(tmp_path):
    settings = Settings(home=tmp_path)
    store = build_store(settings)
    app = HyokaApp(Assistant(store), store, settings, stream_delay=0)
    notice = app.empty_notice()
    assert "hyoka ingest フォルダ" in notice and "アップロード" not in notice
    _, (chat, *_) = ask(app, "この事業はいつ始まったのですか")
    assert "取り込まれていません" in chat[-1]["content"]
    upload = Settings(home=tmp_path, allow_upload=True)
    assert "アップロード" in HyokaApp(Assistant(store), store, upload).empty_notice()


def test_upload_is_off_by_default(app, tmp_path):
    assert not app.settings.upload_enabled()
    demo = app.build()
    assert not any(isinstance(b, gr.File) for b in demo.blocks.values())
    bad = tmp_path / "x.json"
    bad.write_text("{}", encoding="utf-8")
    assert "アップロードは無効です" in app.upload([str(bad)])


@pytest.mark.slow
def test_upload_reports_each_file_in_japanese(tmp_path):
    settings = Settings(home=tmp_path / "home", allow_upload=True)
    store = build_store(settings)
    app = HyokaApp(Assistant(store), store, settings, stream_delay=0)
    assert any(isinstance(b, gr.File) for b in app.build().blocks.values())
    bad = tmp_path / "broken.json"
    bad.write_text("{oops", encoding="utf-8")
    odd = tmp_path / "notes.exe"
    odd.write_text("x", encoding="utf-8")
    good = next(sample_dir().glob("*.txt"))
    steps: list[tuple] = []
    report = app.upload([str(bad), str(odd), str(good)], lambda *a, **k: steps.append((a, k)))
    assert "broken.json" in report and "JSON として読めません" in report
    assert "notes.exe" in report and "対応していない形式" in report
    assert f"{good.name}**: 追加 1 シート" in report
    assert str(settings.home) not in report, "files are named, not their server paths"
    assert "Traceback" not in report and "Error" not in report
    assert steps and steps[-1][1]["desc"] == "完了"
    assert app.catalogue()[0][0] == PROJECT
    again = app.upload([str(good)])
    assert f"{good.name}**: 変更なし" in again


def test_upload_api_takes_only_files_gradio_received(tmp_path):
    settings = Settings(home=tmp_path / "home", allow_upload=True)
    store = build_store(settings)
    app = HyokaApp(Assistant(store), store, settings, stream_delay=0)
    secret = tmp_path / "secret.txt"
    secret.write_text("x", encoding="utf-8")
    out = app.api_upload([{"path": str(secret), "orig_name": "secret.txt"}, {"path": "/etc/passwd"}], "")
    assert out["status"] == "error" and [f["status"] for f in out["files"]] == ["failed", "failed"]
    assert "アップロードされたファイルではありません" in out["files"][0]["message"]
    assert not (settings.home / "uploads").exists() and secret.exists()


def test_auth_from_settings(app, tmp_path):
    assert app.auth() is None
    s = Settings(home=tmp_path, ui={"user": "kansa", "password": "pw"})
    assert HyokaApp(app.assistant, app.store, s).auth() == ("kansa", "pw")
    half = Settings(home=tmp_path, ui={"password": "pw"})
    with pytest.raises(UserInputError, match="HYOKA_UI__USER が設定されていません"):
        HyokaApp(app.assistant, app.store, half).auth()


# --- the newcomer's path -------------------------------------------------------------------------
def test_examples_come_from_the_store_and_every_one_answers(app):
    examples = app.examples()
    assert len(examples) >= 3 and all(PROJECT in q for q in examples)
    for q in examples:
        assert app.ask(q).status == Status.ANSWERED, q


def test_a_refusal_highlights_nothing(app):
    _, (chat, turns, panel, _) = ask(app, f"{PROJECT}の令和5年度のトータルコストは？")
    assert "記載がありません" in chat[-1]["content"]
    assert "hyoka-cited" not in panel and "<mark>" not in panel, "a refusal marks no cell"
    assert "トータルコスト" in panel, "the row is still shown, to say what the sheet has"


def test_sources_show_provenance_and_open_the_whole_sheet(app):
    _, (_, _, panel, _) = ask(app, "令和元年度のトータルコストは？")
    assert "公式（管理者が取り込み" in panel
    [sheet_id] = [r.sheet_id for r in app.store.catalogue()]
    assert f'data-sheet="{sheet_id}"' in panel and "シート全体を見る" in panel


def test_sheet_viewer_shows_every_section_and_table(app):
    [row] = app.store.catalogue()
    ps = app.store.sheet(row.sheet_id)
    html = app.sheet_view(row.sheet_id)
    assert "公式（管理者が取り込み" in html
    for n in ps.narratives:
        assert f'id="hyoka-rec-{n.record_id}"' in html
    for (table, label), cells in ps.rows().items():
        assert label.replace("&", "&amp;") in html and f"<caption>{table}</caption>" in html
        assert all(f'id="hyoka-rec-{c.record_id}"' in html for c in cells[:1])
    cell = next(c for c in ps.cells if c.value_text == "323")
    assert html.count("hyoka-cited") == 0
    marked = app.sheet_view(row.sheet_id, cell.record_id)
    assert marked.count('class="hyoka-cited"') == 1
    assert "見つかりません" in app.sheet_view("nope") and app.sheet_view("") == V.EMPTY


def test_a_filter_that_excludes_everything_is_named_in_the_answer(app):
    _, (chat, *_) = ask(app, "事業の目的は何ですか", None, None, "", "福祉課", "")
    assert "絞り込み（担当部署: 福祉課）に当てはまるシートがありません" in chat[-1]["content"]
    api = app.api_ask("事業の目的は何ですか", "", "", "2031")
    assert "評価年度: 2031年度" in api["notice"]


# --- bounded work ----------------------------------------------------------------------------------
def test_a_20000_character_question_is_refused_within_seconds(app):
    import time

    t0 = time.perf_counter()
    _, (chat, turns, _, _) = ask(app, "トータルコストは？" * 2300)
    api = app.api_ask("あ" * 20000)
    assert time.perf_counter() - t0 < 5
    assert "質問が長すぎます" in chat[-1]["content"] and turns[-1]["answer"] == ""
    assert len(chat[-2]["content"]) < 400, "the page shows the start of the question, not all of it"
    assert api["status"] == "error" and "上限 1,000 文字" in api["answer"]


class Slow(Assistant):
    def ask(self, question, history=None, filters=None):
        import time

        time.sleep(2)
        return super().ask(question, history, filters)


def test_an_answer_over_its_time_budget_is_stopped(indexed):
    settings, store = indexed
    quick = settings.model_copy(update={"limits": settings.limits.model_copy(update={"answer_seconds": 0.3})})
    app = HyokaApp(Slow(store), store, quick, stream_delay=0)
    _, (chat, *_) = ask(app, "この事業はいつ始まったのですか")
    assert "時間がかかりすぎた" in chat[-1]["content"]
    assert app.api_ask("この事業はいつ始まったのですか")["status"] == "error"


# --- presenter ------------------------------------------------------------------------------------
def test_sheet_text_is_escaped():
    assert P.highlight("a<b>c&d", "<b>") == "a<mark>&lt;b&gt;</mark>c&amp;d"
    assert P.highlight("<i>x</i>", "missing") == "&lt;i&gt;x&lt;/i&gt;"
    md = P.chat_markdown("<script>alert(1)</script> *x* [2]", 3)
    assert "<script>" not in md and "\\*x\\*" in md and "(#hyoka-src-3-2)" in md
    md = P.chat_markdown("「![x](http://evil.example/a.png) と [ここ](https://evil.example) を参照」[1]", 0)
    assert "![" not in md and md.count("](") == 1 and "\\!\\[x\\]\\(" in md, md  # the one is [1]'s
    assert "http://" not in md and "https://" not in md, "no bare URL for the autolinker either"
    assert "[\\[1\\]](#hyoka-src-0-1)" in md, "the citation stays a link"
    assert "".join(P.chunks("あ、い[1]です。\nう")) == "あ、い[1]です。\nう"
    assert P.message_text([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]) == "ab"


# --- end to end -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_served_app_answers_through_gradio_client(app):
    from gradio_client import Client

    port = free_port()
    app.launch("127.0.0.1", port, block=False)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.status == 200
            page = resp.read().decode("utf-8")
            assert resp.headers["Content-Security-Policy"] == "img-src 'self' data: blob:"
            assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert 'lang="ja"' in page and 'lang="en"' not in page and "navigator,'languages'" in page
        # uploads are off: Gradio's upload route takes nothing
        body = b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\nhello\r\n--b--\r\n"
        req = urllib.request.Request(f"http://127.0.0.1:{port}/gradio_api/upload", data=body,
                                     headers={"Content-Type": "multipart/form-data; boundary=b"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        assert refused.value.code == 403
        assert not [p for p in app.temp_dir().rglob("*") if p.is_file()]
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        result = client.predict("この事業はいつ始まったのですか", "", "", "", api_name="/ask")
        assert result["status"] == "answered" and STARTED in result["answer"]
        assert result["citations"][0]["project_name"] == PROJECT
        assert result["citations"][0]["source"].startswith("tochigi-joho-kyogikai.txt#")
        assert "<mark>" in result["sources_html"] and STARTED in result["sources_html"]
    finally:
        app.close()


def test_llm_mode_streams_then_shows_the_guarded_fallback(indexed):
    """The model streams a made-up figure: the chat ends with the extractive answer and the notice."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from assistant.llm import LLMAssistant

    settings, store = indexed
    model = GenericFakeChatModel(messages=iter([AIMessage(content="トータルコストは 99,999千円です[1]。")]))
    app = HyokaApp(LLMAssistant(Assistant(store), model), store, settings, stream_delay=0)
    steps = list(app.respond("栃木県市町村情報化推進協議会参画事業の平成30年度のトータルコストは？", [], []))
    streamed = [s[0][-1]["content"] for s in steps[1:-1]]
    final = steps[-1][0][-1]["content"]
    assert any("99" in s for s in streamed)          # the model's text was shown as it streamed
    assert "99,999" not in final and "334" in final  # ... and replaced by the checked answer
    assert "お知らせ" in final and "出典にない数値" in final  # the notice says why the model's text was replaced
