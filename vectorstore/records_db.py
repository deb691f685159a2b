"""The records of every indexed sheet, in SQLite: the source of truth for answers.

Chroma holds one profile vector per sheet for finding sheets; every figure and quote comes from
here. WAL mode lets the chat read while an ingest writes; each file's sheets change in one
transaction, so a sheet is always either fully old or fully new.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.meta import sheet_meta
from ingest.records import ParsedSheet

from .errors import store_errors
from .provenance import SCHEMA as PROVENANCE_SCHEMA
from .provenance import ProvenanceTable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sheets (
  sheet_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, source_file TEXT NOT NULL,
  project_name TEXT NOT NULL, municipality TEXT NOT NULL, department TEXT NOT NULL,
  fiscal_year INTEGER, fiscal_year_label TEXT NOT NULL, locator TEXT NOT NULL, layout TEXT NOT NULL,
  n_narratives INTEGER NOT NULL, n_cells INTEGER NOT NULL, n_warnings INTEGER NOT NULL,
  tokens TEXT NOT NULL, profile TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sheets_by_file ON sheets(source_file);
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, parser_version TEXT NOT NULL,
  status TEXT NOT NULL, message TEXT NOT NULL, sheet_ids TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS files_by_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS embed_cache (
  model TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, text_hash));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
  sheet_id TEXT NOT NULL, n INTEGER NOT NULL, record_id TEXT NOT NULL, tbl TEXT NOT NULL,
  row_label TEXT NOT NULL, unit TEXT NOT NULL, fiscal_year INTEGER, kind TEXT NOT NULL,
  value REAL, value_text TEXT NOT NULL, year_label TEXT NOT NULL, printed_year_label TEXT NOT NULL,
  locator TEXT NOT NULL, PRIMARY KEY (sheet_id, n));
DROP INDEX IF EXISTS cells_by_label;
CREATE INDEX IF NOT EXISTS cells_by_row ON cells(sheet_id, tbl, row_label);
CREATE TABLE IF NOT EXISTS departments (
  sheet_id TEXT NOT NULL, n INTEGER NOT NULL, level TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (sheet_id, n));
CREATE INDEX IF NOT EXISTS departments_by_name ON departments(name);
CREATE TABLE IF NOT EXISTS policies (
  sheet_id TEXT NOT NULL, n INTEGER NOT NULL, level TEXT NOT NULL, label TEXT NOT NULL, text TEXT NOT NULL,
  PRIMARY KEY (sheet_id, n));
"""


# The store's format: "units-1" = one line of tokens per evidence unit; "units-2" adds the cells,
# departments and policies tables; "units-3" indexes a passage's text without its printed label. Older stores are brought up to date by `hyoka ingest`
# (Indexer.migrate), from their stored records alone.
STORE_FORMAT = "units-3"


def _join_units(units: list[list[str]]) -> str:
    return "\n".join(" ".join(t.replace("\n", " ") for t in toks) for toks in units)


@dataclass(frozen=True)
class SheetRow:
    """What the catalogue knows of a sheet without loading its records."""

    sheet_id: str
    content_hash: str
    source_file: str
    project_name: str
    municipality: str
    department: str
    fiscal_year: int | None
    fiscal_year_label: str
    locator: str
    n_narratives: int
    n_cells: int


@dataclass(frozen=True)
class Scope:
    """Which sheets a question across sheets is about. Empty fields do not narrow."""

    municipality: str = ""
    department: str = ""          # a unit's name or part of it (水産課 matches 農林水産部水産課 漁港漁村係)
    department_exact: bool = False  # the name of a unit as the sheets print it: that unit, not others containing it
    policy: str = ""              # part of a 政策/施策/基本事業 text (or the layout's equivalent)
    sheet_ids: tuple[str, ...] = ()
    name_like: str = ""           # words every project name in the scope holds (医療費助成)


@dataclass(frozen=True)
class CellRow:
    """One cell for a question across sheets, with its value in yen where its unit is money."""

    sheet_id: str
    project_name: str
    municipality: str
    department: str
    record_id: str
    table: str
    row_label: str
    unit: str
    fiscal_year: int | None
    kind: str
    value: float | None
    value_text: str
    yen: float | None             # value × the unit's factor (千円 -> 1,000), None for other units
    year_label: str = ""
    printed_year_label: str = ""
    locator: str = ""
    source_file: str = ""
    sheet_locator: str = ""
    sheet_year: int | None = None
    sheet_year_label: str = ""


# Money units and their factor to yen: compared and summed in yen, shown in the sheets' own unit.
YEN = {"円": 1, "千円": 1_000, "万円": 10_000, "百万円": 1_000_000, "億円": 100_000_000}
_YEN_SQL = "CASE c.unit " + " ".join(f"WHEN '{u}' THEN {f}" for u, f in YEN.items()) + " ELSE NULL END"


@dataclass(frozen=True)
class FileRow:
    path: str
    sha256: str
    parser_version: str
    status: str        # indexed | skipped | duplicate
    message: str
    sheet_ids: tuple[str, ...]


class RecordsDB:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        with store_errors(path.parent):
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._conn() as con:
                con.executescript(_SCHEMA)
                con.executescript(PROVENANCE_SCHEMA)
        self.provenance = ProvenanceTable(self._conn)

    def _conn(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
        return con

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        con = self._conn()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    # --- sheets -------------------------------------------------------------------------
    def put_sheet(self, con: sqlite3.Connection, ps: ParsedSheet, units: list[list[str]], profile: str) -> None:
        """The sheet, its records and the tokens of each of its units (ingest/units.py order)."""
        s = ps.sheet
        con.execute(
            "INSERT OR REPLACE INTO sheets VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (s.sheet_id, ps.content_hash(), s.source_file, s.project_name, s.municipality, s.department,
             s.fiscal_year, s.fiscal_year_label, s.locator, s.layout, len(ps.narratives), len(ps.cells),
             len(ps.warnings), _join_units(units), profile, ps.model_dump_json()))
        self._put_tables(con, ps)

    def _put_tables(self, con: sqlite3.Connection, ps: ParsedSheet) -> None:
        """The sheet's cells, department levels and policy hierarchy as rows, for questions across sheets."""
        sid = ps.sheet.sheet_id
        for table in ("cells", "departments", "policies"):
            con.execute(f"DELETE FROM {table} WHERE sheet_id=?", (sid,))
        con.executemany("INSERT INTO cells VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", [
            (sid, i, c.record_id, c.table.value, c.row_label, c.unit, c.fiscal_year, c.kind.value, c.value,
             c.value_text, c.fiscal_year_label, c.printed_year_label, c.locator)
            for i, c in enumerate(ps.cells)])
        meta = sheet_meta(ps)
        con.executemany("INSERT INTO departments VALUES (?,?,?,?)",
                        [(sid, i, level, name) for i, (level, name) in enumerate(meta.parts)])
        con.executemany("INSERT INTO policies VALUES (?,?,?,?,?)",
                        [(sid, i, level, label, text) for i, (level, label, text) in enumerate(meta.policy)])

    def delete_sheets(self, con: sqlite3.Connection, sheet_ids: Iterable[str]) -> None:
        ids = [(i,) for i in sheet_ids]
        for table in ("sheets", "cells", "departments", "policies"):
            con.executemany(f"DELETE FROM {table} WHERE sheet_id=?", ids)

    def sheet(self, sheet_id: str) -> ParsedSheet | None:
        row = self._conn().execute("SELECT data FROM sheets WHERE sheet_id=?", (sheet_id,)).fetchone()
        return ParsedSheet.model_validate_json(row[0]) if row else None

    def sheet_hashes(self) -> dict[str, str]:
        return dict(self._conn().execute("SELECT sheet_id, content_hash FROM sheets"))

    def hashes_of(self, sheet_ids: Iterable[str]) -> dict[str, str]:
        """content_hash of the given sheets that are stored (per-file lookups stay O(sheets of the file))."""
        ids = list(sheet_ids)
        out: dict[str, str] = {}
        con = self._conn()
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            q = f"SELECT sheet_id, content_hash FROM sheets WHERE sheet_id IN ({','.join('?' * len(part))})"
            out.update(dict(con.execute(q, part)))
        return out

    def sheet_rows(self) -> list[SheetRow]:
        cur = self._conn().execute(
            "SELECT sheet_id, content_hash, source_file, project_name, municipality, department, fiscal_year,"
            " fiscal_year_label, locator, n_narratives, n_cells FROM sheets ORDER BY municipality, project_name")
        return [SheetRow(*r) for r in cur]

    def unit_tokens(self) -> Iterator[tuple[str, list[list[str]]]]:
        """Every sheet's unit tokens, in unit order (one stored line per unit), sheets by id.

        Interned: 50,000 sheets hold ~27M tokens but a small vocabulary; one str object per token
        occurrence made the BM25 rebuild take 2.3 GiB before bm25s even started."""
        cur = self._conn().execute("SELECT sheet_id, tokens FROM sheets ORDER BY sheet_id")
        for sid, toks in cur:
            yield sid, [[sys.intern(t) for t in line.split()] for line in toks.split("\n")]

    def tokens_of(self, sheet_id: str) -> list[list[str]] | None:
        row = self._conn().execute("SELECT tokens FROM sheets WHERE sheet_id=?", (sheet_id,)).fetchone()
        return [line.split() for line in row[0].split("\n")] if row else None

    def set_tokens(self, con: sqlite3.Connection, sheet_id: str, units: list[list[str]]) -> None:
        con.execute("UPDATE sheets SET tokens=? WHERE sheet_id=?", (_join_units(units), sheet_id))

    def set_tables(self, con: sqlite3.Connection, ps: ParsedSheet) -> None:
        self._put_tables(con, ps)

    def sheet_ids(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT sheet_id FROM sheets ORDER BY sheet_id")]

    def profiles(self) -> dict[str, tuple[str, str]]:
        """sheet_id -> (content_hash, profile text)."""
        cur = self._conn().execute("SELECT sheet_id, content_hash, profile FROM sheets")
        return {sid: (h, p) for sid, h, p in cur}

    def source_of(self, sheet_id: str) -> str | None:
        row = self._conn().execute("SELECT source_file FROM sheets WHERE sheet_id=?", (sheet_id,)).fetchone()
        return row[0] if row else None

    def sheet_labels(self, sheet_ids: Iterable[str]) -> dict[str, tuple[str, int | None]]:
        """sheet_id -> (municipality, fiscal_year) of the given stored sheets ('' / None = unknown)."""
        ids = list(sheet_ids)
        out: dict[str, tuple[str, int | None]] = {}
        con = self._conn()
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            q = f"SELECT sheet_id, municipality, fiscal_year FROM sheets WHERE sheet_id IN ({','.join('?' * len(part))})"
            out.update({sid: (m, y) for sid, m, y in con.execute(q, part)})
        return out

    def richness(self, sheet_id: str) -> tuple[int, int] | None:
        row = self._conn().execute(
            "SELECT n_narratives + n_cells, n_narratives FROM sheets WHERE sheet_id=?", (sheet_id,)).fetchone()
        return (row[0], row[1]) if row else None

    # --- questions across sheets ------------------------------------------------------------
    # The one place that knows the tables of cells, departments and policies.
    def _scope_sql(self, scope: Scope) -> tuple[str, list[object]]:
        """A WHERE over `sheets s` for the scope. Department and policy conditions are uncorrelated
        subqueries, evaluated once (a LIKE per sheet row was a scan per row at 50,000 sheets)."""
        where, args = ["1=1"], []
        if scope.municipality:
            where.append("s.municipality = ?")
            args.append(scope.municipality)
        if scope.department and scope.department_exact:
            where.append("s.sheet_id IN (SELECT sheet_id FROM departments WHERE name = ?)")
            args.append(scope.department)
        elif scope.department:
            where.append("(s.sheet_id IN (SELECT sheet_id FROM departments WHERE name LIKE ?) OR s.department LIKE ?)")
            args += [f"%{scope.department}%", f"%{scope.department}%"]
        if scope.policy:
            where.append("s.sheet_id IN (SELECT sheet_id FROM policies WHERE text LIKE ?)")
            args.append(f"%{scope.policy}%")
        if scope.sheet_ids:
            where.append(f"s.sheet_id IN ({','.join('?' * len(scope.sheet_ids))})")
            args += list(scope.sheet_ids)
        if scope.name_like:
            where.append("s.project_name LIKE ?")
            args.append(f"%{scope.name_like}%")
        return " AND ".join(where), args

    def scoped(self, scope: Scope) -> list[SheetRow]:
        """The sheets in the scope, in catalogue order."""
        where, args = self._scope_sql(scope)
        cur = self._conn().execute(
            "SELECT s.sheet_id, s.content_hash, s.source_file, s.project_name, s.municipality, s.department,"
            " s.fiscal_year, s.fiscal_year_label, s.locator, s.n_narratives, s.n_cells FROM sheets s"
            f" WHERE {where} ORDER BY s.municipality, s.project_name, s.sheet_id", args)
        return [SheetRow(*r) for r in cur]

    def scope_rows(self, scope: Scope) -> list[tuple[str, str, str, str]]:
        """Every (sheet, table, row label, unit) in the scope that holds a figure, in sheet order."""
        where, args = self._scope_sql(scope)
        cur = self._conn().execute(
            f"WITH ids AS (SELECT s.sheet_id FROM sheets s WHERE {where})"
            " SELECT c.sheet_id, c.tbl, c.row_label, c.unit, MIN(c.n) FROM cells c"
            " WHERE c.sheet_id IN (SELECT sheet_id FROM ids) AND c.value IS NOT NULL"
            " GROUP BY c.sheet_id, c.tbl, c.row_label, c.unit ORDER BY c.sheet_id, MIN(c.n)", args)
        return [r[:4] for r in cur]

    def cells_of_rows(self, rows: Iterable[tuple[str, str, str]], years: Iterable[int] = (),
                      kinds: Iterable[str] = ()) -> list[CellRow]:
        """The cells of the given (sheet, table, row label) rows, for the years and kinds (all if empty),
        in sheet order; money in yen alongside."""
        rows = list(rows)
        if not rows:
            return []
        years, kinds = list(years), list(kinds)
        out: list[CellRow] = []
        for i in range(0, len(rows), 300):
            part = rows[i:i + 300]
            args: list[object] = [x for r in part for x in r]
            cond = "1=1"
            if years:
                cond += f" AND c.fiscal_year IN ({','.join('?' * len(years))})"
                args += years
            if kinds:
                cond += f" AND c.kind IN ({','.join('?' * len(kinds))})"
                args += kinds
            cur = self._conn().execute(
                f"WITH want(sid, tbl, label) AS (VALUES {','.join('(?,?,?)' for _ in part)})"
                " SELECT c.sheet_id, s.project_name, s.municipality, s.department, c.record_id, c.tbl, c.row_label,"
                f" c.unit, c.fiscal_year, c.kind, c.value, c.value_text, c.value * ({_YEN_SQL}), c.year_label,"
                " c.printed_year_label, c.locator, s.source_file, s.locator, s.fiscal_year, s.fiscal_year_label"
                " FROM want JOIN cells c ON c.sheet_id = want.sid AND c.tbl = want.tbl AND c.row_label = want.label"
                f" JOIN sheets s ON s.sheet_id = c.sheet_id WHERE {cond} ORDER BY c.sheet_id, c.n", args)
            out += [CellRow(*r) for r in cur]
        return out

    def department_names(self) -> list[tuple[str, str]]:
        """Every (level, name) of a unit any sheet names."""
        return list(self._conn().execute("SELECT DISTINCT level, name FROM departments ORDER BY name"))

    def policy_texts(self) -> list[tuple[str, str]]:
        """Every (level, text) of the policy hierarchies the sheets print."""
        return list(self._conn().execute("SELECT DISTINCT level, text FROM policies ORDER BY text"))

    # --- files --------------------------------------------------------------------------
    def file(self, path: str) -> FileRow | None:
        row = self._conn().execute("SELECT * FROM files WHERE path=?", (path,)).fetchone()
        if row is None:
            return None
        return FileRow(row[0], row[1], row[2], row[3], row[4], tuple(json.loads(row[5])))

    def indexed_file_with_sha(self, sha256: str, other_than: str) -> str | None:
        """Another indexed file with exactly these bytes (the same file under another name)."""
        row = self._conn().execute(
            "SELECT path FROM files WHERE sha256=? AND path<>? AND status='indexed' ORDER BY path LIMIT 1",
            (sha256, other_than)).fetchone()
        return row[0] if row else None

    def put_file(self, con: sqlite3.Connection, f: FileRow) -> None:
        con.execute("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?)",
                    (f.path, f.sha256, f.parser_version, f.status, f.message, json.dumps(list(f.sheet_ids))))

    # --- embedding cache ----------------------------------------------------------------
    def cached_vectors(self, model: str, hashes: list[str]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        con = self._conn()
        for i in range(0, len(hashes), 500):
            part = hashes[i:i + 500]
            q = f"SELECT text_hash, vector FROM embed_cache WHERE model=? AND text_hash IN ({','.join('?' * len(part))})"
            for h, blob in con.execute(q, (model, *part)):
                out[h] = np.frombuffer(blob, dtype=np.float32).tolist()
        return out

    def vectors(self, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
        """Cached vectors as arrays (for scoring units at question time); absent hashes are left out."""
        out: dict[str, np.ndarray] = {}
        con = self._conn()
        for i in range(0, len(hashes), 500):
            part = hashes[i:i + 500]
            q = f"SELECT text_hash, vector FROM embed_cache WHERE model=? AND text_hash IN ({','.join('?' * len(part))})"
            for h, blob in con.execute(q, (model, *part)):
                out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def cache_vectors(self, model: str, vectors: dict[str, list[float]]) -> None:
        with self.transaction() as con:
            con.executemany("INSERT OR REPLACE INTO embed_cache VALUES (?,?,?)",
                            [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()])

    # --- meta ---------------------------------------------------------------------------
    def generation(self) -> int:
        row = self._conn().execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def bump_generation(self, con: sqlite3.Connection) -> None:
        con.execute("INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE"
                    " SET value = CAST(value AS INTEGER) + 1")

    def meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def count(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM sheets").fetchone()[0])
