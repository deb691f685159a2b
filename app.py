"""The chat UI: a thin Gradio adapter over an Assistant built elsewhere.

HyokaApp takes the assistant, the store and the settings; build() makes the Blocks, launch() serves
them. Handlers are plain methods, so tests call them without a server. Errors are translated here,
at the edge: a HyokaError shows its Japanese message, anything else is logged and shown as a
generic Japanese sentence. No traceback reaches the page.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import gradio as gr

from assistant import presenter as P
from assistant.answer import Answer
from assistant.core import Assistant
from assistant.settings import Settings
from ingest.errors import HyokaError
from ingest.labelling import Labeller, Labels, check_municipality
from vectorstore.indexer import Indexer, IngestSummary
from vectorstore.store import Filters, Store

log = logging.getLogger("hyoka.app")

TITLE = "hyoka 事務事業評価シート アシスタント"
EXAMPLES = (
    "この事業はいつ始まったのですか",
    "令和5年度のトータルコストは？",
    "事業の目的は何ですか",
    "担当部署はどこですか",
    "トータルコストの推移を教えてください",
)
UNEXPECTED = "予期しないエラーが発生しました。時間をおいて再度お試しください。解決しない場合は管理者に連絡してください（詳細はサーバーのログにあります）。"
STREAM_DELAY = 0.02  # seconds between streamed pieces; the answer itself is ready at once

CSS = """
.hyoka-src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin: 0 0 10px 0; scroll-margin-top: 12px; }
.hyoka-src:target, .hyoka-src.hyoka-flash { outline: 3px solid var(--color-accent); }
.hyoka-src-head { font-weight: 600; }
.hyoka-src-n { color: var(--color-accent); margin-right: 4px; }
.hyoka-src-where { font-weight: 400; margin-left: 8px; color: var(--body-text-color-subdued); }
.hyoka-src-label, .hyoka-src-file, .hyoka-src-note { font-size: 0.85em; color: var(--body-text-color-subdued); }
.hyoka-quote { margin: 6px 0; padding-left: 8px; border-left: 3px solid var(--color-accent); }
.hyoka-section-text { font-size: 0.9em; max-height: 14em; overflow-y: auto; white-space: pre-wrap; }
.hyoka-row { border-collapse: collapse; font-size: 0.85em; margin-top: 6px; }
.hyoka-row caption { text-align: left; font-weight: 600; }
.hyoka-row th, .hyoka-row td { border: 1px solid var(--border-color-primary); padding: 2px 6px; text-align: right; }
.hyoka-row td.hyoka-cited { background: #fff3b0; font-weight: 700; }
.hyoka-row td.hyoka-cited mark { background: transparent; }
.hyoka-turn summary { cursor: pointer; font-weight: 600; margin: 4px 0; }
.hyoka-sources-empty { color: var(--body-text-color-subdued); }
"""

# Citation links in the chat scroll the sources panel instead of navigating (Gradio's Markdown
# opens links in a new tab).
HEAD = """
<script>
document.addEventListener("click", function (ev) {
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

Progress = Callable[..., object]


class HyokaApp:
    """The Gradio app. Handlers return plain values; only build() and launch() know Gradio's layout."""

    def __init__(self, assistant: Assistant, store: Store, settings: Settings,
                 stream_delay: float = STREAM_DELAY) -> None:
        self.assistant = assistant
        self.store = store
        self.settings = settings
        self.stream_delay = stream_delay
        self.demo: gr.Blocks | None = None

    # --- asking -------------------------------------------------------------------------
    def ask(self, question: str, history: list[dict] | None = None, filters: Filters | None = None) -> Answer:
        """The assistant's answer; errors raise (HyokaError or otherwise) for the caller to translate."""
        return self.assistant.ask(question, history=history or [], filters=filters)

    def respond(self, message: str, chat: list[dict] | None, turns: list[dict] | None,
                municipality: str = "", department: str = "", fiscal_year: str = "",
                ) -> Iterator[tuple[list[dict], list[dict], str, str]]:
        """Chat handler: yields (chat, turns, sources panel, textbox) while the answer streams in."""
        chat = list(chat or [])
        turns = list(turns or [])
        question = (message or "").strip()
        if not question:
            yield chat, turns, P.turns_html(turns), ""
            return
        chat.append({"role": "user", "content": P.md_escape(question)})
        yield chat + [{"role": "assistant", "content": "…"}], turns, P.turns_html(turns), ""
        history = [m for t in turns if t["answer"] for m in (
            {"role": "user", "content": t["question"]}, {"role": "assistant", "content": t["answer"]})]
        turn = len(turns)
        shown = ""
        answer: Answer | None = None
        panel = P.turns_html(turns)  # earlier turns' sources: unchanged while this answer streams
        try:
            # Deltas as the assistant streams them (an LLM's tokens, or the extractive answer's
            # sentences); the final Answer's text replaces them, since a guard fallback may differ.
            for item in self.assistant.ask_stream(question, history or [],
                                                  parse_filters(municipality, department, fiscal_year)):
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
            log.exception("answering %r failed", question)
            yield self._error_turn(chat, turns, question, UNEXPECTED)
            return
        if answer is None:
            log.error("the assistant streamed no final answer for %r", question)
            yield self._error_turn(chat, turns, question, UNEXPECTED)
            return
        turns.append({"question": question, "answer": answer.answer,
                      "sources": P.sources_html(answer.citations, self.store.sheet, turn)})
        chat.append({"role": "assistant", "content": P.chat_markdown(answer.answer, turn, answer.notice)})
        yield chat, turns, P.turns_html(turns), ""

    def _error_turn(self, chat: list[dict], turns: list[dict], question: str, message: str):
        # Recorded with an empty answer so it never becomes history for a follow-up.
        turns = turns + [{"question": question, "answer": "", "sources": P.sources_html((), self.store.sheet, 0)}]
        return chat + [{"role": "assistant", "content": P.error_markdown(message)}], turns, P.turns_html(turns), ""

    def api_ask(self, question: str, municipality: str = "", department: str = "", fiscal_year: str = "") -> dict:
        """Answer one question: status, answer, notice, citations and the sources panel's HTML."""
        try:
            answer = self.ask(question, None, parse_filters(municipality, department, fiscal_year))
        except HyokaError as exc:
            return {"status": "error", "answer": exc.message_ja, "notice": "", "citations": [], "sources_html": ""}
        except Exception:
            log.exception("answering %r failed", question)
            return {"status": "error", "answer": UNEXPECTED, "notice": "", "citations": [], "sources_html": ""}
        out = answer.contract()
        out["notice"] = answer.notice
        out["sources_html"] = P.sources_html(answer.citations, self.store.sheet, 0)
        return out

    # --- the catalogue ------------------------------------------------------------------
    def empty_notice(self) -> str:
        return "" if self.store.catalogue() else P.empty_store_markdown(self.settings.upload_enabled())

    def catalogue(self) -> list[list[str]]:
        return P.catalogue_rows(self.store.catalogue())

    def refresh(self):
        """Values for the page after a load or an ingest: notice, catalogue, filter choices."""
        notice = self.empty_notice()
        rows = self.store.catalogue()
        return (gr.update(value=notice, visible=bool(notice)), P.catalogue_rows(rows),
                gr.update(choices=P.municipality_choices(self.store.municipalities())),
                gr.update(choices=P.year_choices(rows)))

    # --- upload -------------------------------------------------------------------------
    def upload(self, files: list[str] | None, progress: Progress | None = None, municipality: str = "") -> str:
        """Copy the uploaded files under HYOKA_HOME/uploads, ingest them, report file by file.

        `municipality` (the field beside the upload) names the city of sheets that do not name it
        themselves; the folder the files are kept in never does."""
        if not self.settings.upload_enabled():
            return "アップロードは無効です。管理者が HYOKA_ALLOW_UPLOAD=1 を設定すると使えます。"
        paths = [Path(f) for f in (files or [])]
        if not paths:
            return "取り込むファイルを選んでください。"
        try:
            labels = Labels(check_municipality(municipality, "自治体名") if (municipality or "").strip() else "")
        except HyokaError as exc:
            return f"### 取り込み結果\n- 【失敗】{P.md_escape(exc.message_ja)}"
        lines: list[str] = []
        accepted: list[Path] = []
        folder = self.settings.home / "uploads"
        for p in paths:
            if p.suffix.lower() not in P.SUPPORTED_SUFFIXES:
                lines.append(f"- 【失敗】**{P.md_escape(p.name)}**: 対応していない形式のため取り込みません"
                             f"（対応形式: {' '.join(P.SUPPORTED_SUFFIXES)}）")
                continue
            # A stable place per file name: uploading a corrected file again updates its sheets.
            folder.mkdir(parents=True, exist_ok=True)
            dest = folder / p.name
            if p.resolve() != dest.resolve():
                shutil.copyfile(p, dest)
            accepted.append(dest)
        if accepted:
            lines += self._ingest_report(accepted, progress, labels)
        return "### 取り込み結果\n" + "\n".join(lines)

    def _ingest_report(self, paths: list[Path], progress: Progress | None, labels: Labels | None = None) -> list[str]:
        def step(i: int, n: int, path: str) -> None:
            if progress is not None:
                progress((i - 1, n), desc=f"{Path(path).name} を読み込み中（{i}/{n}）")

        before = self.store.db.sheet_hashes()
        try:
            summary = Indexer(self.store).ingest(paths, step, Labeller(paths, labels or Labels()))
        except HyokaError as exc:
            return [f"- 【失敗】{P.md_escape(exc.message_ja)}"]
        except Exception:
            log.exception("ingesting %s failed", [str(p) for p in paths])
            return [f"- 【失敗】**{P.md_escape(p.name)}**: 読み込み中に予期しないエラーが発生しました（詳細はサーバーのログにあります）"
                    for p in paths]
        if progress is not None:
            progress((len(paths), len(paths)), desc="完了")
        return self._summary_lines(summary, before)

    def _summary_lines(self, summary: IngestSummary, before: dict[str, str]) -> list[str]:
        after = self.store.db.sheet_hashes()
        outcome: dict[str, str] = {}
        for path, status, _ in summary.files:
            row = self.store.db.file(str(Path(path).resolve())) if status == "indexed" else None
            if row is not None:
                outcome[path] = P.indexed_outcome(row.sheet_ids, before, after)
        reasons = {p: self._shown_text(msg) for p, msg in summary.failed + summary.skipped}
        lines = list(P.file_report_lines(summary.files, outcome, reasons, lambda p: Path(p).name))
        lines += [f"- 【重複】{P.md_escape(self._shown_text(d))}" for d in summary.duplicates]
        for project, warnings in summary.warnings.items():
            lines.append(f"- 【確認】{P.md_escape(project)}: 数値の食い違い {len(warnings)} 件（{P.md_escape(warnings[0])}）")
        lines += [f"- 【確認】{P.md_escape(self._shown_text(n))}" for n in summary.notes]
        for path, (n_muni, n_year) in summary.unknown.items():
            name = P.md_escape(Path(path).name)
            if n_muni:
                lines.append(f"- 【確認】**{name}**: 自治体名がシートに記載されていません（{n_muni} シートを「不明」として"
                             "取り込みました）。「自治体名」欄に入れて同じファイルをもう一度取り込むと設定されます")
            if n_year:
                lines.append(f"- 【確認】**{name}**: 評価年度がシートから読み取れません（{n_year} シート、「不明」）")
        if summary.relabelled:
            lines.append(f"- 【完了】自治体名を設定しました（{summary.relabelled} シート）")
        return lines

    def _shown_text(self, text: str) -> str:
        """Messages name files by full path; the page shows just the file name."""
        folder = str(self.settings.home / "uploads") + "/"
        return text.replace(str((self.settings.home / "uploads").resolve()) + "/", "").replace(folder, "")

    # --- layout -------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        upload = self.settings.upload_enabled()
        with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
            gr.Markdown(f"# {TITLE}\n自治体の事務事業評価シートについて日本語で質問できます。"
                        "回答の [1] などの番号をクリックすると、右の「出典」に根拠の記載が表示されます。")
            notice = gr.Markdown(self.empty_notice(), visible=bool(self.empty_notice()), elem_id="hyoka-empty")
            with gr.Tabs():
                with gr.Tab("質問する"):
                    chat_parts = self._build_chat()
                with gr.Tab("取り込み済みのシート"):
                    table = gr.Dataframe(value=self.catalogue(), headers=P.CATALOGUE_HEADERS, interactive=False,
                                         wrap=True, label="取り込み済みのシート", elem_id="hyoka-catalogue")
                    reload_btn = gr.Button("一覧を更新", size="sm")
                if upload:
                    with gr.Tab("シートを追加"):
                        with gr.Row():
                            files = gr.File(label=f"評価シートのファイル（{' '.join(P.SUPPORTED_SUFFIXES)}）",
                                            file_count="multiple", file_types=list(P.SUPPORTED_SUFFIXES), scale=3)
                            upload_city = gr.Textbox(label="自治体名（シートに記載がない場合）", placeholder="例: 神戸市",
                                                     elem_id="hyoka-upload-municipality", scale=1)
                        ingest_btn = gr.Button("取り込む", variant="primary")
                        report = gr.Markdown(elem_id="hyoka-upload-report")
            municipality, year = chat_parts["municipality"], chat_parts["year"]
            refresh_outputs = [notice, table, municipality, year]
            demo.load(self.refresh, outputs=refresh_outputs, api_visibility="private")
            reload_btn.click(self.refresh, outputs=refresh_outputs, api_visibility="private")
            if upload:
                ingest_btn.click(self._upload_event, inputs=[files, upload_city], outputs=[report],
                                 api_visibility="private") \
                    .then(self.refresh, outputs=refresh_outputs, api_visibility="private")
            gr.api(self.api_ask, api_name="ask")
        self.demo = demo
        return demo

    def _build_chat(self) -> dict:
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="会話", height=480, elem_id="hyoka-chat", buttons=["copy"],
                                     placeholder="下の欄に質問を入力するか、質問例を押してください。",
                                     feedback_options=None)
                with gr.Row():
                    box = gr.Textbox(placeholder="例: この事業はいつ始まったのですか", show_label=False, scale=5,
                                     elem_id="hyoka-question", lines=1, max_lines=4, submit_btn=False)
                    send = gr.Button("送信", variant="primary", scale=1, elem_id="hyoka-send")
                gr.Markdown("**質問例**")
                with gr.Row():
                    example_btns = [(gr.Button(q, size="sm"), q) for q in EXAMPLES]
                with gr.Accordion("絞り込み（自治体・担当部署・年度）", open=False):
                    rows = self.store.catalogue()
                    municipality = gr.Dropdown(P.municipality_choices(self.store.municipalities()), value="",
                                               label="自治体", elem_id="hyoka-filter-municipality")
                    department = gr.Textbox(label="担当部署（一部でも可）", placeholder="例: 情報政策課")
                    year = gr.Dropdown(P.year_choices(rows), value="", label="評価年度")
                clear = gr.Button("会話を消去", size="sm")
            with gr.Column(scale=2):
                gr.Markdown("### 出典")
                sources = gr.HTML(P.NO_SOURCES, elem_id="hyoka-sources", max_height=720)
        turns = gr.State([])
        inputs = [box, chatbot, turns, municipality, department, year]
        outputs = [chatbot, turns, sources, box]
        box.submit(self.respond, inputs=inputs, outputs=outputs, api_visibility="private")
        send.click(self.respond, inputs=inputs, outputs=outputs, api_visibility="private")
        for btn, q in example_btns:
            btn.click(lambda q=q: q, outputs=[box], api_visibility="private") \
                .then(self.respond, inputs=inputs, outputs=outputs, api_visibility="private")
        clear.click(lambda: ([], [], P.NO_SOURCES), outputs=[chatbot, turns, sources], api_visibility="private")
        chatbot.clear(lambda: ([], P.NO_SOURCES), outputs=[turns, sources], api_visibility="private")
        return {"municipality": municipality, "year": year}

    def _upload_event(self, files: list[str] | None, municipality: str = "",
                      progress=gr.Progress()) -> str:  # noqa: B008 (Gradio's idiom)
        return self.upload(files, progress, municipality)

    # --- serving ------------------------------------------------------------------------
    def auth(self) -> tuple[str, str] | None:
        ui = self.settings.ui
        return (ui.user, ui.password) if ui.user and ui.password else None

    def launch(self, host: str | None = None, port: int | None = None, block: bool = True) -> gr.Blocks:
        demo = self.demo or self.build()
        demo.queue(default_concurrency_limit=4)
        demo.launch(server_name=host or self.settings.ui.host, server_port=port or self.settings.ui.port,
                    auth=self.auth(), auth_message="ユーザー名とパスワードを入力してください。",
                    prevent_thread_lock=not block, show_error=False, quiet=not block, ssr_mode=False,
                    mcp_server=False, theme=_theme(), css=CSS, head=HEAD,
                    allowed_paths=[], max_file_size="40mb")
        return demo

    def close(self) -> None:
        if self.demo is not None:
            self.demo.close()


def _theme() -> gr.themes.Base:
    # Local fonts only: the default theme fetches Google Fonts, which an offline server cannot reach.
    return gr.themes.Soft(font=["Noto Sans CJK JP", "Noto Sans JP", "sans-serif"],
                          font_mono=["Noto Sans Mono CJK JP", "monospace"])


def parse_filters(municipality: str | None, department: str | None, fiscal_year: str | int | None) -> Filters:
    year = str(fiscal_year or "").strip()
    return Filters(municipality=(municipality or "").strip(), department=(department or "").strip(),
                   fiscal_year=int(year) if year.isdigit() else None)


def main(settings: Settings | None = None, host: str | None = None, port: int | None = None) -> int:
    """Build the real assistant and serve the UI until interrupted."""
    from assistant.factory import build_assistant, build_store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = settings or Settings()
        host = host or settings.ui.host
        port = port or settings.ui.port
        store = build_store(settings)
        app = HyokaApp(build_assistant(settings, store), store, settings)
        print(f"hyoka: http://{host}:{port}/ で起動します（{len(store.catalogue())} シート、{settings.home}）",
              file=sys.stderr)
        app.launch(host, port, block=True)
    except HyokaError as exc:
        print(f"エラー: {exc.message_ja}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"エラー: {host}:{port} で起動できません（{exc}）。--port で別のポートを指定してください。", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
