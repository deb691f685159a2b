"""The index: the records store, one profile vector per sheet in Chroma, BM25 over every evidence unit.

search() fuses three rankings of sheets with reciprocal rank fusion: fuzzy matching of project
names (「空き家対策の事業」 -> 空家等対策推進事業), BM25 over the units of every sheet (passages,
table rows, profiles; a sheet ranks by its best units), and dense search over profile vectors.
evidence() gives the answerer a candidate sheet's units with their tokens and any stored vectors;
weighing them is the assistant's job.

The records store (records.py) is SQLite in HYOKA_HOME or PostgreSQL shared by many hosts; the
catalogue, the name index and BM25 are this process's own, built from it and rebuilt when it moves on
(its generation; for BM25, the generation the last ingest published). The UI and CLI read provenance,
generation and counts through this class, never the records store itself.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import threading
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock
from langchain_core.embeddings import Embeddings

from ingest.errors import UserInputError
from ingest.records import ParsedSheet
from ingest.units import Unit, units_of

from .bm25_index import BM25Index
from .chroma_index import ChromaConfig, ChromaIndex
from .index import VectorIndex
from .provenance import Provenance, Unofficial
from .records import FileRow, RecordsStore, SheetRow
from .records_db import RecordsDB
from .tokens import tokenize

log = logging.getLogger("hyoka.store")

RRF_K = 60
ABSENT_NAME_IDF = 4.0  # name idf of a word no project name contains (a store of a few sheets says little)
SHEET_CACHE = 512  # parsed sheets kept in memory for answering follow-ups quickly
BM25_CHECK_SECONDS = 1.0  # how often a search looks whether an ingest published a newer BM25


@dataclass(frozen=True)
class Filters:
    """Narrow the search: exact municipality, department substring, evaluation fiscal year; and
    within a sheet, a canonical section (e.g. 開始のきっかけ) or table (e.g. 成果指標)."""

    municipality: str = ""
    department: str = ""
    fiscal_year: int | None = None
    section: str = ""
    table: str = ""

    def allows(self, row: SheetRow) -> bool:
        return ((not self.municipality or row.municipality == self.municipality)
                and (not self.department or self.department in row.department)
                and (self.fiscal_year is None or row.fiscal_year == self.fiscal_year))

    def chroma_where(self) -> dict[str, Any] | None:
        conds: list[dict[str, Any]] = []
        if self.municipality:
            conds.append({"municipality": self.municipality})
        if self.fiscal_year is not None:
            conds.append({"fiscal_year": self.fiscal_year})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}


@dataclass(frozen=True)
class Hit:
    """A sheet found for a query, with each retriever's score (absent = not in its top k)."""

    sheet: SheetRow
    score: float
    name: float = 0.0       # 0-100, how much of the project name the query contains
    bm25: float = 0.0
    dense: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict[str, int])
    units: tuple[tuple[int, float], ...] = ()  # (unit number, BM25) of this sheet's best units


def spelled_name(text: str) -> str:
    """A name as spelled, kana kept, without spaces or punctuation: つばきまつり運営事業."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum())


def norm_name(text: str) -> str:
    """Names compared without okurigana-ish kana, spaces or punctuation: 空き家対策 ~ 空家等対策."""
    return "".join(ch for ch in spelled_name(text) if not ("\u3041" <= ch <= "\u3096"))


OKURIGANA = 2  # kana a name may drop and stay itself (空き家 ~ 空家); more are words (つばきまつり, ふるさと)


@functools.lru_cache(maxsize=20_000)
def _label_tokens(label: str) -> tuple[str, ...]:
    """A passage's printed label, tokenised once: the forms print the same labels on every sheet."""
    return tuple(tokenize(label)) if label else ()


def text_hash(text: str) -> str:
    """The embedding cache's key for a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Evidence:
    """A candidate sheet as the answerer weighs it: its units, their tokens and stored vectors."""

    sheet: ParsedSheet
    units: tuple[Unit, ...]
    tokens: tuple[tuple[str, ...], ...]
    vectors: tuple[np.ndarray | None, ...]


def _common_run(a: str, b: str) -> int:
    from difflib import SequenceMatcher

    return SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size if a and b else 0


def _bigram_postings(names: list[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for idx, name in enumerate(names):
        for bg in {name[i:i + 2] for i in range(len(name) - 1)}:
            out.setdefault(bg, []).append(idx)
    return out


@dataclass(frozen=True)
class _NameIndex:
    """The catalogue of one generation and the name index built from it."""

    generation: int
    rows: list[SheetRow]
    names: list[str]                      # normalised project names, in catalogue order
    spelled: list[str]                    # the same, kana kept (spelled_name)
    bigrams: dict[str, list[int]]         # bigram -> catalogue positions of the names holding it
    kana_bigrams: dict[str, list[int]]    # the same over the spelled names whose kana are words
    by_id: dict[str, SheetRow]
    municipalities: list[str]
    _df: dict[str, dict[str, int]] = field(default_factory=dict[str, dict[str, int]])  # filled on first use

    @classmethod
    def of(cls, generation: int, rows: list[SheetRow]) -> _NameIndex:
        names = [norm_name(r.project_name) for r in rows]
        spelled = [spelled_name(r.project_name) for r in rows]
        # Names whose kana are words are found by their kana too; the rest by their kana-less form only.
        kana_words = [x if len(x) - len(n) > OKURIGANA else "" for x, n in zip(spelled, names, strict=True)]
        return cls(generation, rows, names, spelled, _bigram_postings(names), _bigram_postings(kana_words),
                   {r.sheet_id: r for r in rows}, sorted({r.municipality for r in rows if r.municipality}))

    def scores(self, query: str, filters: Filters, k: int) -> list[tuple[str, float]]:
        """How much of a project name the query holds: the longest common run of characters,
        100 when it covers the name (or 10 characters of it). Bigram postings find candidates,
        so this stays fast at 50,000 names."""
        q, q_spelled = norm_name(query), spelled_name(query)
        if len(q) < 2 and len(q_spelled) < 2:
            return []
        counts: dict[int, int] = {}
        common = max(500, len(self.rows) // 20)
        grams = {q[i:i + 2] for i in range(len(q) - 1)}
        rare = [g for g in grams if 0 < len(self.bigrams.get(g, ())) <= common]
        # Bigrams in most names (事業, 推進) say little and cost much at 50,000 names: skip them
        # unless the query has nothing rarer.
        for bg in rare or grams:
            for idx in self.bigrams.get(bg, ()):
                counts[idx] = counts.get(idx, 0) + 1
        for bg in {q_spelled[i:i + 2] for i in range(len(q_spelled) - 1)} - grams:
            for idx in self.kana_bigrams.get(bg, ()):
                counts[idx] = counts.get(idx, 0) + 1
        top = sorted(counts, key=lambda i: (-counts[i], i))[: k * 4]
        out: list[tuple[str, float]] = []
        for idx in top:
            row, name, spelled = self.rows[idx], self.names[idx], self.spelled[idx]
            if not filters.allows(row) or not spelled:
                continue
            size, whole = _common_run(q, name), min(len(name), 10)
            kana = len(spelled) - len(name)
            if kana > OKURIGANA:
                # Kana that are words of the name (つばきまつり運営事業): what the question holds is
                # measured against the whole name, or 運営事業 alone would be all of it. Its kana do
                # not count toward the 10 characters that make a long name spelled.
                size, whole = max(size, _common_run(q_spelled, spelled)), min(len(spelled), 10 + kana)
            if size >= 2:
                out.append((row.sheet_id, 100.0 * min(1.0, size / max(4, whole))))
        out.sort(key=lambda x: (-x[1], x[0]))
        return out[:k]

    def name_df(self) -> dict[str, int]:
        """token -> in how many project names it occurs (tokenising 50,000 names waits for a question
        that needs it)."""
        if "df" not in self._df:
            df: dict[str, int] = {}
            for r in self.rows:
                for t in set(tokenize(r.project_name)):
                    df[t] = df.get(t, 0) + 1
            self._df["df"] = df
        return self._df["df"]


_EMPTY_NAMES = _NameIndex(-1, [], [], [], {}, {}, {}, [])


class Store:
    """This process's view of the index. HYOKA_HOME holds bm25/ (and, embedded, records.sqlite3 and
    chroma/); `records` (PostgreSQL) and a Chroma server put the rest where every host reaches it."""

    def __init__(self, home: Path, embeddings: Embeddings, model: str,
                 chroma: ChromaConfig | None = None, records: RecordsStore | None = None) -> None:
        chroma = chroma or ChromaConfig()
        self.home = home
        self.embeddings = embeddings
        self.model = model
        self.db: RecordsStore = records or RecordsDB(home / "records.sqlite3")
        if self.db.shared and chroma.mode != "server":
            raise UserInputError("記録ストアを PostgreSQL（HYOKA_RECORDS__URL）にするときは、Chroma もサーバーにしてください"
                                 "（HYOKA_CHROMA__MODE=server）。埋め込みの Chroma はこの HYOKA_HOME だけのもので、"
                                 "ほかのホストの取り込みが入りません")
        self._id = self.db.identity()
        self.chroma: VectorIndex = ChromaIndex(home / "chroma", model, chroma, self._id,
                                               adopt_legacy=not self.db.shared)
        self.bm25 = BM25Index(home / "bm25")
        self._bm25_building = False
        self._bm25_checked = float("-inf")
        self._cat = _EMPTY_NAMES
        self._lock = threading.Lock()
        self._sheet_cache: dict[str, tuple[str, ParsedSheet]] = {}
        self._evidence: dict[str, tuple[str, Evidence]] = {}

    # --- the records store, for the UI and CLI ----------------------------------------------
    def generation(self) -> int:
        return self.db.generation()

    def count(self) -> int:
        return self.db.count()

    def sheet_hashes(self) -> dict[str, str]:
        return self.db.sheet_hashes()

    def file(self, path: str) -> FileRow | None:
        return self.db.file(path)

    def provenance(self, sheet_ids: Iterable[str]) -> dict[str, Provenance]:
        return self.db.provenance.of(sheet_ids)

    def origins(self) -> dict[str, tuple[str, str]]:
        return self.db.provenance.origins()

    def unofficial(self) -> list[Unofficial]:
        return self.db.provenance.unofficial()

    def unofficial_sheet(self, version_id: str) -> tuple[ParsedSheet | None, Unofficial | None]:
        return self.db.provenance.unofficial_sheet(version_id), self.db.provenance.unofficial_of(version_id)

    # --- BM25, following the records store ------------------------------------------------
    def sync_bm25(self, background: bool = True) -> None:
        """Bring this home's BM25 up to the generation the last ingest published (meta
        bm25_generation). An index of this store that is only behind is rebuilt in a thread while
        the old one serves (`background`); no index, or another store's, is built before returning."""
        now = time.monotonic()
        if background and now - self._bm25_checked < BM25_CHECK_SECONDS:
            return
        self._bm25_checked = now
        published = int(self.db.meta("bm25_generation") or -1)
        if published < 0:
            return
        source = self.bm25.source()
        if source.get("store") == self._id and int(source.get("generation", -1)) >= published:
            return
        if self.bm25.ready() and not source and not self.db.shared:
            return  # an embedded store's index from before sources were kept: its ingest built it
        if background and self.bm25.ready() and source.get("store") == self._id:
            with self._lock:
                if self._bm25_building:
                    return
                self._bm25_building = True
            threading.Thread(target=self._rebuild_bm25, args=(published, True), name="hyoka-bm25",
                             daemon=True).start()
        else:
            self._rebuild_bm25(published)

    def rebuild_bm25(self, generation: int) -> float:
        """Build BM25 from the records store as of `generation`; seconds taken (0 if already there)."""
        return self._rebuild_bm25(generation)

    def _rebuild_bm25(self, generation: int, in_thread: bool = False) -> float:
        t0 = time.perf_counter()
        try:
            # One build at a time per home: the ingest and the apps sharing a home build into one folder.
            with FileLock(str(self.home / "bm25.lock")):
                source = self.bm25.source()
                if source.get("store") == self._id and int(source.get("generation", -1)) >= generation:
                    return 0.0
                self.bm25.build(self.db.unit_tokens(), {"store": self._id, "generation": generation})
            took = time.perf_counter() - t0
            log.info("BM25 rebuilt from the records store (generation %d) in %.1f s", generation, took)
            return took
        except Exception:
            if not in_thread:
                raise
            log.exception("rebuilding BM25 failed; the previous index goes on serving")
            return 0.0
        finally:
            if in_thread:
                with self._lock:
                    self._bm25_building = False

    # --- catalogue ----------------------------------------------------------------------
    def catalogue(self) -> list[SheetRow]:
        """All indexed sheets; reloaded when an ingest (in any process) changed the store."""
        return self._names_now().rows

    def _names_now(self) -> _NameIndex:
        """The catalogue and name index as of the store's generation: one snapshot, replaced whole,
        so a question reads rows and names of one generation while another thread reloads."""
        gen = self.db.generation()
        with self._lock:
            if gen != self._cat.generation:
                self._cat = _NameIndex.of(gen, self.db.sheet_rows())
                self._sheet_cache.clear()
                self._evidence.clear()
            return self._cat

    def sheet(self, sheet_id: str) -> ParsedSheet | None:
        row = self._names_now().by_id.get(sheet_id)
        if row is None:
            return None
        cached = self._sheet_cache.get(sheet_id)
        if cached and cached[0] == row.content_hash:
            return cached[1]
        ps = self.db.sheet(sheet_id)
        if ps is not None:
            if len(self._sheet_cache) >= SHEET_CACHE:
                self._sheet_cache.pop(next(iter(self._sheet_cache)))  # oldest first: a bounded cache
            self._sheet_cache[sheet_id] = (row.content_hash, ps)
        return ps

    def name_df(self, token: str) -> int:
        """In how many project names a token occurs."""
        return self._names_now().name_df().get(token, 0)

    def name_idf(self, token: str) -> float:
        """idf of a token over project names: 「野犬」 names a project, 「対策」「事業」 name every one.
        A word in no name at all is as specific as a word can be, however few sheets there are."""
        cat = self._names_now()
        df_t = cat.name_df().get(token, 0)
        n = max(len(cat.rows), 1)
        idf = math.log(1.0 + (n - df_t + 0.5) / (df_t + 0.5))
        return max(idf, ABSENT_NAME_IDF) if df_t == 0 else idf

    def municipalities(self) -> list[str]:
        return self._names_now().municipalities

    # --- search -------------------------------------------------------------------------
    def embed_query(self, text: str) -> list[float]:
        return self.embeddings.embed_query(text)

    def search(self, query: str, k: int = 10, filters: Filters | None = None, *,
               tokens: list[str] | None = None, vector: list[float] | None = None) -> list[Hit]:
        """Sheets for a query, best first; `tokens` and `vector` reuse a query's tokens and embedding."""
        filters = filters or Filters()
        cat = self._names_now()
        if not cat.rows:
            return []
        self.sync_bm25()
        by_id = cat.by_id
        name_scores = cat.scores(query, filters, k * 3)
        units: dict[str, list[tuple[int, float]]] = {}
        for sid, n, score in self.bm25.search(tokens if tokens is not None else tokenize(query), k * 30):
            if sid in by_id and filters.allows(by_id[sid]):
                units.setdefault(sid, []).append((n, score))
        bm25 = sorted(((sid, _sheet_bm25(found)) for sid, found in units.items()), key=lambda x: (-x[1], x[0]))
        dense = [(i, s) for i, s in self.chroma.query(vector if vector is not None else self.embed_query(query),
                                                       k * 3, filters.chroma_where())
                 if i in by_id and filters.allows(by_id[i])]
        return self._fuse(by_id, {"name": name_scores, "bm25": bm25[: k * 3], "dense": dense}, k, units)

    def evidence(self, sheet_id: str) -> Evidence | None:
        """The sheet's units with their stored tokens and cached vectors (cached by content hash)."""
        ps = self.sheet(sheet_id)
        if ps is None:
            return None
        key = ps.content_hash()
        cached = self._evidence.get(sheet_id)
        if cached and cached[0] == key:
            return cached[1]
        units = units_of(ps)
        stored = self.db.tokens_of(sheet_id) or []
        if len(stored) != len(units):  # a store written before units (or by another reader version)
            stored = [tokenize(u.search_text()) for u in units]
        tokens = tuple(tuple(t) + _label_tokens(u.label_text()) for t, u in zip(stored, units, strict=True))
        hashes = [text_hash(u.embedding_text()) for u in units]
        found = self.db.vectors(self.model, hashes)
        ev = Evidence(ps, units, tokens, tuple(found.get(h) for h in hashes))
        with self._lock:
            if len(self._evidence) >= SHEET_CACHE:
                self._evidence.pop(next(iter(self._evidence)))
            self._evidence[sheet_id] = (key, ev)
        return ev

    def name_matches(self, text: str, k: int = 3, filters: Filters | None = None) -> list[SheetRow]:
        """The sheets whose names the text holds most of, by the name index alone (no BM25, no vectors)."""
        cat = self._names_now()
        return [cat.by_id[sid] for sid, _ in cat.scores(text, filters or Filters(), k)]

    def names_in(self, text: str, at_least: float = 90.0) -> list[str]:
        """Project names the text spells out (name score at least `at_least`), best first."""
        cat = self._names_now()
        return [cat.by_id[sid].project_name for sid, score in cat.scores(text, Filters(), 10)
                if score >= at_least]

    def _fuse(self, by_id: dict[str, SheetRow], rankings: dict[str, list[tuple[str, float]]], k: int,
              units: dict[str, list[tuple[int, float]]]) -> list[Hit]:
        fused: dict[str, float] = {}
        ranks: dict[str, dict[str, int]] = {}
        raw: dict[str, dict[str, float]] = {}
        for name, ranking in rankings.items():
            for rank, (sid, score) in enumerate(ranking, start=1):
                fused[sid] = fused.get(sid, 0.0) + 1.0 / (RRF_K + rank)
                ranks.setdefault(sid, {})[name] = rank
                raw.setdefault(sid, {})[name] = score
        # The fused top, and each retriever's own best: a sheet that only BM25 ranks first (its one
        # passage holds every word asked) must reach the answerer, who weighs the evidence itself.
        order = sorted(fused, key=lambda s: (-fused[s], s))[:k]
        for ranking in rankings.values():
            for sid, _ in ranking[:3]:
                if sid not in order:
                    order.append(sid)
        return [Hit(sheet=by_id[s], score=fused[s], name=raw[s].get("name", 0.0), bm25=raw[s].get("bm25", 0.0),
                    dense=raw[s].get("dense", 0.0), ranks=ranks[s], units=tuple(units.get(s, ())[:8]))
                for s in order]


def _sheet_bm25(found: list[tuple[int, float]]) -> float:
    """A sheet's BM25 from its units: the best unit, plus a little for further units that match
    (a sheet that says it twice is likelier the one asked about than one that mentions it once)."""
    scores = sorted((s for _, s in found), reverse=True)
    return scores[0] + 0.25 * sum(scores[1:3])
