"""Pure formatting for the chat UI: answers, sources, the catalogue and ingest reports.

Nothing here knows Gradio or touches the store: sheets come in as a lookup function, so every
helper is a plain function of its arguments. All sheet text is HTML-escaped before it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from html import escape
from pathlib import Path

from ingest.parse import SUPPORTED_SUFFIXES
from ingest.records import NarrativeRecord, ParsedSheet, TableCell
from ingest.years import UNKNOWN, show_municipality, show_year
from vectorstore.records_db import SheetRow

from .answer import Answer, Chart, Citation

SheetLookup = Callable[[str], ParsedSheet | None]

__all__ = ["SUPPORTED_SUFFIXES"]  # re-exported for the UI
CATALOGUE_HEADERS = ["事務事業名", "自治体", "担当部署", "年度", "ファイル", "出典の種類"]
NO_SOURCES = '<div class="hyoka-sources-empty">質問すると、回答の根拠になったシートの記載がここに表示されます。</div>'

_MARKER = re.compile(r"\\\[(\d+)\\\]")  # a citation [n] once md_escape has escaped its brackets
# Markdown syntax characters taken literally: emphasis, code, tables, and the brackets, parentheses
# and '!' of links and images (sheet text such as ![x](http://…) would load a remote image).
_MD_SPECIAL = re.compile(r"([\\`*_~|\[\]()!#])")
_TABLE_ROW = re.compile(r"^\|.*\|\s*$")
_AUTOLINK = re.compile(r"(?i)(https?|ftp)(:)(//)|(www)(\.)")
# A streaming step ends after a sentence or clause mark, or after a citation marker.
_CHUNK = re.compile(r".+?(?:[。、！？\n]|\[\d+\]|$)", re.S)

FILE_STATUS = {
    "indexed": "取り込みました",
    "unchanged": "変更なし（取り込み済みと同じ内容です）",
    "skipped": "スキップしました",
    "duplicate": "重複のため取り込みませんでした",
    "failed": "失敗しました",
}


STATUS_TAG = {"indexed": "【完了】", "unchanged": "【完了】", "failed": "【失敗】", "skipped": "【スキップ】",
              "duplicate": "【重複】"}


# --- chat text ------------------------------------------------------------------------------
def chunks(text: str) -> list[str]:
    """The answer cut into the pieces it is streamed in: clauses, never inside a [n] marker."""
    return [m.group(0) for m in _CHUNK.finditer(text) if m.group(0)]


def chat_markdown(text: str, turn: int, notice: str = "") -> str:
    """An answer as chat Markdown: sheet text escaped, each [n] a link to its entry in the panel."""
    safe = md_escape_answer(text)
    body = _MARKER.sub(lambda m: f"[\\[{m.group(1)}\\]](#{source_anchor(turn, int(m.group(1)))})", safe)
    if notice:
        body = f"> **お知らせ**: {md_escape(notice)}\n\n{body}"
    return body


def error_markdown(message: str) -> str:
    return f"**エラー**: {md_escape(message)}"


def md_escape(text: str) -> str:
    """Sheet text shown as Markdown, read as text: HTML escaped; emphasis, table, link and image
    syntax taken literally; bare URLs not turned into links (a zero-width joiner after the scheme
    or "www" keeps the text as printed while the autolinker no longer sees a URL)."""
    safe = _MD_SPECIAL.sub(r"\\\1", escape(text, quote=False))
    return _AUTOLINK.sub(_break_autolink, safe)


def md_escape_answer(text: str) -> str:
    """An answer as Markdown: everything escaped as sheet text, except the pipes of the table rows the
    answer itself lays out (a line from | to |; sheet text in their cells has its pipes replaced by ｜
    when the table is written, so only the answer's own pipes remain)."""
    out = []
    for line in text.split("\n"):
        escaped = md_escape(line)
        if _TABLE_ROW.match(line):
            escaped = escaped.replace("\\|", "|")
        out.append(escaped)
    return "\n".join(out)


def _break_autolink(m: re.Match[str]) -> str:
    return f"{m.group(1)}\u200d://" if m.group(1) else f"{m.group(4)}\u200d."


def source_anchor(turn: int, n: int) -> str:
    return f"hyoka-src-{turn}-{n}"


def message_text(content: object) -> str:
    """The text of a chat message, whether Gradio gives a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    if isinstance(content, Iterable):
        return "".join(message_text(part) for part in content)
    return ""


# --- sources panel --------------------------------------------------------------------------
def sources_html(citations: Iterable[Citation], lookup: SheetLookup, turn: int, highlight: bool = True,
                 provenance: Callable[[str], str] | None = None) -> str:
    """One entry per citation: what it is, where it comes from, and the record in its context.

    `highlight` is False for a refusal (not_found): its citations show what the sheet does hold,
    and marking a cell there would read as the answer. `provenance` gives a sheet's origin label."""
    parts = [citation_html(c, lookup, turn, highlight, provenance) for c in citations]
    return "\n".join(parts) if parts else '<div class="hyoka-sources-empty">この回答に出典はありません。</div>'


def turns_html(turns: list[dict]) -> str:
    """All turns' sources, newest first and open; older ones folded under their question."""
    if not turns:
        return NO_SOURCES
    out = []
    for i, t in reversed(list(enumerate(turns))):
        opened = " open" if i == len(turns) - 1 else ""
        out.append(f'<details class="hyoka-turn"{opened}><summary>Q{i + 1}. {escape(t["question"])}</summary>'
                   f'{t["sources"]}</details>')
    return "\n".join(out)


def citation_html(c: Citation, lookup: SheetLookup, turn: int, highlight: bool = True,
                  provenance: Callable[[str], str] | None = None) -> str:
    ps = lookup(c.sheet_id) if c.sheet_id else None
    where = " ・ ".join(escape(x) for x in (show_municipality(c.municipality), c.section) if x)
    label = f'<div class="hyoka-src-label">{escape(c.label)}</div>' if c.label and c.label != c.section else ""
    origin = provenance(c.sheet_id) if provenance and c.sheet_id else ""
    origin_html = f'<div class="hyoka-src-prov">{escape(origin)}</div>' if origin else ""
    open_link = (f'<a href="#" class="hyoka-open-sheet" data-sheet="{escape(c.sheet_id)}" '
                 f'data-record="{escape(c.record_id) if highlight else ""}">シート全体を見る</a>') if ps else ""
    head = (f'<div class="hyoka-src-head"><span class="hyoka-src-n">[{c.n}]</span> '
            f'<span class="hyoka-src-project">{escape(c.project_name)}</span>'
            f'<span class="hyoka-src-where">{where}</span></div>{label}'
            f'<div class="hyoka-src-file">出典: {escape(c.source)} {open_link}</div>{origin_html}')
    return (f'<div class="hyoka-src" id="{source_anchor(turn, c.n)}">{head}'
            f'{_record_html(c, ps, highlight)}</div>')


def _record_html(c: Citation, ps: ParsedSheet | None, highlight: bool = True) -> str:
    if ps is None:
        note = '<div class="hyoka-src-note">（このシートは索引にありません。引用のみ表示します）</div>' if c.sheet_id else ""
        return f'{note}<blockquote class="hyoka-quote">{escape(c.quote)}</blockquote>' if c.quote else note
    cell = next((x for x in ps.cells if c.record_id and x.record_id == c.record_id), None)
    if cell is not None:
        return figure_row_html(ps.rows().get(cell.row_key, [cell]), cell.record_id if highlight else "")
    rec = next((n for n in ps.narratives if c.record_id and n.record_id == c.record_id), None)
    if rec is not None:
        return narrative_html(rec, c.quote, mark=highlight)
    return sheet_summary_html(ps)


def figure_row_html(cells: list[TableCell], cited_id: str) -> str:
    """The whole table row with every year, the cited cell highlighted ("" cites none)."""
    unit = next((c.unit for c in cells if c.unit), "")
    head = "".join(f"<th>{escape(show_year(c))}</th>" for c in cells)
    body = []
    for c in cells:
        value = escape(c.value_text) if c.value_text else '<span class="hyoka-blank">空欄</span>'
        if cited_id and c.record_id == cited_id:
            body.append(f'<td class="hyoka-cited"><mark>{value}</mark></td>')
        else:
            body.append(f"<td>{value}</td>")
    caption = escape(cells[0].row_label) + (f"（単位: {escape(unit)}）" if unit else "")
    return (f'<div class="hyoka-row-wrap"><table class="hyoka-row"><caption>{caption}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody><tr>{''.join(body)}</tr></tbody></table></div>")


def narrative_html(rec: NarrativeRecord, quote: str, mark: bool = True) -> str:
    """The quote, then the section's full text with the quote marked where it occurs."""
    full = highlight(rec.text, quote) if mark else escape(rec.text)
    quoted = f'<blockquote class="hyoka-quote">{escape(quote)}</blockquote>' if quote and quote != rec.text else ""
    return f'{quoted}<div class="hyoka-section-text">{full}</div>'


def highlight(text: str, quote: str) -> str:
    """Escaped text with the first occurrence of the quote in <mark>."""
    at = text.find(quote) if quote else -1
    if at < 0:
        return escape(text)
    end = at + len(quote)
    return f"{escape(text[:at])}<mark>{escape(text[at:end])}</mark>{escape(text[end:])}"


def sheet_summary_html(ps: ParsedSheet) -> str:
    s = ps.sheet
    rows = [("事務事業名", s.project_name), ("自治体", show_municipality(s.municipality)),
            ("担当部署", s.department), ("年度", show_year(s))]
    cells = "".join(f"<tr><th>{k}</th><td>{escape(v)}</td></tr>" for k, v in rows if v)
    return f'<table class="hyoka-sheet">{cells}</table>'


# --- catalogue and filters ------------------------------------------------------------------
def catalogue_rows(rows: Iterable[SheetRow], origins: dict[str, str] | None = None) -> list[list[str]]:
    """One row per sheet; `origins` (sheet id -> 公式 / アップロード) fills the last column."""
    return [[r.project_name, show_municipality(r.municipality), r.department or "—", r.fiscal_year_label or UNKNOWN,
             Path(r.source_file).name, (origins or {}).get(r.sheet_id, "公式")] for r in rows]


def year_choices(rows: Iterable[SheetRow]) -> list[tuple[str, str]]:
    years: dict[int, str] = {}
    for r in rows:
        if r.fiscal_year is not None:
            years.setdefault(r.fiscal_year, r.fiscal_year_label)
    return [("（すべて）", "")] + [(f"{y}年度（{label}）" if label and str(y) not in label else f"{y}年度", str(y))
                                 for y, label in sorted(years.items(), reverse=True)]


def municipality_choices(names: Iterable[str]) -> list[tuple[str, str]]:
    return [("（すべて）", "")] + [(m, m) for m in names]


def empty_store_markdown(upload: bool) -> str:
    how = ("- このページの「追加」タブから、ファイルをアップロードして取り込むこともできます。\n"
           if upload else "")
    return ("### まだシートが取り込まれていません\n"
            "質問に答えるには、先に事務事業評価シートを取り込んでください。\n\n"
            "- コマンドで取り込む: `hyoka ingest フォルダ`（例: `hyoka ingest ./sheets`）\n"
            f"{how}"
            f"- 対応形式: {' '.join(SUPPORTED_SUFFIXES)}\n\n"
            "取り込んだあと、このページを再読み込みしてください。")


# --- ingest report --------------------------------------------------------------------------
def file_report_lines(files: list[tuple[str, str, int]], outcome: dict[str, str],
                      reasons: dict[str, str], shown: Callable[[str], str]) -> Iterator[str]:
    """One plain-Japanese line per file: what became of it and, when it was not taken, why."""
    for path, status, n in files:
        name = shown(path)
        if status == "indexed":
            text = outcome.get(path) or f"{FILE_STATUS['indexed']}（{n} シート）"
        else:
            text = FILE_STATUS.get(status, status)
        why = reasons.get(path, "").removeprefix(f"{name}: ")
        why = "" if why.rstrip("。") in text else why
        mark = STATUS_TAG.get(status, "")
        yield f"- {mark}**{md_escape(name)}**: {md_escape(text)}" + (f" — {md_escape(why)}" if why else "")


def indexed_outcome(sheet_ids: Iterable[str], before: dict[str, str], after: dict[str, str]) -> str:
    """追加 / 更新 / 変更なし for one file's sheets, from the store's content hashes around an ingest."""
    added = updated = same = 0
    for sid in sheet_ids:
        if sid not in before:
            added += 1
        elif before[sid] != after.get(sid):
            updated += 1
        else:
            same += 1
    parts = [f"{label} {n} シート" for label, n in (("追加", added), ("更新", updated), ("変更なし", same)) if n]
    return "、".join(parts) or "取り込むシートはありませんでした"


# --- answers that are tables and charts ---------------------------------------------------------
PAGE_ROWS = 20


def answer_table_html(answer: Answer, turn: int) -> str:
    """A question across sheets answered as a table: the same rows in the sources panel, each linked to
    its citation below, in pages of 20 so a long list stays readable."""
    if answer.intent != "cross" or not answer.citations:
        return ""
    rows = []
    for c in answer.citations:
        value = f"{c.value}{'' if c.value.endswith(c.unit) else c.unit}" if c.value else ""
        where = escape(" ".join(x for x in (c.label if value else c.municipality, c.fiscal_year_label if value else c.label)
                                if x))
        rows.append(f'<tr><td><a href="#{source_anchor(turn, c.n)}">[{c.n}]</a></td><td>{escape(c.project_name)}</td>'
                    f"<td>{where}</td><td class=\"hyoka-num\">{escape(value)}</td></tr>")
    head = "<tr><th></th><th>事務事業名</th><th>項目・年度／担当</th><th>値</th></tr>"
    pages = [rows[i:i + PAGE_ROWS] for i in range(0, len(rows), PAGE_ROWS)]
    if len(pages) == 1:
        return f'<table class="hyoka-answer-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
    out = [f'<div class="hyoka-pages">全 {len(rows)} 件（{PAGE_ROWS} 件ずつ）</div>']
    for i, page in enumerate(pages):
        first, last = i * PAGE_ROWS + 1, i * PAGE_ROWS + len(page)
        out.append(f'<details class="hyoka-page"{" open" if i == 0 else ""}><summary>{first}–{last} 件</summary>'
                   f'<table class="hyoka-answer-table"><thead>{head}</thead><tbody>{"".join(page)}</tbody></table>'
                   "</details>")
    return "\n".join(out)


def chart_rows(chart: Chart | None) -> dict | None:
    """The chart of an answer as plain data for the UI's plots: bars labelled with their citation
    number (the cited cell) and the project, or a line over the years."""
    if chart is None or not chart.values:
        return None
    labels = [f"[{n}] {label}" for n, label in zip(chart.cited, chart.labels, strict=False)]
    return {"kind": chart.kind, "title": chart.title, "unit": chart.unit,
            "x": labels, "y": [float(v) for v in chart.values]}
