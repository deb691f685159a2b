"""The sheet viewer: one sheet read whole, every section and every table, as escaped HTML.

Newcomers open a sheet before they ask about it. The viewer shows where the sheet came from
(the administrator's ingest or an upload, who and when), each section under its canonical name
with the label the sheet prints, and each table with one row per item and one column per year.
Each record has an anchor (`hyoka-rec-<record id>`), so a citation opens the sheet at the record
it cites; that record is marked only when the answer it belongs to was an answer, not a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from pathlib import Path

from ingest.records import ParsedSheet, TableCell
from ingest.years import show_municipality, show_year
from vectorstore.provenance import Unofficial
from vectorstore.records_db import SheetRow

UNOFFICIAL_PREFIX = "u:"
EMPTY = '<div class="hyoka-viewer-empty">「シート一覧」タブで行を選ぶか、上でシートを選ぶと、ここにシート全体が表示されます。</div>'


def record_anchor(record_id: str) -> str:
    return f"hyoka-rec-{record_id}"


def choices(rows: Iterable[SheetRow], unofficial: Iterable[Unofficial] = ()) -> list[tuple[str, str]]:
    """Dropdown entries: each indexed sheet, then each unofficial version, clearly marked."""
    out = [(_choice_label(r.project_name, show_municipality(r.municipality), r.fiscal_year_label), r.sheet_id)
           for r in rows]
    out += [("【非公式版】" + _choice_label(u.project_name, u.municipality, u.fiscal_year_label),
             UNOFFICIAL_PREFIX + u.version_id) for u in unofficial]
    return out


def _choice_label(name: str, municipality: str, year: str) -> str:
    where = "・".join(x for x in (municipality, year) if x)
    return f"{name}（{where}）" if where else name


def sheet_html(ps: ParsedSheet, provenance: str, focus: str = "", unofficial: bool = False) -> str:
    """The whole sheet. `focus` is a record id to mark (a cited record), "" for none."""
    s = ps.sheet
    rows = [("事務事業名", s.project_name), ("自治体", show_municipality(s.municipality)), ("担当部署", s.department),
            ("評価年度", show_year(s)), ("ファイル", f"{Path(s.source_file).name}（{s.locator}）"),
            ("出典の種類", provenance)]
    head = "".join(f"<tr><th>{k}</th><td>{escape(v)}</td></tr>" for k, v in rows if v)
    warn = ('<div class="hyoka-unofficial-note">これは非公式版です。既存のシートと内容が異なるアップロードとして'
            '保存されたもので、回答には使われません。</div>') if unofficial else ""
    parts = [f'<div class="hyoka-viewer">{warn}<table class="hyoka-sheet-head">{head}</table>',
             _sections_html(ps, focus), _tables_html(ps, focus)]
    if ps.warnings:
        items = "".join(f"<li>{escape(w)}</li>" for w in ps.warnings)
        parts.append(f'<h3>読み込み時の確認事項</h3><ul class="hyoka-sheet-warnings">{items}</ul>')
    return "".join(parts) + "</div>"


def _sections_html(ps: ParsedSheet, focus: str) -> str:
    if not ps.narratives:
        return '<h3>記載事項</h3><p class="hyoka-viewer-empty">このシートには文章の欄がありません。</p>'
    out = ["<h3>記載事項</h3>"]
    for n in ps.narratives:
        cited = " hyoka-cited" if n.record_id == focus else ""
        label = f'<span class="hyoka-sheet-label">{escape(n.label)}</span>' if n.label and n.label != n.section.value else ""
        out.append(f'<section class="hyoka-sheet-section{cited}" id="{record_anchor(n.record_id)}">'
                   f"<h4>{escape(n.section.value)}{label}</h4>"
                   f'<div class="hyoka-sheet-text">{escape(n.text)}</div></section>')
    return "".join(out)


def _tables_html(ps: ParsedSheet, focus: str) -> str:
    by_table: dict[str, list[list[TableCell]]] = {}
    for (table, _), cells in ps.rows().items():
        by_table.setdefault(table, []).append(cells)
    if not by_table:
        return ""
    out = ["<h3>数値の表</h3>"]
    for table, rows in by_table.items():
        columns = list(dict.fromkeys(show_year(c) for cells in rows for c in cells))
        head = "".join(f"<th>{escape(col)}</th>" for col in columns)
        body = "".join(_row_html(cells, columns, focus) for cells in rows)
        out.append(f'<div class="hyoka-sheet-table-wrap"><table class="hyoka-sheet-table">'
                   f"<caption>{escape(table)}</caption><thead><tr><th>項目</th><th>単位</th>{head}</tr></thead>"
                   f"<tbody>{body}</tbody></table></div>")
    return "".join(out)


def _row_html(cells: list[TableCell], columns: list[str], focus: str) -> str:
    by_col: dict[str, list[TableCell]] = {}
    for c in cells:
        by_col.setdefault(show_year(c), []).append(c)
    tds = []
    for col in columns:
        here = by_col.get(col, [])
        if not here:
            tds.append("<td></td>")
            continue
        c = here[0]
        value = escape(c.value_text) if c.value_text else '<span class="hyoka-blank">空欄</span>'
        cited = ' class="hyoka-cited"' if any(x.record_id == focus for x in here) else ""
        tds.append(f'<td{cited} id="{record_anchor(c.record_id)}">{value}</td>')
    unit = next((c.unit for c in cells if c.unit), "")
    return f"<tr><th>{escape(cells[0].row_label)}</th><td>{escape(unit)}</td>{''.join(tds)}</tr>"
