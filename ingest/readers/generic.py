"""The fallback for layouts nobody wrote a reader for: headings + tables from PDF, XLSX or text.

It only claims a file when it finds a project name (事務事業名/事業名). Everything it finds is
filed under Section.OTHER / Table.OTHER with the sheet's own labels: guessing canonical sections
for an unknown layout would mislabel more than it helps.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pdfplumber

from ..errors import NotASheet, SheetFileError
from ..records import ParsedSheet, Section, Table, tidy_text
from ..textio import read_text
from .labels import DEPARTMENT_LABELS, NAME_LABELS
from .text_sheet import TextDoc, build, parse_text
from .xlsx_tabs import Grid, grid_header, read_tabs

NAME = "generic"

_SUFFIXES = {".pdf", ".xlsx", ".xlsm", ".txt", ".md", ".markdown", ".csv", ".tsv"}
_NOT_FOUND = "評価シートの項目（事務事業名など）が見つかりません"
# PDF text puts a label and its value on one line without a colon: '事務事業名 〇〇事業'.
_INLINE_RE = re.compile(r"^\s*(?P<label>" + "|".join(NAME_LABELS + DEPARTMENT_LABELS) + r")\s+(?P<value>\S.*)$")


def sniff(path: Path, head: bytes) -> bool:
    return path.suffix.lower() in _SUFFIXES


def _other(label: str) -> Section:
    return Section.OTHER


def read(path: Path) -> list[ParsedSheet]:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _from_text_doc(path, *_pdf(path))
    if suffix in {".xlsx", ".xlsm"}:
        return _xlsx(path)
    text = read_text(path)
    if suffix in {".csv", ".tsv"}:
        doc = TextDoc()
        grid = _csv_grid(text, "\t" if suffix == ".tsv" else ",")
        doc.header = grid_header(grid)
        doc.grids.append((grid, list(range(1, len(grid) + 1))))
        return _from_text_doc(path, doc, text)
    return _from_text_doc(path, parse_text(text.splitlines()), text)


def _from_text_doc(path: Path, doc: TextDoc, text: str) -> list[ParsedSheet]:
    if not doc.header.name:
        raise NotASheet(_NOT_FOUND)
    return [build(path, doc, text, _other, NAME, force_table=Table.OTHER)]


def _pdf(path: Path) -> tuple[TextDoc, str]:
    """Lines and tables of every page. Any failure inside pdfplumber/pdfminer (encrypted,
    truncated, not a PDF) surfaces as its own exception types, so all are caught here."""
    try:
        with pdfplumber.open(path) as pdf:
            pages = [(p.extract_text() or "", p.extract_tables() or []) for p in pdf.pages]
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many unrelated types
        raise SheetFileError(str(path), f"PDF として読めません（暗号化・破損の可能性: {type(exc).__name__}）") from exc
    text = "\n".join(t for t, _ in pages)
    doc = parse_text(text.splitlines())
    _inline_labels(doc, text.splitlines())
    for n, (_, tables) in enumerate(pages, start=1):
        for table in tables:
            grid = [[tidy_text(c or "") for c in row] for row in table]
            doc.grids.append((grid, [n] * len(grid)))
            g = grid_header(grid)
            doc.header.name = doc.header.name or g.name
            doc.header.department += [d for d in g.department if d not in doc.header.department]
    return doc, text


def _inline_labels(doc: TextDoc, lines: list[str]) -> None:
    for line in lines:
        m = _INLINE_RE.match(line)
        if not m:
            continue
        value = tidy_text(m.group("value"))
        if m.group("label") in NAME_LABELS:
            doc.header.name = doc.header.name or value
        elif value not in doc.header.department:
            doc.header.department.append(value)


def _xlsx(path: Path) -> list[ParsedSheet]:
    return read_tabs(path, layout=NAME, sections=_other, default_table=Table.OTHER, checks=False,
                     not_found=_NOT_FOUND)


def _csv_grid(text: str, delimiter: str) -> Grid:
    return [[tidy_text(c) for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
