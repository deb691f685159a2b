"""Readers: one module per sheet layout, tried in order; the generic reader comes last.

A reader module exposes:
    NAME: str
    def sniff(path: Path, head: bytes) -> bool   # cheap: may this reader handle the file?
    def read(path: Path) -> list[ParsedSheet]    # raise NotASheet or SheetFileError
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from types import ModuleType

# Order matters: specific layouts first, generic fallbacks last.
_MODULES = (
    "tsv_sheet",      # 栃木 sample: tab-separated text export of the 行政評価 template
    "xlsx_rows",      # 大船渡: one sheet per spreadsheet row
    "xlsx_tabs",      # one sheet per worksheet tab
    "json_sheets",    # 福岡 JSON exports, dashboard exports
    "pdf_ikeda",      # 池田 目標設定シート
    "pdf_kyoto",      # 京都 新規・充実事業 cards
    "pdf_kobe",       # 神戸 事務事業評価シート (multi-page)
    "text_sheet",     # plain text / Markdown exports
    "generic",        # headings plus tables, for any layout nobody wrote a reader for
)


def readers() -> list[ModuleType]:
    out = []
    for name in _MODULES:
        try:
            out.append(import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return out


def pick_reader(path: Path, head: bytes) -> ModuleType | None:
    for module in readers():
        if module.sniff(path, head):
            return module
    return None
