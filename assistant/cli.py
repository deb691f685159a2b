"""The `hyoka` command: ingest, parse, ask, eval, serve. Errors are translated here, at the edge.

Everything printed for people goes through `say`, which drops control and bidi characters: sheet
fields and file names are data from outside, and raw escape sequences would drive the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Protocol

from ingest.errors import HyokaError

from .settings import Settings

# C0/C1 controls except tab and newline, DEL, and the bidi/zero-width marks that reorder or hide text.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def terminal_safe(text: str) -> str:
    """Text as it may reach a terminal: no escape sequences, no direction overrides, valid UTF-8."""
    text = _UNSAFE.sub("", text)
    return text.encode("utf-8", "replace").decode("utf-8")


def say(text: str = "", err: bool = False) -> None:
    print(terminal_safe(text), file=sys.stderr if err else sys.stdout, flush=err)


def _err(msg: str) -> None:
    say(f"エラー: {msg}", err=True)


def _json(obj: object, indent: int | None = None) -> str:
    from .jsonl import escape_invisible

    return escape_invisible(json.dumps(obj, ensure_ascii=False, indent=indent))


def _labeller(args: argparse.Namespace, paths: list[str]):
    """What the user states of the files (--municipality, --fiscal-year, --manifest): see ingest.labelling."""
    from ingest.labelling import Labeller, Labels, Manifest, check_fiscal_year, check_municipality

    default = Labels(check_municipality(args.municipality) if args.municipality is not None else "",
                     check_fiscal_year(args.fiscal_year) if args.fiscal_year is not None else None)
    manifest = Manifest.load(args.manifest) if args.manifest else None
    return Labeller(paths, default, manifest)


def _shown(ps) -> dict:
    """How the CLI and UI show a sheet's municipality and year (「不明」, 「令和2年度（32年度見込）」)."""
    from ingest.years import show_municipality, show_year

    return {"municipality": show_municipality(ps.sheet.municipality), "fiscal_year": show_year(ps.sheet)}


def cmd_parse(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.parse import parse_paths

    t0 = time.perf_counter()
    labeller = _labeller(args, args.files)
    report = parse_paths(args.files, labeller, settings.limits.files(), follow_symlinks=args.follow_symlinks)
    if args.json:
        out = [{"file": f.path, "reader": f.reader, "shown": _shown(ps), **ps.model_dump(mode="json")}
               for f in report.files for ps in f.sheets]
        print(_json(out, indent=1))
    else:
        for f in report.files:
            for ps in f.sheets:
                _print_sheet(ps)
    for f in report.files:
        if f.skipped:
            say(f"スキップ: {f.path}: {f.skipped}", err=True)
        if f.error:
            _err(f.error)
    for d in report.duplicates:
        say(f"重複: {d}", err=True)
    _print_labels_report([n for f in report.files for n in (f"{f.path}: {x}" for x in f.notes)],
                         {f.path: _unknown(f.sheets) for f in report.files if f.sheets}, labeller.unused())
    n = len(report.sheets)
    say(f"{n} シート / {len(report.files)} ファイル（{time.perf_counter() - t0:.1f} 秒）", err=True)
    return 1 if report.failed else 0


def _unknown(sheets) -> tuple[int, int]:
    from ingest.labelling import unknown_counts

    return unknown_counts(sheets)


def _print_labels_report(notes: list[str], unknown: dict[str, tuple[int, int]], unused: list[str]) -> None:
    """What nobody stated (municipality, year), where the user's labels disagree with a sheet, and
    manifest entries that matched no file: on stderr, like the other reports."""
    from ingest.labelling import describe_unknown

    for note in notes:
        say(f"注意: {note}", err=True)
    for path, (n_muni, n_year) in unknown.items():
        for line in describe_unknown(path, n_muni, n_year):
            say(f"不明: {line}", err=True)
    for entry in unused:
        say(f"注意: マニフェストの path = \"{entry}\" に当たるファイルがありません（パスは取り込むフォルダからの相対パスです）",
            err=True)


def _print_sheet(ps) -> None:
    from ingest.years import show_year

    s, shown = ps.sheet, _shown(ps)
    say(f"■ {s.project_name}  [{shown['municipality']} / {s.department} / {shown['fiscal_year']}]  "
        f"{s.source_file}#{s.locator}")
    for n in ps.narratives:
        say(f"  〔{n.section.value}〕{n.label}: {n.text[:80]}{'…' if len(n.text) > 80 else ''}")
    for (table, label), cells in ps.rows().items():
        vals = " / ".join(f"{show_year(c)}={c.value_text or '空欄'}" for c in cells)
        say(f"  《{table}》{label} ({cells[0].unit}): {vals}")
    for w in ps.warnings:
        say(f"  ⚠ {w}")


class _Bar:
    """A progress bar made on the first file (a bar made before the count is known prints '0file')."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = None

    def __call__(self, i: int, n: int, path: str) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=n, unit="ファイル", file=sys.stderr, dynamic_ncols=True)
        self.bar.set_postfix_str(terminal_safe(Path(path).name[-30:]))
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from .factory import build_indexer, build_store

    labeller = _labeller(args, args.paths)
    store = build_store(settings)
    if args.if_empty and store.count() > 0:
        say(f"索引にはすでに {store.count()} シートあります（{settings.home}）。取り込みは省略します。", err=True)
        return 0
    bar = _Bar(args.quiet)
    try:
        summary = build_indexer(settings, store).ingest(args.paths, bar, labeller,
                                                        follow_symlinks=args.follow_symlinks)
    finally:
        bar.close()
    for path, msg in summary.failed:
        _err(msg if path in msg else f"{path}: {msg}")
    for path, why in summary.skipped:
        say(f"スキップ: {path}: {why}", err=True)
    for d in summary.duplicates[:20]:
        say(f"重複: {d}", err=True)
    if len(summary.duplicates) > 20:
        say(f"重複: ほか {len(summary.duplicates) - 20} 件", err=True)
    for name, warns in summary.warnings.items():
        for w in warns:
            say(f"検算の警告: {name}: {w}", err=True)
    _print_labels_report(summary.notes, summary.unknown, labeller.unused())
    if summary.relabelled:
        say(f"自治体名・年度を設定: {summary.relabelled} シート（再解析なし）", err=True)
    restored = f" / 復元 {summary.restored}" if summary.restored else ""
    say(f"追加 {summary.added} / 更新 {summary.updated} / 変更なし {summary.unchanged} / 削除 {summary.removed}{restored}"
        f" / 失敗 {len(summary.failed)} ファイル（{summary.seconds:.1f} 秒、うち埋め込み {summary.embed_seconds:.1f} 秒、"
        f"{summary.embedded} 件）")
    return 1 if summary.failed else 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.years import show_municipality, show_year

    from .bounds import check_question
    from .factory import build_assistant

    if args.jsonl:
        return _ask_jsonl(build_assistant(settings), settings)
    if not args.question:
        _err("質問を指定してください（例: hyoka ask \"〇〇事業の事業費の推移は？\"）")
        return 2
    question = check_question(args.question, settings.limits.question_chars)
    assistant = build_assistant(settings)
    if args.explain:
        say(assistant.explain(question))
        return 0
    ans = assistant.ask(question)
    if args.json:
        print(_json(ans.contract(), indent=1))
    else:
        if ans.notice:
            say(f"（お知らせ: {ans.notice}）")
        say(ans.answer)
        for c in ans.citations:
            where = " ".join(x for x in (c.section, c.label, show_year(c) if c.fiscal_year_label else "", c.kind)
                             if x)
            who = f"（{show_municipality(c.municipality)}）" if c.municipality else ""
            say(f"  [{c.n}] {c.project_name}{who} {where} — {c.source}")
    return 0 if ans.status.value == "answered" else 3


def _ask_jsonl(assistant, settings: Settings) -> int:
    """One line out per line in; exit 1 when any line failed (status "error")."""
    import logging

    from .jsonl import LineLimits, answer_lines, dumps

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    failed: dict[str, int] = {}
    limits = LineLimits(settings.limits.question_chars, settings.limits.history_messages)
    for out in answer_lines(assistant, _stdin_lines(), limits):
        if out.get("status") == "error":
            failed[out["error_type"]] = failed.get(out["error_type"], 0) + 1
        sys.stdout.write(dumps(out) + "\n")
        sys.stdout.flush()
    if failed.get("internal") or failed.get("store"):
        _err(f"答えられなかった行があります（hyoka の内部エラー {failed.get('internal', 0)} 行、"
             f"索引の読み込みエラー {failed.get('store', 0)} 行、入力行の誤り {failed.get('input', 0)} 行）")
    return 1 if failed else 0


def _stdin_lines():
    """Input lines as bytes, decoded line by line (one bad line must not stop the rest)."""
    for raw in sys.stdin.buffer:
        yield raw.rstrip(b"\r\n")


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .factory import build_assistant
    from .messages import history_from_json
    from .scoring import score, summary_lines

    assistant = build_assistant(settings)
    questions = [json.loads(x) for x in Path(args.questions).read_text(encoding="utf-8").splitlines() if x.strip()]
    answers = {}
    times = []
    for q in questions:
        t0 = time.perf_counter()
        answers[q["id"]] = assistant.ask(q["question"], history_from_json(q.get("history"))).contract(q["id"])
        times.append(time.perf_counter() - t0)
    if args.answers:
        Path(args.answers).write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in answers.values()),
                                      encoding="utf-8")
    misses, by_type = score(questions, answers)
    for m in misses:
        print(m)
    times.sort()
    print(f"latency p50 {times[len(times) // 2] * 1000:.0f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.0f} ms")
    for line in summary_lines(questions, answers):
        print(line)
    total = [ok for oks in by_type.values() for ok in oks]
    fallbacks = getattr(assistant, "fallbacks", None)  # the LLM mode's count of extractive fallbacks
    if fallbacks is not None:
        print(f"llm fallbacks by cause: {dict(sorted(fallbacks.items()))}")
    return 0 if sum(total) / len(total) >= args.min else 1


class Serve(Protocol):
    """Starts the chat UI until interrupted (hyoka_main.serve: app.py sits above this layer)."""

    def __call__(self, settings: Settings, host: str | None, port: int | None) -> int: ...


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    serve: Serve | None = args.serve
    if serve is None:
        _err("チャット画面は hyoka コマンド（hyoka serve）か python app.py で起動してください")
        return 2
    if args.allow_anonymous_upload:
        settings = settings.model_copy(update={"ui": settings.ui.model_copy(update={"allow_anonymous": True})})
    return serve(settings, args.host, args.port)


_SYMLINKS = "フォルダの外を指すシンボリックリンクもたどる（既定ではたどらず、スキップと報告する）"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hyoka", description="事務事業評価シートに答えるアシスタント")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="コマンド")
    sp = sub.add_parser("parse", help="シートを読み、記録を表示する（索引はしない）")
    sp.add_argument("files", nargs="+", metavar="ファイル", help="読むファイルまたはフォルダ（フォルダは中を再帰的に）")
    sp.add_argument("--json", action="store_true", help="記録を JSON で出力する")
    sp.add_argument("--follow-symlinks", action="store_true", help=_SYMLINKS)
    _label_options(sp)
    si = sub.add_parser("ingest", help="ファイルやフォルダを取り込み、索引を作る")
    si.add_argument("paths", nargs="+", metavar="パス", help="取り込むファイルまたはフォルダ（フォルダは中を再帰的に）")
    si.add_argument("--quiet", action="store_true", help="進み具合の表示を出さない")
    si.add_argument("--if-empty", action="store_true", help="索引が空のときだけ取り込む（make run 用）")
    si.add_argument("--follow-symlinks", action="store_true", help=_SYMLINKS)
    _label_options(si)
    sa = sub.add_parser("ask", help="質問する")
    sa.add_argument("question", nargs="?", metavar="質問", help="日本語の質問（--jsonl のときは不要）")
    sa.add_argument("--json", action="store_true", help="回答を JSON で出力する（--jsonl と同じ項目）")
    sa.add_argument("--jsonl", action="store_true",
                    help="標準入力の JSON 行を順に答え、1 行に 1 行で出力する（失敗した行があれば終了コード 1）")
    sa.add_argument("--explain", action="store_true", help="答えの根拠の順位づけ（スコアの内訳）を表示する")
    se = sub.add_parser("eval", help="質問集で採点する")
    se.add_argument("questions", metavar="質問集", help="JSON 行の質問集（id, question, history, 正解）")
    se.add_argument("--answers", help="答えを JSON 行で保存するファイル")
    se.add_argument("--min", type=float, default=0.0, help="この正答率を下回れば終了コード 1")
    sv = sub.add_parser("serve", help="チャット画面を起動する")
    sv.add_argument("--host", help="待ち受けるアドレス（既定 127.0.0.1。外に公開するならログインを設定）")
    sv.add_argument("--port", type=int, help="待ち受けるポート（既定 7860）")
    sv.add_argument("--allow-anonymous-upload", action="store_true",
                    help="ログインなしで外部に公開し、しかもアップロードを許す（既定では起動を拒否）")
    return p


def _label_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--municipality", metavar="自治体名",
                   help="シートに記載のない自治体名（例: 神戸市）。シートに記載があればそちらを使う")
    p.add_argument("--fiscal-year", metavar="年度",
                   help="シートから読み取れない評価年度（例: 2013、平成25年度、R7）")
    p.add_argument("--manifest", metavar="FILE",
                   help="フォルダ・ファイルごとの自治体名と年度を書いた TOML（パスは取り込むフォルダからの相対パス）")


def main(argv: list[str] | None = None, serve: Serve | None = None) -> int:
    """The command without the UI: `serve` starts it (hyoka_main.py passes it; see Serve)."""
    if argv is None and _bad_argv():
        return 2
    args = build_parser().parse_args(argv)
    args.serve = serve
    settings = None
    try:
        settings = Settings()
        handler = {"parse": cmd_parse, "ingest": cmd_ingest, "ask": cmd_ask, "eval": cmd_eval,
                   "serve": cmd_serve}[args.cmd]
        return handler(args, settings)
    except HyokaError as exc:
        _err(exc.message_ja + _where(exc))
        return 2
    except KeyboardInterrupt:
        _err("中断しました")
        return 130
    except BrokenPipeError:
        # The reader went away (`hyoka ask … | head`): nothing more to say, and no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the store's storage failing outside a guarded call: no traceback
        from vectorstore.errors import classify

        message = classify(exc)
        if message is None:
            raise
        _err(message + (f"（HYOKA_HOME: {settings.home}）" if settings and "HYOKA_HOME" in message else ""))
        return 2


def _where(exc: HyokaError) -> str:
    home = getattr(exc, "home", None)
    return f"（HYOKA_HOME: {home}）" if home else ""


def _bad_argv() -> bool:
    """An argument that is not valid UTF-8 (Python keeps its bytes as lone surrogates) cannot be a
    question or a path we could print: say which, instead of failing later with a traceback."""
    for i, arg in enumerate(sys.argv[1:], start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            _err(f"{i} 番目の引数が UTF-8 ではありません（端末やシェルの文字コードを UTF-8 にしてください）")
            return True
    return False


if __name__ == "__main__":
    sys.exit(main())
