"""Calibrate the answering thresholds on tuning questions: accuracy against the confidently-wrong share.

    HYOKA_HOME=.hyoka/eval python bench/calibrate.py .hyoka/breadth.jsonl tests/data/heldout.jsonl \\
        ../shared/eval/dev.jsonl [--every 3]

Each threshold of evidence.Weights is moved on its own over a few values around the one in use, and
every question is answered in-process. A threshold is set where confidently wrong answers stay rare
for the least loss of accuracy. Never run this on the blind sets: they measure, they do not tune.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.core import Assistant  # noqa: E402
from assistant.evidence import W  # noqa: E402
from assistant.factory import build_store  # noqa: E402
from assistant.messages import history_from_json  # noqa: E402
from assistant.scoring import confidently_wrong, judge  # noqa: E402
from assistant.settings import Settings  # noqa: E402

GRID = {
    "p_min": (0.35, 0.40, 0.45, 0.50, 0.55),
    "row_min_label": (0.4, 0.5, 0.6, 0.7),
    "named_min": (0.65, 0.75, 0.85, 0.95),
    "sheet_prior": (0.3, 0.5, 0.7),
}


def run(store, weights, questions: list[dict]) -> tuple[float, float]:
    assistant = Assistant(store, weights)
    ok = cw = 0
    for q in questions:
        a = assistant.ask(q["question"], history_from_json(q.get("history"))).contract(q["id"])
        ok += judge(q, a) is None
        cw += confidently_wrong(q, a)
    return ok / len(questions), cw / len(questions)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--every", type=int, default=3, help="use every n-th question (speed)")
    args = ap.parse_args()
    if any("blind" in f for f in args.files):
        print("blind sets measure; they are not for tuning", file=sys.stderr)
        return 2
    qs = [json.loads(x) for f in args.files for x in Path(f).read_text(encoding="utf-8").splitlines() if x.strip()]
    qs = qs[:: args.every]
    store = build_store(Settings())
    print(f"{len(qs)} questions; in use: " + ", ".join(f"{k}={getattr(W, k)}" for k in GRID))
    print("| threshold | value | accuracy | confidently wrong |\n|---|---|---|---|")
    for name, values in GRID.items():
        for v in values:
            acc, cw = run(store, replace(W, **{name: v}), qs)
            mark = " (in use)" if v == getattr(W, name) else ""
            print(f"| {name} | {v}{mark} | {acc:.3f} | {cw:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
