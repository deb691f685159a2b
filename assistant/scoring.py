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


def confidently_wrong(q: dict, a: dict | None) -> bool:
    """Answered, and wrong: a look-alike row, another project's figure, or an answer to a question
    the sheets cannot answer. Worse than a refusal, so it is reported beside accuracy."""
    return a is not None and a.get("status") == "answered" and judge(q, a) is not None


def summary_lines(questions: list[dict], answers: dict[object, dict]) -> list[str]:
    """Per type: right / all and the confidently-wrong count; then the overall figures, accuracy last
    (the same last line as score.py)."""
    rows: dict[str, list[tuple[bool, bool]]] = {}
    for q in questions:
        a = answers.get(q["id"])
        rows.setdefault(q["type"], []).append((judge(q, a) is None, confidently_wrong(q, a)))
    out = [f"{t}: {sum(ok for ok, _ in r)}/{len(r)}, confidently wrong {sum(cw for _, cw in r)}"
           for t, r in sorted(rows.items())]
    every = [x for r in rows.values() for x in r]
    n = len(every) or 1
    cw = sum(c for _, c in every)
    out.append(f"confidently wrong {cw / n:.2f} ({cw}/{len(every)})")
    out.append(f"accuracy {sum(ok for ok, _ in every) / n:.2f} ({sum(ok for ok, _ in every)}/{len(every)})")
    return out
