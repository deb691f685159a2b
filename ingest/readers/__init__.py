"""Readers: one module per sheet layout, tried in order; the generic reader comes last.

A reader is a module implementing `Reader`: a new layout is one new module plus its name in
_MODULES.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from ..records import ParsedSheet


class Reader(Protocol):
    """One sheet layout (a module: NAME, sniff, read)."""

    NAME: str

    def sniff(self, path: Path, head: bytes) -> bool:
        """Cheap (the file's first bytes and its name): may this reader handle the file?"""
        ...

    def read(self, path: Path) -> list[ParsedSheet]:
        """Every sheet of the file; raises NotASheet or SheetFileError."""
        ...

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


def readers() -> list[Reader]:
    out: list[Reader] = []
    for name in _MODULES:
        try:
            out.append(cast(Reader, import_module(f"{__name__}.{name}")))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return out


def pick_reader(path: Path, head: bytes) -> Reader | None:
    for module in readers():
        if module.sniff(path, head):
            return module
    return None
