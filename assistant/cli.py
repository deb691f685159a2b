"""The `hyoka` command: ingest, parse, ask, eval, serve. Errors are translated here, at the edge."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ingest.errors import HyokaError

from .settings import Settings


def _err(msg: str) -> None:
    print(f"エラー: {msg}", file=sys.stderr)


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


def cmd_parse(args: argparse.Namespace) -> int:
    from ingest.parse import parse_paths

    t0 = time.perf_counter()
    labeller = _labeller(args, args.files)
    report = parse_paths(args.files, labeller)
    if args.json:
        out = [{"file": f.path, "reader": f.reader, "shown": _shown(ps), **ps.model_dump(mode="json")}
               for f in report.files for ps in f.sheets]
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        for f in report.files:
            for ps in f.sheets:
                _print_sheet(ps)
    for f in report.files:
        if f.skipped:
            print(f"スキップ: {f.path}: {f.skipped}", file=sys.stderr)
        if f.error:
            _err(f.error)
    for d in report.duplicates:
        print(f"重複: {d}", file=sys.stderr)
    _print_labels_report([n for f in report.files for n in (f"{f.path}: {x}" for x in f.notes)],
                         {f.path: _unknown(f.sheets) for f in report.files if f.sheets}, labeller.unused())
    n = len(report.sheets)
    print(f"{n} シート / {len(report.files)} ファイル（{time.perf_counter() - t0:.1f} 秒）", file=sys.stderr)
    return 1 if report.failed else 0


def _unknown(sheets) -> tuple[int, int]:
    from ingest.labelling import unknown_counts

    return unknown_counts(sheets)


def _print_labels_report(notes: list[str], unknown: dict[str, tuple[int, int]], unused: list[str]) -> None:
    """What nobody stated (municipality, year), where the user's labels disagree with a sheet, and
    manifest entries that matched no file: on stderr, like the other reports."""
    from ingest.labelling import describe_unknown

    for note in notes:
        print(f"注意: {note}", file=sys.stderr)
    for path, (n_muni, n_year) in unknown.items():
        for line in describe_unknown(path, n_muni, n_year):
            print(f"不明: {line}", file=sys.stderr)
    for entry in unused:
        print(f"注意: マニフェストの path = \"{entry}\" に当たるファイルがありません（パスは取り込むフォルダからの相対パスです）",
              file=sys.stderr)


def _print_sheet(ps) -> None:
    from ingest.years import show_year

    s, shown = ps.sheet, _shown(ps)
    print(f"■ {s.project_name}  [{shown['municipality']} / {s.department} / {shown['fiscal_year']}]  "
          f"{s.source_file}#{s.locator}")
    for n in ps.narratives:
        print(f"  〔{n.section.value}〕{n.label}: {n.text[:80]}{'…' if len(n.text) > 80 else ''}")
    for (table, label), cells in ps.rows().items():
        vals = " / ".join(f"{show_year(c)}={c.value_text or '空欄'}" for c in cells)
        print(f"  《{table}》{label} ({cells[0].unit}): {vals}")
    for w in ps.warnings:
        print(f"  ⚠ {w}")


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from .factory import build_indexer, build_store

    labeller = _labeller(args, args.paths)
    store = build_store(settings)
    if args.if_empty and store.db.count() > 0:
        print(f"索引にはすでに {store.db.count()} シートあります（{settings.home}）。取り込みは省略します。", file=sys.stderr)
        return 0
    bar = tqdm(total=0, unit="file", file=sys.stderr, disable=args.quiet)

    def progress(i: int, n: int, path: str) -> None:
        bar.total = n
        bar.set_postfix_str(Path(path).name[-30:])
        bar.update(1)

    summary = build_indexer(settings, store).ingest(args.paths, progress, labeller)
    bar.close()
    for path, msg in summary.failed:
        _err(msg if path in msg else f"{path}: {msg}")
    for path, why in summary.skipped:
        print(f"スキップ: {path}: {why}", file=sys.stderr)
    for d in summary.duplicates[:20]:
        print(f"重複: {d}", file=sys.stderr)
    if len(summary.duplicates) > 20:
        print(f"重複: ほか {len(summary.duplicates) - 20} 件", file=sys.stderr)
    for name, warns in summary.warnings.items():
        for w in warns:
            print(f"検算の警告: {name}: {w}", file=sys.stderr)
    _print_labels_report(summary.notes, summary.unknown, labeller.unused())
    if summary.relabelled:
        print(f"自治体名・年度を設定: {summary.relabelled} シート（再解析なし）", file=sys.stderr)
    print(f"追加 {summary.added} / 更新 {summary.updated} / 変更なし {summary.unchanged} / 削除 {summary.removed}"
          f" / 失敗 {len(summary.failed)} ファイル（{summary.seconds:.1f} 秒、うち埋め込み {summary.embed_seconds:.1f} 秒、"
          f"{summary.embedded} 件）")
    return 1 if summary.failed else 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.years import show_municipality, show_year

    from .factory import build_assistant

    assistant = build_assistant(settings)
    if args.jsonl:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                ans = assistant.ask(item["question"], item.get("history") or [])
                out = ans.contract(item.get("id"))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                out = {"id": None, "status": "not_found", "answer": f"入力行を読めません: {exc}", "citations": []}
            print(json.dumps(out, ensure_ascii=False), flush=True)
        return 0
    if not args.question:
        _err("質問を指定してください（例: hyoka ask \"〇〇事業の事業費の推移は？\"）")
        return 2
    if args.explain:
        print(assistant.explain(args.question))
        return 0
    ans = assistant.ask(args.question)
    if args.json:
        print(json.dumps(ans.contract(), ensure_ascii=False, indent=1))
    else:
        if ans.notice:
            print(f"（お知らせ: {ans.notice}）")
        print(ans.answer)
        for c in ans.citations:
            where = " ".join(x for x in (c.section, c.label, show_year(c) if c.fiscal_year_label else "", c.kind)
                             if x)
            print(f"  [{c.n}] {c.project_name}（{show_municipality(c.municipality)}）{where} — {c.source}")
    return 0 if ans.status.value == "answered" else 3


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .factory import build_assistant
    from .scoring import score, summary_lines

    assistant = build_assistant(settings)
    questions = [json.loads(x) for x in Path(args.questions).read_text(encoding="utf-8").splitlines() if x.strip()]
    answers = {}
    times = []
    for q in questions:
        t0 = time.perf_counter()
        answers[q["id"]] = assistant.ask(q["question"], q.get("history") or []).contract(q["id"])
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
    if hasattr(assistant, "fallbacks"):
        print(f"llm fallbacks by cause: {dict(sorted(assistant.fallbacks.items()))}")
    return 0 if sum(total) / len(total) >= args.min else 1


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from app import main as app_main

    return app_main(settings, host=args.host, port=args.port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hyoka", description="事務事業評価シートに答えるアシスタント")
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("parse", help="シートを読み、記録を表示する（索引はしない）")
    sp.add_argument("files", nargs="+")
    sp.add_argument("--json", action="store_true")
    _label_options(sp)
    si = sub.add_parser("ingest", help="ファイルやフォルダを取り込み、索引を作る")
    si.add_argument("paths", nargs="+")
    _label_options(si)
    si.add_argument("--quiet", action="store_true")
    si.add_argument("--if-empty", action="store_true", help="索引が空のときだけ取り込む（make run 用）")
    sa = sub.add_parser("ask", help="質問する")
    sa.add_argument("question", nargs="?")
    sa.add_argument("--json", action="store_true")
    sa.add_argument("--jsonl", action="store_true", help="標準入力の JSON 行を順に答える")
    sa.add_argument("--explain", action="store_true", help="答えの根拠の順位づけ（スコアの内訳）を表示する")
    se = sub.add_parser("eval", help="質問集で採点する")
    se.add_argument("questions")
    se.add_argument("--answers", help="答えを JSON 行で保存するファイル")
    se.add_argument("--min", type=float, default=0.0)
    sv = sub.add_parser("serve", help="チャット画面を起動する")
    sv.add_argument("--host")
    sv.add_argument("--port", type=int)
    return p


def _label_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--municipality", metavar="自治体名",
                   help="シートに記載のない自治体名（例: 神戸市）。シートに記載があればそちらを使う")
    p.add_argument("--fiscal-year", metavar="年度",
                   help="シートから読み取れない評価年度（例: 2013、平成25年度、R7）")
    p.add_argument("--manifest", metavar="FILE",
                   help="フォルダ・ファイルごとの自治体名と年度を書いた TOML（パスは取り込むフォルダからの相対パス）")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.cmd == "parse":
            return cmd_parse(args)
        settings = Settings()
        handler = {"ingest": cmd_ingest, "ask": cmd_ask, "eval": cmd_eval, "serve": cmd_serve}[args.cmd]
        return handler(args, settings)
    except HyokaError as exc:
        _err(exc.message_ja)
        return 2
    except KeyboardInterrupt:
        _err("中断しました")
        return 130


if __name__ == "__main__":
    sys.exit(main())
