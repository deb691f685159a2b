"""The chat UI: a thin Gradio adapter over an Assistant built elsewhere.

HyokaApp takes the assistant, the store and the settings; build() makes the Blocks, launch() serves
them. Handlers are plain methods, so tests call them without a server. Errors are translated here,
at the edge: a HyokaError shows its Japanese message, anything else is logged and shown as a
generic Japanese sentence. No traceback, internal path or exception class reaches the page.

Work is bounded per request (assistant/bounds.py): questions over the length limit are refused,
answers have a time budget, and the queue works on a few requests at once. Uploads (off unless
HYOKA_ALLOW_UPLOAD=1) go through assistant/intake.py; the network edge is assistant/webguard.py.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData
from gradio.events import api as gr_api
from gradio.themes import Base, Soft
from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from assistant import presenter as P
from assistant import viewer as V
from assistant.answer import Answer, Status
from assistant.bounds import QuestionRefused, call_within, check_question, stream_within, trim_history
from assistant.examples import example_questions
from assistant.intake import Intake, Outcome, Received, report_markdown
from assistant.messages import History, Message
from assistant.protocols import Assistant
from assistant.settings import Settings
from assistant.webguard import Guard, LoginLimiter, checker, listen_check, login_pair
from ingest.errors import HyokaError
from vectorstore.provenance import ADMIN
from vectorstore.store import Filters, Store

log = logging.getLogger("hyoka.app")

TITLE = "hyoka 事務事業評価シート アシスタント"
INTRO = ("自治体の事務事業評価シートについて日本語で質問できます。回答の [1] などの番号を押すと、"
         "根拠になった記載が「出典」欄に表示されます（画面が狭いときは会話の下にあります）。"
         "シート全体は「シートを読む」タブで読めます。")
UNEXPECTED = "予期しないエラーが発生しました。時間をおいて再度お試しください。解決しない場合は管理者に連絡してください（詳細はサーバーのログにあります）。"
STREAM_DELAY = 0.02  # seconds between streamed pieces; the answer itself is ready at once
N_EXAMPLES = 4
HISTORY_CHARS = 4000

CSS = """
.hyoka-answer-table { border-collapse: collapse; font-size: 0.85em; margin: 0 0 10px 0; width: 100%; }
.hyoka-answer-table th, .hyoka-answer-table td { border: 1px solid var(--border-color-primary); padding: 2px 6px; }
.hyoka-answer-table td.hyoka-num { text-align: right; white-space: nowrap; }
.hyoka-page summary, .hyoka-pages { cursor: pointer; font-size: 0.85em; margin: 4px 0; }
.hyoka-src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin: 0 0 10px 0; scroll-margin-top: 12px; overflow-wrap: anywhere; }
.hyoka-src:target, .hyoka-src.hyoka-flash { outline: 3px solid var(--color-accent); }
.hyoka-src-head { font-weight: 600; }
.hyoka-src-n { color: var(--color-accent); margin-right: 4px; }
.hyoka-src-where { font-weight: 400; margin-left: 8px; color: var(--body-text-color-subdued); }
.hyoka-src-label, .hyoka-src-file, .hyoka-src-note, .hyoka-src-prov { font-size: 0.85em;
  color: var(--body-text-color-subdued); }
.hyoka-open-sheet { margin-left: 6px; white-space: nowrap; }
.hyoka-quote { margin: 6px 0; padding-left: 8px; border-left: 3px solid var(--color-accent); }
.hyoka-section-text { font-size: 0.9em; max-height: 14em; overflow-y: auto; white-space: pre-wrap; }
.hyoka-row-wrap, .hyoka-sheet-table-wrap { max-width: 100%; overflow-x: auto; }
.hyoka-row, .hyoka-sheet-table { border-collapse: collapse; font-size: 0.85em; margin-top: 6px; }
.hyoka-row caption, .hyoka-sheet-table caption { text-align: left; font-weight: 600; }
.hyoka-row th, .hyoka-row td, .hyoka-sheet-table th, .hyoka-sheet-table td {
  border: 1px solid var(--border-color-primary); padding: 2px 6px; text-align: right; }
.hyoka-sheet-table tbody th { text-align: left; font-weight: 400; }
td.hyoka-cited, .hyoka-sheet-section.hyoka-cited { background: #fff3b0; font-weight: 700; }
.dark td.hyoka-cited, .dark .hyoka-sheet-section.hyoka-cited { background: #5c4d00; }
td.hyoka-cited mark { background: transparent; }
.hyoka-turn summary { cursor: pointer; font-weight: 600; margin: 4px 0; }
.hyoka-sources-empty, .hyoka-viewer-empty { color: var(--body-text-color-subdued); }
.hyoka-sheet-head th { text-align: left; padding-right: 12px; white-space: nowrap; vertical-align: top; }
.hyoka-sheet-section { margin: 8px 0; padding: 4px 6px; border-radius: 6px; scroll-margin-top: 12px; }
.hyoka-sheet-section h4 { margin: 0 0 2px 0; }
.hyoka-sheet-label { font-weight: 400; font-size: 0.85em; margin-left: 8px; color: var(--body-text-color-subdued); }
.hyoka-sheet-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.hyoka-unofficial-note { border: 2px solid #c0392b; padding: 6px 8px; border-radius: 6px; margin-bottom: 8px; }
.hyoka-hidden { display: none !important; }
#hyoka-examples button { white-space: normal; text-align: left; height: auto; }
#hyoka-chat .icon-button-wrapper.top-panel { display: none; }  /* its clear icon sat over the first message */
@media (max-width: 640px) {
  .tab-container button { padding-left: 6px !important; padding-right: 6px !important; }
  #hyoka-chat { height: 60vh !important; }
  .hyoka-src-where { display: block; margin-left: 0; }
}
"""

# Citation links scroll the sources panel instead of navigating (Gradio's Markdown opens links in a
# new tab); 「シート全体を見る」 asks the server for the viewer through a hidden button (whose event
# reads the request from window.hyokaOpenRequest), then scrolls the viewer to the cited record.
HEAD = """
<script>
document.addEventListener("click", function (ev) {
  const open = ev.target.closest && ev.target.closest("a.hyoka-open-sheet");
  if (open) {
    ev.preventDefault(); ev.stopPropagation();
    window.hyokaOpenRequest = JSON.stringify({sheet: open.dataset.sheet, record: open.dataset.record || ""});
    const btn = document.getElementById("hyoka-open-btn");
    if (btn) btn.click();
    const rec = open.dataset.record;
    if (rec) {
      let tries = 0;
      const timer = setInterval(function () {
        const el = document.getElementById("hyoka-rec-" + rec);
        if (el || ++tries > 50) { clearInterval(timer); if (el) el.scrollIntoView({block: "center"}); }
      }, 100);
    }
    return;
  }
  const a = ev.target.closest && ev.target.closest('a[href^="#hyoka-src-"]');
  if (!a) return;
  ev.preventDefault(); ev.stopPropagation();
  const el = document.getElementById(a.getAttribute("href").slice(1));
  if (!el) return;
  const d = el.closest("details"); if (d) d.open = true;
  el.scrollIntoView({behavior: "smooth", block: "center"});
  el.classList.add("hyoka-flash"); setTimeout(function () { el.classList.remove("hyoka-flash"); }, 1500);
}, true);
</script>
"""

# Gradio's own labels that its Japanese translation lacks (the rest it has), by its i18n keys.
GRADIO_JA = {
    "chatbot.copy_message": "メッセージをコピー", "chatbot.copied_message": "コピーしました",
    "chatbot.complete": "完了", "common.complete": "完了", "chat_interface.conversation": "会話", "chat_interface.chatbot": "チャット",
    "common.progress": "進み具合", "common.download_all": "すべてダウンロード",
    "dataframe.filter": "絞り込み", "dataframe.clear_filter": "絞り込みを解除",
    "status.queue_position": "順番待ち: {size} 件中 {position} 番目",
}
# Labels Gradio writes into the page without a translation key: rewritten as they appear.
ARIA_JA = r"""
<script>
(function () {
  const fixed = {"More tabs": "ほかのタブ", "chatbot conversation": "会話", "Copy message": "メッセージをコピー",
    "Open cell menu": "セルのメニューを開く", "File upload": "ファイルのアップロード",
    "Click to upload or drop files": "クリックしてファイルを選ぶか、ここにドロップしてください",
    "Remove": "削除", "Clear": "クリア", "Download": "ダウンロード", "Fullscreen": "全画面表示",
    "Exit fullscreen mode": "全画面表示を終了", "Copy": "コピー", "Copied!": "コピーしました"};
  const roles = [[/^user's message: /, "質問: "], [/^bot's message: /, "回答: "],
    // The charts' accessibility text, as Vega writes it.
    [/^Vega visualization$/, "グラフ"],
    [/^([XY])-axis titled '([^']*)' for a \w+ scale with /, (m, a, t) => (a === "X" ? "横軸" : "縦軸") + "「" + t + "」: "],
    [/^([XY])-axis for a \w+ scale with /, (m, a) => (a === "X" ? "横軸" : "縦軸") + ": "],
    [/(\d+) values?: /, "$1 項目: "], [/values from (.+) to (.+)$/, "$1 〜 $2"],
    [/^Title text '([^']*)'$/, "見出し「$1」"], [/^(\w+) mark container$/, "グラフの図形"],
    [/^Legend titled '([^']*)'.*$/, "凡例「$1」"]];
  function fix(el) {
    for (const attr of ["aria-label", "title"]) {
      const v = el.getAttribute && el.getAttribute(attr);
      if (!v) continue;
      let w = fixed[v] || v;
      for (const [re, ja] of roles) w = w.replace(re, ja);
      if (w !== v) el.setAttribute(attr, w);
    }
  }
  function sweep(root) {
    if (root.nodeType !== 1) return;
    fix(root);
    root.querySelectorAll("[aria-label],[title]").forEach(fix);
  }
  new MutationObserver(function (records) {
    for (const r of records) {
      if (r.type === "attributes") fix(r.target); else r.addedNodes.forEach(sweep);
    }
  }).observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                         attributeFilter: ["aria-label", "title"]});
  document.addEventListener("DOMContentLoaded", function () { sweep(document.body); });
})();
</script>
"""

Progress = Callable[..., object]


class HyokaApp:
    """The Gradio app. Handlers return plain values; only build() and launch() know Gradio's layout."""

    def __init__(self, assistant: Assistant, store: Store, settings: Settings,
                 stream_delay: float = STREAM_DELAY) -> None:
        self.assistant = assistant
        self.store = store
        self.settings = settings
        self.limits = settings.limits
        self.stream_delay = stream_delay
        self.demo: gr.Blocks | None = None
        self.intake = Intake(store, settings.limits.files(), settings.limits.sandbox(),
                             settings.limits.upload_files, settings.limits.upload_wait_seconds,
                             settings.embedding.unit_kinds())
        self._examples: tuple[int, list[str]] = (-1, [])

    # --- asking -------------------------------------------------------------------------
    def ask(self, question: str, history: History | None = None, filters: Filters | None = None) -> Answer:
        """The assistant's answer within the limits; errors raise (HyokaError or otherwise)."""
        q = check_question(question, self.limits.question_chars)
        hist = trim_history(history, self.limits.history_messages, HISTORY_CHARS)
        answer = call_within(self.limits.answer_seconds, lambda: self.assistant.ask(q, history=hist, filters=filters))
        return self._with_filter_notice(answer, filters)

    def respond(self, message: str, chat: list[dict] | None, turns: list[dict] | None,
                municipality: str = "", department: str = "", fiscal_year: str = "",
                ) -> Iterator[tuple[list[dict], list[dict], str, str]]:
        """Chat handler: yields (chat, turns, sources panel, textbox) while the answer streams in."""
        chat = list(chat or [])
        turns = list(turns or [])
        question = (message or "").strip() if isinstance(message, str) else ""
        if not question:
            yield chat, turns, P.turns_html(turns), ""
            return
        shown_q = question if len(question) <= 300 else question[:300] + f"…（全 {len(question):,} 文字）"
        chat.append({"role": "user", "content": P.md_escape(shown_q)})
        try:
            question = check_question(question, self.limits.question_chars)
        except QuestionRefused as exc:
            yield self._error_turn(chat, turns, shown_q, exc.message_ja)
            return
        yield chat + [{"role": "assistant", "content": "…"}], turns, P.turns_html(turns), ""
        history = trim_history([m for t in turns if t["answer"] for m in (
            Message(role="user", content=t["question"]), Message(role="assistant", content=t["answer"]))],
            self.limits.history_messages, HISTORY_CHARS)
        turn = len(turns)
        filters = parse_filters(municipality, department, fiscal_year)
        shown = ""
        answer: Answer | None = None
        panel = P.turns_html(turns)  # earlier turns' sources: unchanged while this answer streams
        try:
            # Deltas as the assistant streams them (an LLM's tokens, or the extractive answer's
            # sentences); the final Answer's text replaces them, since a guard fallback may differ.
            for item in stream_within(self.limits.answer_seconds,
                                      lambda: self.assistant.ask_stream(question, history, filters)):
                if isinstance(item, Answer):
                    answer = item
                    break
                for piece in P.chunks(item):
                    shown += piece
                    yield chat + [{"role": "assistant", "content": P.chat_markdown(shown, turn, "")}], \
                        turns, panel, ""
                    if self.stream_delay:
                        time.sleep(self.stream_delay)
        except HyokaError as exc:
            yield self._error_turn(chat, turns, question, exc.message_ja)
            return
        except Exception:
            log.exception("answering %r failed", question[:200])
            yield self._error_turn(chat, turns, question, UNEXPECTED)
            return
        if answer is None:
            log.error("the assistant streamed no final answer for %r", question[:200])
            yield self._error_turn(chat, turns, question, UNEXPECTED)
            return
        answer = self._with_filter_notice(answer, filters)
        turns.append({"question": question, "answer": answer.answer, "sources": self._sources(answer, turn),
                      "chart": P.chart_rows(answer.chart)})
        chat.append({"role": "assistant", "content": P.chat_markdown(answer.answer, turn, answer.notice)})
        yield chat, turns, P.turns_html(turns), ""

    def _sources(self, answer: Answer, turn: int) -> str:
        table = P.answer_table_html(answer, turn) if answer.status is Status.ANSWERED else ""
        return table + P.sources_html(answer.citations, self.store.sheet, turn,
                                      highlight=answer.status is Status.ANSWERED, provenance=self.origin_label)

    def charts(self, turns: list[dict] | None) -> tuple[dict, dict]:
        """The last answer's chart: bars for a ranking or comparison, a line for a row over the years;
        hidden when the answer has none. Each point is labelled with its citation number."""
        import pandas as pd

        chart = (turns or [{}])[-1].get("chart") if turns else None
        hidden = gr.update(visible=False, value=None)
        if not chart:
            return hidden, hidden
        unit = f"（{chart['unit']}）" if chart["unit"] else ""
        if chart["kind"] == "line":
            frame = pd.DataFrame({"年度": chart["x"], "値": chart["y"]})
            return hidden, gr.update(visible=True, value=frame, title=chart["title"], y_title=f"値{unit}")
        frame = pd.DataFrame({"項目": chart["x"], "値": chart["y"]})
        # Bars start at zero: a cut axis makes one value look a tenth of another.
        lo, hi = min(0.0, *chart["y"]), max(0.0, *chart["y"])
        return gr.update(visible=True, value=frame, title=chart["title"], y_title=f"値{unit}",
                         y_lim=[lo, hi * 1.05 if hi else 1.0]), hidden

    def _error_turn(self, chat: list[dict], turns: list[dict], question: str, message: str):
        # Recorded with an empty answer so it never becomes history for a follow-up.
        turns = turns + [{"question": question, "answer": "", "sources": P.sources_html((), self.store.sheet, 0)}]
        return chat + [{"role": "assistant", "content": P.error_markdown(message)}], turns, P.turns_html(turns), ""

    def _with_filter_notice(self, answer: Answer, filters: Filters | None) -> Answer:
        """A refusal under an active filter says so, and says when the filter leaves no sheet at all."""
        if answer.status is Status.ANSWERED or filters is None or answer.notice:
            return answer
        active = filter_words(filters)
        if not active:
            return answer
        if not any(filters.allows(r) for r in self.store.catalogue()):
            note = f"絞り込み（{active}）に当てはまるシートがありません。絞り込みを解除するか、条件を変えてください。"
        else:
            note = f"絞り込み（{active}）の範囲で探しました。解除すると見つかるかもしれません。"
        return answer.model_copy(update={"notice": note})

    def api_ask(self, question: str, municipality: str = "", department: str = "", fiscal_year: str = "") -> dict:
        """Answer one question: status, answer, notice, citations and the sources panel's HTML."""
        try:
            answer = self.ask(question, None, parse_filters(municipality, department, fiscal_year))
        except HyokaError as exc:
            return {"status": "error", "answer": exc.message_ja, "notice": "", "citations": [], "sources_html": ""}
        except Exception:
            log.exception("answering %r failed", str(question)[:200])
            return {"status": "error", "answer": UNEXPECTED, "notice": "", "citations": [], "sources_html": ""}
        out = answer.contract()
        out["notice"] = answer.notice
        out["sources_html"] = self._sources(answer, 0)
        return out

    # --- provenance, catalogue, examples ------------------------------------------------
    def origin_label(self, sheet_id: str) -> str:
        prov = self.store.provenance([sheet_id]).get(sheet_id)
        if prov is None:
            return "公式（管理者が取り込み）"
        return prov.label()

    def empty_notice(self) -> str:
        return "" if self.store.catalogue() else P.empty_store_markdown(self.settings.upload_enabled())

    def catalogue(self) -> list[list[str]]:
        return self._catalogue()[0]

    def _catalogue(self) -> tuple[list[list[str]], list[str]]:
        """Rows of the catalogue tab and the sheet (or unofficial version) each row opens."""
        rows = self.store.catalogue()
        origins = {sid: "公式" if o == ADMIN else (f"アップロード（{u}）" if u else "アップロード")
                   for sid, (o, u) in self.store.origins().items()}
        table = P.catalogue_rows(rows, origins)
        ids = [r.sheet_id for r in rows]
        for u in self.store.unofficial():
            table.append([u.project_name, u.municipality or "—", u.department or "—", u.fiscal_year_label or "—",
                          u.file_name, "非公式版（回答には使いません）"])
            ids.append(V.UNOFFICIAL_PREFIX + u.version_id)
        return table, ids

    def examples(self) -> list[str]:
        """Questions the store answers, recomputed when the store changes."""
        gen = self.store.generation()
        if self._examples[0] != gen:
            rows = sorted(self.store.catalogue(), key=lambda r: (-(r.n_cells + r.n_narratives), r.project_name))
            sheets = [ps for ps in (self.store.sheet(r.sheet_id) for r in rows[:3]) if ps is not None]
            self._examples = (gen, example_questions(sheets, self.assistant, N_EXAMPLES))
        return self._examples[1]

    def refresh(self):
        """Values for the page after a load or an ingest: notice, catalogue, filters, viewer, examples."""
        notice = self.empty_notice()
        rows = self.store.catalogue()
        table, ids = self._catalogue()
        examples = self.examples()
        buttons = [gr.update(value=examples[i], visible=True) if i < len(examples) else gr.update(visible=False)
                   for i in range(N_EXAMPLES)]
        return (gr.update(value=notice, visible=bool(notice)), table, ids,
                gr.update(choices=P.municipality_choices(self.store.municipalities())),
                gr.update(choices=P.year_choices(rows)),
                gr.update(choices=V.choices(rows, self.store.unofficial())),
                gr.update(visible=bool(examples)), *buttons)

    # --- the sheet viewer ---------------------------------------------------------------
    def sheet_view(self, value: str | None, focus: str = "") -> str:
        """The viewer's HTML for a sheet id (or an unofficial version, "u:<id>")."""
        if not value:
            return V.EMPTY
        if value.startswith(V.UNOFFICIAL_PREFIX):
            vid = value.removeprefix(V.UNOFFICIAL_PREFIX)
            ps, u = self.store.unofficial_sheet(vid)
            if ps is None or u is None:
                return '<div class="hyoka-viewer-empty">このシートは見つかりません。一覧を更新してください。</div>'
            return V.sheet_html(ps, u.label(), "", unofficial=True)
        ps = self.store.sheet(value)
        if ps is None:
            return '<div class="hyoka-viewer-empty">このシートは見つかりません（取り込み直された可能性があります）。一覧を更新してください。</div>'
        return V.sheet_html(ps, self.origin_label(value), focus)

    def _open_request(self, request: str):
        """「シート全体を見る」 in the sources panel: {"sheet": id, "record": cited record or ""}."""
        try:
            data = json.loads(request or "{}")
            sheet, record = str(data.get("sheet") or ""), str(data.get("record") or "")
        except (ValueError, AttributeError):
            sheet, record = "", ""
        return gr.update(value=sheet or None), self.sheet_view(sheet, record), gr.Tabs(selected="viewer")

    def _catalogue_select(self, ids: list[str], evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        value = ids[row] if isinstance(row, int) and 0 <= row < len(ids) else ""
        return gr.update(value=value or None), self.sheet_view(value), gr.Tabs(selected="viewer")

    # --- upload -------------------------------------------------------------------------
    def upload(self, files: list[str] | list[tuple[Path, str]] | None, progress: Progress | None = None,
               municipality: str = "", user: str = "") -> str:
        """Store the files by content hash, ingest them, report file by file (Markdown).

        `municipality` (the field beside the upload) names the city of sheets that do not name it
        themselves; the folder the files are kept in never does."""
        if not self.settings.upload_enabled():
            return "アップロードは無効です。管理者が HYOKA_ALLOW_UPLOAD=1 を設定すると使えます。"
        got = self._receive(files, progress, municipality, user)
        return report_markdown(got) if got.outcomes else "取り込むファイルを選んでください。"

    def _receive(self, files, progress: Progress | None, municipality: str, user: str,
                 refused: list[Outcome] | None = None) -> Received:
        incoming = [(Path(f), Path(f).name) if isinstance(f, str | Path) else (Path(f[0]), f[1]) for f in files or []]
        if not incoming:
            return Received(list(refused or []))

        def step(fraction: float, desc: str) -> None:
            if progress is not None:
                progress(fraction, desc=desc)

        got = self.intake.receive(incoming, user, (municipality or "").strip(), step)
        return Received(list(refused or []) + got.outcomes, got.notes)

    def api_upload(self, files: list[FileData], municipality: str = "", request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """Ingest sheet files: {"status", "files": [{"name", "status", "message"}], "notes", "report"}.

        municipality: the municipality the files belong to, when the sheets do not say."""
        if not self.settings.upload_enabled():
            return {"status": "error", "files": [], "notes": [], "report": "アップロードは無効です。"}
        incoming, refused = self._incoming(files)
        try:
            got = self._receive(incoming, None, municipality, _user(request), refused)
        finally:
            _discard(incoming)
        failed = any(o.status == "failed" for o in got.outcomes)
        return {"status": "error" if failed or not got.outcomes else "ok",
                "files": [{"name": o.name, "status": o.status, "message": o.message} for o in got.outcomes],
                "notes": got.notes,
                "report": report_markdown(got) if got.outcomes else "取り込むファイルを指定してください。"}

    def _upload_event(self, files: list[str] | None, municipality: str, request: gr.Request,
                      progress=gr.Progress()) -> str:  # noqa: B008 (Gradio's idiom)
        incoming, refused = self._incoming([{"path": f, "orig_name": Path(f).name} for f in files or []])
        try:
            got = self._receive(incoming, progress, municipality, _user(request), refused)
        finally:
            _discard(incoming)
        return report_markdown(got) if got.outcomes else "取り込むファイルを選んでください。"

    def _incoming(self, files: list) -> tuple[list[tuple[Path, str]], list[Outcome]]:
        """Files Gradio received, by path and original name. Only files inside Gradio's upload
        folder are taken: a request naming any other path on the server is refused."""
        root = Path(get_upload_folder()).resolve()
        ok, refused = [], []
        for f in files or []:
            data = f if isinstance(f, dict) else f.model_dump() if hasattr(f, "model_dump") else {"path": str(f)}
            path = Path(str(data.get("path") or ""))
            name = str(data.get("orig_name") or path.name)
            try:
                inside = path.resolve().is_relative_to(root) and path.is_file()
            except OSError:
                inside = False
            if inside:
                ok.append((path, name))
            else:
                refused.append(Outcome(Path(name).name, "failed", "ファイルを受け取れませんでした（アップロードされたファイルではありません）"))
        return ok, refused

    # --- layout -------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        upload = self.settings.upload_enabled()
        with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(600, 3600)) as demo:
            gr.Markdown(f"# {TITLE}\n{INTRO}", elem_id="hyoka-intro")
            notice = gr.Markdown(self.empty_notice(), visible=bool(self.empty_notice()), elem_id="hyoka-empty")
            with gr.Tabs(selected="ask") as tabs:
                with gr.Tab("質問する", id="ask"):
                    chat_parts = self._build_chat()
                with gr.Tab("シート一覧", id="catalogue"):
                    table_rows, table_ids = self._catalogue()
                    gr.Markdown("行を選ぶと、そのシート全体を「シートを読む」タブに表示します。")
                    table = gr.Dataframe(value=table_rows, headers=P.CATALOGUE_HEADERS, interactive=False,
                                         wrap=True, label="取り込み済みのシート", show_label=False,
                                         elem_id="hyoka-catalogue", buttons=[])
                    ids = gr.State(table_ids)
                    reload_btn = gr.Button("一覧を更新", size="sm")
                with gr.Tab("シートを読む", id="viewer"):
                    picker = gr.Dropdown(V.choices(self.store.catalogue(), self.store.unofficial()),
                                         value=None, label="シートを選ぶ", elem_id="hyoka-viewer-pick")
                    viewer = gr.HTML(V.EMPTY, label="シート", elem_id="hyoka-viewer")
                upload_parts: tuple[gr.File, gr.Textbox, gr.Button, gr.Markdown] | None = None
                if upload:
                    with gr.Tab("追加", id="upload"):
                        with gr.Row():
                            files = gr.File(label=f"評価シートのファイル（{' '.join(P.SUPPORTED_SUFFIXES)}）",
                                            file_count="multiple", file_types=list(P.SUPPORTED_SUFFIXES), scale=3)
                            upload_city = gr.Textbox(label="自治体名（シートに記載がない場合）", placeholder="例: 神戸市",
                                                     elem_id="hyoka-upload-municipality", scale=1)
                        ingest_btn = gr.Button("取り込む", variant="primary")
                        report = gr.Markdown(elem_id="hyoka-upload-report")
                        upload_parts = (files, upload_city, ingest_btn, report)
            open_request = gr.Textbox(label="シートを開く", elem_id="hyoka-open-request",
                                      elem_classes=["hyoka-hidden"], show_label=False)
            open_btn = gr.Button("シートを開く", elem_id="hyoka-open-btn", elem_classes=["hyoka-hidden"])
            c = chat_parts
            refresh_outputs = [notice, table, ids, c["municipality"], c["year"], picker, c["examples"], *c["buttons"]]
            demo.load(self.refresh, outputs=refresh_outputs, api_visibility="private")
            reload_btn.click(self.refresh, outputs=refresh_outputs, api_visibility="private")
            picker.input(lambda v: self.sheet_view(v), inputs=[picker], outputs=[viewer], api_visibility="private")
            table.select(self._catalogue_select, inputs=[ids], outputs=[picker, viewer, tabs], api_visibility="private")
            open_btn.click(self._open_request, inputs=[open_request], outputs=[picker, viewer, tabs],
                           js="(x) => window.hyokaOpenRequest || ''", api_visibility="private")
            if upload_parts is not None:
                files, upload_city, ingest_btn, report = upload_parts
                ingest_btn.click(self._upload_event, inputs=[files, upload_city], outputs=[report],
                                 api_visibility="private", concurrency_limit=1, concurrency_id="ingest") \
                    .then(lambda: None, outputs=[files], api_visibility="private") \
                    .then(self.refresh, outputs=refresh_outputs, api_visibility="private")
            gr_api(self.api_ask, api_name="ask")
            if upload:
                gr_api(self.api_upload, api_name="upload", concurrency_limit=1, concurrency_id="ingest")
        self.demo = demo
        return demo

    def _build_chat(self) -> dict:
        examples = self.examples()
        with gr.Row():
            with gr.Column(scale=3, min_width=300):
                chatbot = gr.Chatbot(label="会話", show_label=False, height=480, elem_id="hyoka-chat", buttons=["copy"],
                                     placeholder="下の欄に質問を入力するか、質問例を押してください。",
                                     feedback_options=None)
                with gr.Row():
                    box = gr.Textbox(label="質問", placeholder="例: この事業はいつ始まったのですか", show_label=False, scale=5,
                                     elem_id="hyoka-question", lines=1, max_lines=4, submit_btn=False)
                    send = gr.Button("送信", variant="primary", scale=1, min_width=80, elem_id="hyoka-send")
                with gr.Column(visible=bool(examples), elem_id="hyoka-examples") as example_box:
                    gr.Markdown("**質問例**（取り込み済みのシートから）")
                    buttons = [gr.Button(examples[i] if i < len(examples) else "", size="sm",
                                         visible=i < len(examples)) for i in range(N_EXAMPLES)]
                with gr.Accordion("絞り込み（自治体・担当部署・年度）", open=False):
                    rows = self.store.catalogue()
                    municipality = gr.Dropdown(P.municipality_choices(self.store.municipalities()), value="",
                                               label="自治体", elem_id="hyoka-filter-municipality")
                    department = gr.Textbox(label="担当部署（一部でも可）", placeholder="例: 情報政策課",
                                            elem_id="hyoka-filter-department")
                    year = gr.Dropdown(P.year_choices(rows), value="", label="評価年度", elem_id="hyoka-filter-year")
                clear = gr.Button("会話を消去", size="sm")
            with gr.Column(scale=2, min_width=300):
                bar = gr.BarPlot(visible=False, x="項目", y="値", sort=None, x_title="", x_label_angle=-30,
                                 height=300, elem_id="hyoka-bar", show_label=False)
                line = gr.LinePlot(visible=False, x="年度", y="値", sort=None, x_title="", height=280,
                                   elem_id="hyoka-line", show_label=False)
                gr.Markdown("### 出典")
                sources = gr.HTML(P.NO_SOURCES, label="出典", elem_id="hyoka-sources", max_height=720)
        turns = gr.State([])
        inputs = [box, chatbot, turns, municipality, department, year]
        outputs = [chatbot, turns, sources, box]
        box.submit(self.respond, inputs=inputs, outputs=outputs, api_visibility="private") \
            .then(self.charts, inputs=[turns], outputs=[bar, line], api_visibility="private")
        send.click(self.respond, inputs=inputs, outputs=outputs, api_visibility="private") \
            .then(self.charts, inputs=[turns], outputs=[bar, line], api_visibility="private")
        for btn in buttons:
            btn.click(lambda q: q, inputs=[btn], outputs=[box], api_visibility="private") \
                .then(self.respond, inputs=inputs, outputs=outputs, api_visibility="private") \
                .then(self.charts, inputs=[turns], outputs=[bar, line], api_visibility="private")
        clear.click(lambda: ([], [], P.NO_SOURCES, gr.update(visible=False), gr.update(visible=False)),
                    outputs=[chatbot, turns, sources, bar, line], api_visibility="private")
        return {"municipality": municipality, "year": year, "examples": example_box, "buttons": buttons}

    # --- serving ------------------------------------------------------------------------
    def auth(self) -> tuple[str, str] | None:
        """The login (user, password), or None; a half-configured login raises UserInputError."""
        return login_pair(self.settings.ui.user, self.settings.ui.password)

    def temp_dir(self) -> Path:
        """Where Gradio keeps received files: under HYOKA_HOME, emptied at every start and stop."""
        return self.settings.home / "tmp" / "gradio"

    def launch(self, host: str | None = None, port: int | None = None, block: bool = True) -> gr.Blocks:
        pair = self.auth()
        tmp = self.temp_dir()
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, exist_ok=True)
        os.environ["GRADIO_TEMP_DIR"] = str(tmp)  # read by Gradio when the app is made, below
        demo = self.demo or self.build()
        demo.queue(default_concurrency_limit=self.limits.concurrency, max_size=self.limits.queue_size)
        upload_bytes = self.limits.upload_files * self.limits.file_mb * 1024 * 1024 + 1024 * 1024
        guard = Middleware(Guard, uploads=self.settings.upload_enabled(), max_upload_bytes=upload_bytes,
                           limiter=LoginLimiter(self.limits.login_failures, self.limits.login_window_seconds))
        demo.launch(server_name=host or self.settings.ui.host, server_port=port or self.settings.ui.port,
                    auth=checker(pair) if pair else None, auth_message="ユーザー名とパスワードを入力してください。",
                    prevent_thread_lock=not block, show_error=False, quiet=True, ssr_mode=False,
                    mcp_server=False, theme=_theme(), css=CSS, head=HEAD + ARIA_JA, footer_links=[],
                    i18n=gr.I18n(ja=GRADIO_JA),
                    allowed_paths=[], max_file_size=f"{self.limits.file_mb}mb", app_kwargs={"middleware": [guard]})
        return demo

    def close(self) -> None:
        if self.demo is not None:
            self.demo.close()
        shutil.rmtree(self.temp_dir(), ignore_errors=True)


def _user(request: gr.Request | None) -> str:
    return str(getattr(request, "username", None) or "")


def _discard(incoming: list[tuple[Path, str]]) -> None:
    """Gradio's copies of received files, once stored by hash (or refused): nothing stays in tmp."""
    for path, _ in incoming:
        try:
            path.unlink(missing_ok=True)
            path.parent.rmdir()  # Gradio keeps each file in a folder of its own
        except OSError:
            pass


def _theme() -> Base:
    # Local fonts only: the default theme fetches Google Fonts, which an offline server cannot reach.
    return Soft(font=["Noto Sans CJK JP", "Noto Sans JP", "sans-serif"],
                          font_mono=["Noto Sans Mono CJK JP", "monospace"])


def parse_filters(municipality: str | None, department: str | None, fiscal_year: str | int | None) -> Filters:
    year = str(fiscal_year or "").strip()
    return Filters(municipality=(municipality or "").strip(), department=(department or "").strip(),
                   fiscal_year=int(year) if year.isdigit() else None)


def filter_words(filters: Filters) -> str:
    """The active filters in words: 「自治体: 大船渡市、担当部署: 福祉課」, or ""."""
    parts = [(k, v) for k, v in (("自治体", filters.municipality), ("担当部署", filters.department),
                                 ("評価年度", f"{filters.fiscal_year}年度" if filters.fiscal_year else "")) if v]
    return "、".join(f"{k}: {v}" for k, v in parts)


def main(settings: Settings | None = None, host: str | None = None, port: int | None = None) -> int:
    """Build the real assistant and serve the UI until interrupted."""
    from assistant.factory import build_assistant, build_store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = settings or Settings()
        host = host or settings.ui.host
        port = port or settings.ui.port
        pair = login_pair(settings.ui.user, settings.ui.password)
        warning = listen_check(host, pair is not None, settings.upload_enabled(), settings.ui.allow_anonymous)
        if warning:
            print(warning, file=sys.stderr)
        store = build_store(settings)
        store.sync_bm25(background=False)  # this home's BM25 from the records store, before the first question
        app = HyokaApp(build_assistant(settings, store), store, settings)
        print(f"hyoka: http://{host}:{port}/ で起動します（{len(store.catalogue())} シート、{settings.home}）",
              file=sys.stderr)
        app.launch(host, port, block=True)
    except HyokaError as exc:
        print(f"エラー: {exc.message_ja}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"エラー: {host}:{port} で起動できません（{exc.strerror or exc}）。--port で別のポートを指定してください。",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

