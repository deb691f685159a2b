"""Helpers shared by the PDF readers: opening a PDF safely, and turning table cells and
word positions into text that reads like the printed sheet.

Japanese sheets wrap lines mid-word, so a line break inside a cell is joined without a space
unless the next line starts a new item (・, ⑴, ※ ...).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pdfplumber
from pdfminer.psexceptions import PSException
from pdfplumber.page import Page
from pdfplumber.pdf import PDF
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from ..errors import SheetFileError
from ..normalize import nfkc

# pdfminer's errors (PDFException derives from PSException) and pdfplumber's wrappers of them.
_PDF_ERRORS = (PSException, PdfminerException, MalformedPDFException)

# A line starting with one of these begins a new item, so it keeps its own line (as a space).
_ITEM_START = re.compile(r"^[・●○■□◆◇※＊*（(【＜<]|^[⑴-⒇①-⑳]|^[0-9０-９]+[.．、)）]")
_LATIN_END = re.compile(r"[A-Za-z0-9,.)]$")
_LATIN_START = re.compile(r"^[A-Za-z0-9(]")


@contextmanager
def open_pdf(path: Path) -> Iterator[PDF]:
    """Open a PDF, turning pdfminer's many failure modes into one SheetFileError.

    Only errors raised while *opening and reading pages* are converted; a NotASheet raised by the
    caller inside the block passes through untouched.
    """
    try:
        pdf = pdfplumber.open(path)
    except Exception as exc:  # pdfminer raises bare syntax/PS/encryption errors of many classes
        raise SheetFileError(str(path), _reason(exc)) from exc
    try:
        yield pdf
    except _PDF_ERRORS as exc:  # a damaged page found while reading it
        raise SheetFileError(str(path), _reason(exc)) from exc
    finally:
        pdf.close()


def load_pages(pdf: PDF, path: Path) -> list[Page]:
    """All pages with overlapping duplicate glyphs removed (Kyoto prints some headings twice).

    Page parsing is lazy in pdfplumber, so a truncated file often fails only here.
    """
    try:
        pages: list[Page] = [p.dedupe_chars() for p in pdf.pages]
        for p in pages:
            _ = p.chars  # force parsing now, inside the try
    except Exception as exc:
        raise SheetFileError(str(path), _reason(exc)) from exc
    if not pages:
        raise SheetFileError(str(path), "ページがありません")
    return pages


def _reason(exc: Exception) -> str:
    # pdfplumber wraps pdfminer's error in PdfminerException(original); name the original.
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    name = f"{type(inner).__name__} {inner}"
    if "Password" in name or "crypt" in name.lower():
        return "暗号化されたPDFのため読めません"
    return f"PDFとして読めません（壊れているか途中で切れています: {type(inner).__name__}）"


def first_page_text(path: Path) -> str:
    """Text of page 1, or '' on any problem; for sniffing only."""
    try:
        with pdfplumber.open(path) as pdf:
            if not pdf.pages:
                return ""
            return pdf.pages[0].extract_text() or ""
    except Exception:
        return ""


def join_lines(text: str | None) -> str:
    """A table cell's lines as one text: wrapped lines joined, new items separated by a space."""
    if not text:
        return ""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    full = max((_width(ln) for ln in lines), default=0)
    out = ""
    for prev, line in zip([""] + lines, lines, strict=False):
        # A line well short of the cell's widest line ended a paragraph or a heading.
        short = full > 40 and _width(prev) < 0.75 * full
        if not out:
            out = line
        elif (_ITEM_START.match(line) or short
              or (_LATIN_END.search(out) and _LATIN_START.match(line))):
            out += " " + line
        else:
            out += line
    return out


def _width(text: str) -> int:
    """Printed width in half-width units (a kanji is two), to compare line lengths."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def squeeze(text: str | None) -> str:
    """A form label without its layout spacing: '事 業 費 Ａ' -> '事業費 A' (NFKC)."""
    t = nfkc(join_lines(text))
    # Spaces between two CJK characters only pad the form; between a word and a letter they stay.
    return re.sub(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])", "", t).strip()


_DOUBLED_RUN = re.compile(r"((.)\2){3,}")


def undouble(text: str) -> str:
    """Repair runs where every character is printed twice ('事事業業実実施施' -> '事業実施').

    Only runs of three or more doubled pairs are touched, so ordinary text with one repeated
    kana ('ささやか') is left alone. dedupe_chars() fixes this at the glyph level; this is the
    fallback for a text layer that still carries the pairs.
    """
    # '1000000' holds 000000 but is no doubling: a run of one repeated character is left alone.
    return _DOUBLED_RUN.sub(lambda m: m.group(0)[::2] if len(set(m.group(0))) > 1 else m.group(0),
                            text)


def words_in(page: Page, bbox: tuple[float, float, float, float]) -> list[dict]:
    """Words whose centre lies inside bbox, in reading order (top, then x)."""
    x0, top, x1, bottom = bbox
    words = page.extract_words(keep_blank_chars=False, use_text_flow=False)
    inside = [w for w in words if x0 <= (w["x0"] + w["x1"]) / 2 <= x1
              and top <= (w["top"] + w["bottom"]) / 2 <= bottom]
    return sorted(inside, key=lambda w: (round(w["top"]), w["x0"]))

