"""Decoding text files the way municipalities save them: UTF-8 (with or without BOM), Shift_JIS, UTF-16."""

from __future__ import annotations

from pathlib import Path

from .errors import SheetFileError

_CANDIDATES = ("utf-8-sig", "cp932", "euc_jp")


def decode_bytes(data: bytes, path: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if len(data) >= 4 and data[1:4:2] == b"\x00\x00" and data[0] != 0:
        return data.decode("utf-16-le")
    for enc in _CANDIDATES:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise SheetFileError(path, "文字コードを判別できません（UTF-8、Shift_JIS、UTF-16 のいずれでもありません）")


def read_text(path: Path) -> str:
    return decode_bytes(path.read_bytes(), str(path))


def looks_textual(head: bytes) -> bool:
    """True for text in any of the encodings above (no NUL bytes, or UTF-16 with a BOM)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return b"\x00" not in head[:4096]


def head_text(head: bytes) -> str:
    """Best-effort text of a file's first bytes, for sniffing (the cut may split a character)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) >= 4 and head[1:4:2] == b"\x00\x00"):
        return head.decode("utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-16-le", errors="ignore")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:
            return head[: exc.start].decode("utf-8-sig")
    return head.decode("cp932", errors="ignore")
