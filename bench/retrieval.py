"""Sheet retrieval quality, per retriever and fused, on question files with expected sheets.

usage: HYOKA_HOME=... python bench/retrieval.py ../shared/eval/dev.jsonl tests/data/heldout.jsonl

For each answered question with an expected sheet, is that sheet the top hit / in the top 10, by
project-name matching alone, BM25 alone, dense (profile vectors) alone, and fused (RRF)?
"""

from __future__ import annotations

import json
import sys
import unicodedata

from assistant.factory import build_store
from assistant.settings import Settings
from vectorstore.store import Filters
from vectorstore.tokens import tokenize


def _n(t: str) -> str:
    return unicodedata.normalize("NFKC", t)


def main(paths: list[str]) -> None:
    store = build_store(Settings())
    rows = {r.sheet_id: r for r in store.catalogue()}
    qs = [json.loads(x) for p in paths for x in open(p, encoding="utf-8") if x.strip()]
    qs = [q for q in qs if q["expect"].get("sheet") and not q.get("history")]
    stats = {k: [0, 0] for k in ("name", "bm25", "dense", "fused")}
    for q in qs:
        want = _n(q["expect"]["sheet"])
        ranked = {
            "name": [i for i, _ in store._name_scores(q["question"], store.catalogue(), Filters(), 10)],
            "bm25": [i for i, _ in store.bm25.search(tokenize(q["question"]), 10)],
            "dense": [i for i, _ in store.chroma.query(store.embeddings.embed_query(q["question"]), 10)],
            "fused": [h.sheet.sheet_id for h in store.search(q["question"], k=10)],
        }
        for k, ids in ranked.items():
            hits = [want in _n(rows[i].project_name) for i in ids]
            stats[k][0] += bool(hits[:1] and hits[0])
            stats[k][1] += any(hits)
    print(f"{len(qs)} questions with an expected sheet, {len(rows)} sheets indexed")
    print(f"{'retriever':<10}{'top-1':>8}{'top-10':>8}")
    for k, (t1, t10) in stats.items():
        print(f"{k:<10}{t1:>8}{t10:>8}")


if __name__ == "__main__":
    main(sys.argv[1:])
