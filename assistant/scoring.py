"""The evaluation's scoring rules, as in shared/eval/score.py (a test checks they agree).

NFKC, thousands commas removed; a number must stand alone (68 matches neither 680 nor 6.8).
"""

from __future__ import annotations

import re
import unicodedata


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"(?<=\d),(?=\d{3})", "", text)


def has_number(text: str, number: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(number)}(?!\d|\.\d)", norm(text)) is not None


def cites_sheet(answer: dict, sheet: str) -> bool:
    want = norm(sheet)
    for c in answer.get("citations") or []:
        title = norm(str(c.get("project_name") or c.get("sheet_title") or ""))
        if want in title:
            return True
    return False


def judge(q: dict, a: dict | None) -> str | None:
    """None when the answer holds, else why not."""
    if a is None:
        return "no answer"
    e = q["expect"]
    if a.get("status") != e["status"]:
        return f"status {a.get('status')!r}, expected {e['status']!r}"
    if e["status"] == "not_found":
        return None
    text = a.get("answer") or ""
    if "sheet" in e and not cites_sheet(a, e["sheet"]):
        return f"no citation of {e['sheet']}"
    for n in e.get("numbers", []):
        if not has_number(text, n):
            return f"answer lacks {n}"
    phrases = [norm(p) for p in e.get("phrases_any", [])]
    if phrases:
        hits = sum(p in norm(text) for p in phrases)
        if hits < e.get("phrases_min", 1):
            return f"answer has {hits} of the expected phrases"
    return None


def score(questions: list[dict], answers: dict[object, dict]) -> tuple[list[str], dict[str, list[bool]]]:
    """Miss lines and per-type results, in the order score.py prints them."""
    misses: list[str] = []
    by_type: dict[str, list[bool]] = {}
    for q in questions:
        why = judge(q, answers.get(q["id"]))
        by_type.setdefault(q["type"], []).append(why is None)
        if why:
            misses.append(f"miss {q['id']} ({q['type']}): {why} | {q['question']}")
    return misses, by_type
