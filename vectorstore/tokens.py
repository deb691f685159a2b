"""Sudachi tokens for BM25: normalised forms (空家 -> 空き家), content words only."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

_KEEP_POS = {"名詞", "動詞", "形容詞", "形状詞", "接尾辞", "記号", "副詞"}
_STOP = {"為る", "居る", "成る", "有る", "ある", "いる", "する", "なる", "こと", "もの", "ため", "よう", "等"}
_MAX_BYTES = 40000  # Sudachi refuses inputs over ~49 KB; split on sentence ends below that


_local = threading.local()


@lru_cache(maxsize=1)
def _dictionary():
    from sudachipy import Dictionary

    return Dictionary(dict="core")


def _tokenizer():
    """One tokenizer per thread: a Sudachi tokenizer refuses to be used by two threads at once
    (「Tokenizer is already in use」), and Gradio answers each chat user in a thread of its own."""
    tok = getattr(_local, "tokenizer", None)
    if tok is None:
        from sudachipy import SplitMode

        tok = _local.tokenizer = _dictionary().tokenizer(mode=SplitMode.C)
    return tok


def _chunks(text: str) -> list[str]:
    if len(text.encode("utf-8")) <= _MAX_BYTES:
        return [text]
    out, buf = [], ""
    for part in re.split(r"(?<=[。\n])", text):
        if len((buf + part).encode("utf-8")) > _MAX_BYTES and buf:
            out.append(buf)
            buf = ""
        buf += part[: _MAX_BYTES // 3]
    return out + ([buf] if buf else [])


def tokenize(text: str) -> list[str]:
    """Normalised content-word tokens; digits are kept so that 令和5 and 34人 stay findable."""
    text = unicodedata.normalize("NFKC", text)
    toks: list[str] = []
    for chunk in _chunks(text):
        for m in _tokenizer().tokenize(chunk):
            pos = m.part_of_speech()[0]
            if pos not in _KEEP_POS:
                continue
            norm = m.normalized_form()
            if norm in _STOP or not norm.strip() or (pos == "記号" and not norm.isalnum()):
                continue
            toks.append(norm.lower())
    return toks


@lru_cache(maxsize=20_000)
def parts_of(token: str) -> tuple[str, ...]:
    """A compound's words (コスト削減 -> コスト, 削減; 市議会 -> 市, 議会), as Sudachi splits it at its
    shortest unit; a single word gives itself."""
    from sudachipy import SplitMode

    out = []
    for m in _tokenizer().tokenize(token):
        shortest = list(m.split(SplitMode.A)) or [m]
        out += [norm for a in shortest if (norm := a.normalized_form().lower()).strip()]
    return tuple(out)


def thing_nouns(text: str) -> set[str]:
    """The normalised forms (as `tokenize` gives them) of the nouns that name things: proper nouns and
    plain common nouns (空港, 滑走路, NPO). Not verbal nouns (起債, 水揚げ, 横ばい: what is done or how it
    went), counters (キロ), adjectival nouns (必要) or numerals: a question asks with those."""
    out: set[str] = set()
    for chunk in _chunks(unicodedata.normalize("NFKC", text)):
        for m in _tokenizer().tokenize(chunk):
            pos = m.part_of_speech()
            if pos[0] == "名詞" and (pos[1] == "固有名詞" or (pos[1] == "普通名詞" and pos[2] == "一般")):
                out.add(m.normalized_form().lower())
    return out


_KANJI_NUMERAL = re.compile(r"[〇一二三四五六七八九十百千万億兆]")


def normalize_numerals(text: str) -> str:
    """Kanji numerals as digits, as Sudachi reads them (令和五年度 -> 令和5年度, 二十三人 -> 23人);
    everything else as written. Words that merely contain a numeral kanji (一般, 一部) stay."""
    if not _KANJI_NUMERAL.search(text):
        return text
    out = []
    for chunk in _chunks(text):
        for m in _tokenizer().tokenize(chunk):
            surface = m.surface()
            pos = m.part_of_speech()
            if pos[1] == "数詞" and _KANJI_NUMERAL.search(surface) and m.normalized_form().isdigit():
                out.append(m.normalized_form())
            else:
                out.append(surface)
    return "".join(out)
