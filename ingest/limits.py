"""Limits checked before a file is parsed, so that no file can make parsing unbounded.

A 1 MB .xlsx can inflate to gigabytes (an XLSX is a ZIP of XML parts), and a 300 KB PDF can hold
thousands of pages: both cost memory and time in proportion to what they *expand* to, not to their
size on disk. So a file is measured first, cheaply and in bounded memory:

- any file: its size on disk;
- an XLSX: the sizes its ZIP directory declares, the ratio of each part's inflated to compressed
  size, the number of worksheets and the rows each worksheet declares, then the bytes it actually
  inflates to (streamed and counted, never held), since a ZIP directory can lie;
- a PDF: its pages, counted by walking the page tree (no page content is parsed).

Each limit has a default that holds every real sheet we know with a wide margin; the settings
(HYOKA_LIMITS__...) move them. Exceeding one is a LimitExceeded (a SheetFileError) that names the file and the limit.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import LimitExceeded

MIB = 1024 * 1024
_CHUNK = 1 << 20
# Ratios of small parts say nothing (a 2 KB part of repeated spaces compresses 100:1 legitimately);
# only parts that inflate to more than this are held to the ratio.
_RATIO_FLOOR = 1 * MIB
_DIMENSION = re.compile(rb'<dimension\s+ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"')


@dataclass(frozen=True)
class FileLimits:
    """What one file may expand to before it is parsed (see the module docstring)."""

    file_mb: int = 40
    inflated_mb: int = 200       # an XLSX's parts, inflated, all together
    inflate_ratio: int = 100     # inflated / compressed, per part over 1 MiB
    pdf_pages: int = 300         # a sheet is 1-7 pages; a whole year's book of sheets a few hundred
    sheets_per_file: int = 1000  # worksheets in a workbook, and evaluation sheets read from one file
    worksheet_rows: int = 20000  # rows a worksheet declares (a row-per-sheet workbook: one sheet a row)


DEFAULT_LIMITS = FileLimits()


def precheck(path: Path, head: bytes, limits: FileLimits = DEFAULT_LIMITS) -> None:
    """Raise LimitExceeded if the file is over a limit; a file that is merely broken passes
    (its reader says what is wrong with it)."""
    size = path.stat().st_size
    if size > limits.file_mb * MIB:
        raise LimitExceeded(str(path), f"ファイルが大きすぎます（{size / MIB:.0f} MB、上限 {limits.file_mb} MB）")
    if head.startswith(b"PK") and path.suffix.lower() in {".xlsx", ".xlsm"}:
        check_zip(path, limits)
    elif head.startswith(b"%PDF"):
        check_pdf(path, limits)


def check_sheet_count(path: Path, n: int, limits: FileLimits = DEFAULT_LIMITS) -> None:
    """After reading: a file that yields more evaluation sheets than allowed is refused whole."""
    if n > limits.sheets_per_file:
        raise LimitExceeded(str(path), f"1 つのファイルにシートが多すぎます（{n} 件、上限 {limits.sheets_per_file} 件）。"
                                        "ファイルを分けるか、管理者が上限（HYOKA_LIMITS__SHEETS_PER_FILE）を変更してください")


# --- XLSX ---------------------------------------------------------------------------------------
def check_zip(path: Path, limits: FileLimits) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            _check_declared(path, infos, limits)
            _check_worksheets(path, zf, infos, limits)
            _check_inflated(path, zf, infos, limits)
    except zipfile.BadZipFile:
        return  # broken, not big: the reader reports it
    except (OSError, EOFError, RuntimeError, NotImplementedError, ValueError):
        return  # encrypted parts, unknown compression, a truncated stream: also the reader's to report


def _too_big(path: Path, what: str) -> LimitExceeded:
    return LimitExceeded(str(path), f"{what}。圧縮爆弾（展開すると巨大になるファイル）の可能性があるため読み込みません")


def _check_declared(path: Path, infos: list[zipfile.ZipInfo], limits: FileLimits) -> None:
    declared = sum(i.file_size for i in infos)
    if declared > limits.inflated_mb * MIB:
        raise _too_big(path, f"展開後のサイズが大きすぎます（{declared / MIB:.0f} MB、上限 {limits.inflated_mb} MB）")
    for i in infos:
        if i.file_size > _RATIO_FLOOR and i.file_size > limits.inflate_ratio * max(1, i.compress_size):
            raise _too_big(path, f"圧縮率が異常です（{i.filename} が {i.file_size / max(1, i.compress_size):.0f} 倍に展開、"
                                 f"上限 {limits.inflate_ratio} 倍）")


def _check_worksheets(path: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: FileLimits) -> None:
    sheets = [i for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")]
    if len(sheets) > limits.sheets_per_file:
        raise LimitExceeded(str(path), f"ワークシートが多すぎます（{len(sheets)} 枚、上限 {limits.sheets_per_file} 枚）")
    for info in sheets:
        with zf.open(info) as fh:
            m = _DIMENSION.search(fh.read(4096))
        rows = int(m.group(1)) if m and m.group(1) else 0
        if rows > limits.worksheet_rows:
            raise LimitExceeded(str(path), f"ワークシートの行が多すぎます（{info.filename.rsplit('/', 1)[-1]}: "
                                            f"{rows} 行、上限 {limits.worksheet_rows} 行）")


def _check_inflated(path: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: FileLimits) -> None:
    """Inflate every part and count the bytes (the directory's sizes may be forged), and the rows
    of each worksheet (a writer need not declare its dimension)."""
    budget = limits.inflated_mb * MIB
    total = 0
    for info in infos:
        worksheet = info.filename.startswith("xl/worksheets/")
        rows, tail = 0, b""
        with zf.open(info) as fh:
            while block := fh.read(_CHUNK):
                total += len(block)
                if total > budget:
                    raise _too_big(path, f"展開後のサイズが上限（{limits.inflated_mb} MB）を超えます")
                if worksheet:
                    joined = tail + block
                    rows += joined.count(b"<row ") + joined.count(b"<row>") - tail.count(b"<row ") - tail.count(b"<row>")
                    tail = block[-5:]
        if rows > limits.worksheet_rows:
            raise LimitExceeded(str(path), f"ワークシートの行が多すぎます（{info.filename.rsplit('/', 1)[-1]}: "
                                           f"{rows} 行、上限 {limits.worksheet_rows} 行）")


# --- PDF ----------------------------------------------------------------------------------------
def check_pdf(path: Path, limits: FileLimits) -> None:
    """Count pages by walking the page tree, stopping one past the limit. A PDF that pdfminer
    cannot open passes: its reader reports it (encrypted, truncated ...)."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    pages = 0
    try:
        with path.open("rb") as fh:
            doc = PDFDocument(PDFParser(fh))
            for _ in PDFPage.create_pages(doc):
                pages += 1
                if pages > limits.pdf_pages:
                    break
    except Exception:  # noqa: BLE001 - pdfminer raises many unrelated classes for a broken file
        return
    if pages > limits.pdf_pages:
        raise LimitExceeded(str(path), f"ページ数が上限（{limits.pdf_pages} ページ）を超えています。"
                                        "評価シートのページだけを取り込んでください")
