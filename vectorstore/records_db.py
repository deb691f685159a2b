"""The SQL of the records store, on either engine, and its SQLite engine (the embedded default).

SQLRecords holds the schema (as data, written out in each engine's types) and every query: the one
place that knows the tables. An engine supplies connections, transactions, the ingest lock and a few
dialect words (placeholders, upserts, LIKE, ordering by bytes). RecordsDB is SQLite in HYOKA_HOME:
WAL mode lets the chat read while an ingest writes; each file's sheets change in one transaction, so
a sheet is always either fully old or fully new. Chroma holds one profile vector per sheet for
finding sheets; every figure and quote comes from here.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from ingest.meta import sheet_meta
from ingest.records import ParsedSheet, stable_id

from .errors import store_errors
from .provenance import TABLES as PROVENANCE_TABLES
from .provenance import ProvenanceTable
from .records import YEN, CellRow, FileRow, Scope, SheetRow, Table, Tx

TABLES = (
    Table("sheets", ("sheet_id TEXT", "content_hash TEXT", "source_file TEXT", "project_name TEXT",
                     "municipality TEXT", "department TEXT", "fiscal_year INTEGER NULL", "fiscal_year_label TEXT",
                     "locator TEXT", "layout TEXT", "n_narratives INTEGER", "n_cells INTEGER", "n_warnings INTEGER",
                     "tokens TEXT", "profile TEXT", "data TEXT"),
          ("sheet_id",), (("sheets_by_file", "source_file"),)),
    Table("files", ("path TEXT", "sha256 TEXT", "parser_version TEXT", "status TEXT", "message TEXT",
                    "sheet_ids TEXT"), ("path",), (("files_by_sha", "sha256"),)),
    Table("embed_cache", ("model TEXT", "text_hash TEXT", "vector BLOB"), ("model", "text_hash")),
    Table("meta", ("key TEXT", "value TEXT"), ("key",)),
    # The index matches the join of cells_of_rows: (sheet, table, row label) -> its cells.
    Table("cells", ("sheet_id TEXT", "n INTEGER", "record_id TEXT", "tbl TEXT", "row_label TEXT", "unit TEXT",
                    "fiscal_year INTEGER NULL", "kind TEXT", "value REAL NULL", "value_text TEXT", "year_label TEXT",
                    "printed_year_label TEXT", "locator TEXT"),
          ("sheet_id", "n"), (("cells_by_row", "sheet_id, tbl, row_label"),)),
    Table("departments", ("sheet_id TEXT", "n INTEGER", "level TEXT", "name TEXT"), ("sheet_id", "n"),
          (("departments_by_name", "name"),)),
    Table("policies", ("sheet_id TEXT", "n INTEGER", "level TEXT", "label TEXT", "text TEXT"), ("sheet_id", "n")),
)
_DROPPED_INDEXES = ("cells_by_label",)  # (row_label, year): made the planner scan every sheet's row


# The store's format: "units-1" = one line of tokens per evidence unit; "units-2" adds the cells,
# departments and policies tables; "units-3" indexes a passage's text without its printed label;
# "units-4" cuts passages at a ・ only where it opens a bullet (ingest/units.py).
# Older stores are brought up to date by `hyoka ingest` (Indexer.migrate), from their stored records alone.
STORE_FORMAT = "units-4"

_YEN_SQL = "CASE c.unit " + " ".join(f"WHEN '{u}' THEN {f}" for u, f in YEN.items()) + " ELSE NULL END"
_SHEET_ROW = ("s.sheet_id, s.content_hash, s.source_file, s.project_name, s.municipality, s.department,"
              " s.fiscal_year, s.fiscal_year_label, s.locator, s.n_narratives, s.n_cells")


def _join_units(units: list[list[str]]) -> str:
    return "\n".join(" ".join(t.replace("\n", " ") for t in toks) for toks in units)


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SQLRecords:
    """Every query of the records store, in SQL both engines run. `?` marks a parameter."""

    TYPES = {"TEXT": "TEXT", "INTEGER": "INTEGER", "REAL": "REAL", "BLOB": "BLOB"}
    BUMP = ("INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE"
            " SET value = CAST(value AS INTEGER) + 1")
    provenance: ProvenanceTable

    # --- what an engine supplies --------------------------------------------------------------
    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def _stream(self, sql: str, args: Sequence[Any] = ()) -> Iterator[tuple]:
        raise NotImplementedError

    def transaction(self) -> Any:
        raise NotImplementedError

    def upsert(self, table: str) -> str:
        """INSERT that replaces the row with the same key."""
        raise NotImplementedError

    def insert_new(self, table: str) -> str:
        """INSERT that leaves an existing row with the same key as it is."""
        raise NotImplementedError

    def like(self, column: str) -> str:
        """`column LIKE ?` as SQLite means it: ASCII letters in either case, no escape character."""
        return f"{column} LIKE ?"

    # --- schema -------------------------------------------------------------------------------
    @classmethod
    def ddl(cls) -> list[str]:
        out = []
        for t in (*TABLES, *PROVENANCE_TABLES):
            cols = []
            for c in t.columns:
                name, kind, *null = c.split()
                cols.append(f"{name} {cls.TYPES[kind]}{'' if null else ' NOT NULL'}")
            out.append(f"CREATE TABLE IF NOT EXISTS {t.name} ({', '.join(cols)}, PRIMARY KEY ({', '.join(t.key)}))")
        out += [f"DROP INDEX IF EXISTS {name}" for name in _DROPPED_INDEXES]
        out += [f"CREATE INDEX IF NOT EXISTS {name} ON {t.name}({cols})"
                for t in (*TABLES, *PROVENANCE_TABLES) for name, cols in t.indexes]
        return out

    @staticmethod
    def table(name: str) -> Table:
        return next(t for t in (*TABLES, *PROVENANCE_TABLES) if t.name == name)

    def refuses(self, ps: ParsedSheet) -> str:
        """Why this engine cannot store the sheet as it is (a Japanese sentence), or ""."""
        return ""

    def _one(self, sql: str, args: Sequence[Any] = ()) -> tuple | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    def _ensure_identity(self, con: Tx) -> None:
        """A new store gets its id once; an existing one keeps it."""
        con.execute("INSERT INTO meta VALUES ('store_id', ?) ON CONFLICT(key) DO NOTHING", (uuid.uuid4().hex,))

    def identity(self) -> str:
        row = self._one("SELECT value FROM meta WHERE key='store_id'")
        return str(row[0]) if row else ""

    # --- sheets -------------------------------------------------------------------------------
    def put_sheet(self, con: Tx, ps: ParsedSheet, units: list[list[str]], profile: str) -> None:
        """The sheet, its records and the tokens of each of its units (ingest/units.py order)."""
        s = ps.sheet
        con.execute(self.upsert("sheets"),
                    (s.sheet_id, ps.content_hash(), s.source_file, s.project_name, s.municipality, s.department,
                     s.fiscal_year, s.fiscal_year_label, s.locator, s.layout, len(ps.narratives), len(ps.cells),
                     len(ps.warnings), _join_units(units), profile, ps.model_dump_json()))
        self._put_tables(con, ps)

    def _put_tables(self, con: Tx, ps: ParsedSheet) -> None:
        """The sheet's cells, department levels and policy hierarchy as rows, for questions across sheets."""
        sid = ps.sheet.sheet_id
        for table in ("cells", "departments", "policies"):
            con.execute(f"DELETE FROM {table} WHERE sheet_id=?", (sid,))
        con.executemany(f"INSERT INTO cells VALUES ({_marks(13)})", [
            (sid, i, c.record_id, c.table.value, c.row_label, c.unit, c.fiscal_year, c.kind.value, c.value,
             c.value_text, c.fiscal_year_label, c.printed_year_label, c.locator)
            for i, c in enumerate(ps.cells)])
        meta = sheet_meta(ps)
        con.executemany("INSERT INTO departments VALUES (?,?,?,?)",
                        [(sid, i, level, name) for i, (level, name) in enumerate(meta.parts)])
        con.executemany("INSERT INTO policies VALUES (?,?,?,?,?)",
                        [(sid, i, level, label, text) for i, (level, label, text) in enumerate(meta.policy)])

    def delete_sheets(self, con: Tx, sheet_ids: Iterable[str]) -> None:
        ids = [(i,) for i in sheet_ids]
        for table in ("sheets", "cells", "departments", "policies"):
            con.executemany(f"DELETE FROM {table} WHERE sheet_id=?", ids)

    def sheet(self, sheet_id: str) -> ParsedSheet | None:
        row = self._one("SELECT data FROM sheets WHERE sheet_id=?", (sheet_id,))
        return ParsedSheet.model_validate_json(row[0]) if row else None

    def sheet_hashes(self) -> dict[str, str]:
        return dict(self._rows("SELECT sheet_id, content_hash FROM sheets"))

    def _in_parts(self, sql: str, ids: Iterable[str], size: int = 500) -> Iterator[tuple]:
        """Rows of `sql` (one `{}` for the ids' marks) for the ids, a part at a time."""
        ids = list(ids)
        for i in range(0, len(ids), size):
            part = ids[i:i + size]
            yield from self._rows(sql.format(_marks(len(part))), part)

    def hashes_of(self, sheet_ids: Iterable[str]) -> dict[str, str]:
        """content_hash of the given sheets that are stored (per-file lookups stay O(sheets of the file))."""
        return dict(self._in_parts("SELECT sheet_id, content_hash FROM sheets WHERE sheet_id IN ({})", sheet_ids))

    def sheet_rows(self) -> list[SheetRow]:
        """The catalogue. Sheet id last, so that sheets of one name in one municipality (several
        years) come in the same order from either engine and from any history of ingests."""
        return [SheetRow(*r) for r in self._rows(
            f"SELECT {_SHEET_ROW} FROM sheets s ORDER BY s.municipality, s.project_name, s.sheet_id")]

    def unit_tokens(self) -> Iterator[tuple[str, list[list[str]]]]:
        """Every sheet's unit tokens, in unit order (one stored line per unit), sheets by id.

        Interned: 50,000 sheets hold ~27M tokens but a small vocabulary; one str object per token
        occurrence made the BM25 rebuild take 2.3 GiB before bm25s even started."""
        for sid, toks in self._stream("SELECT sheet_id, tokens FROM sheets ORDER BY sheet_id"):
            yield sid, [[sys.intern(t) for t in line.split()] for line in toks.split("\n")]

    def tokens_of(self, sheet_id: str) -> list[list[str]] | None:
        row = self._one("SELECT tokens FROM sheets WHERE sheet_id=?", (sheet_id,))
        return [line.split() for line in row[0].split("\n")] if row else None

    def set_tokens(self, con: Tx, sheet_id: str, units: list[list[str]]) -> None:
        con.execute("UPDATE sheets SET tokens=? WHERE sheet_id=?", (_join_units(units), sheet_id))

    def set_tables(self, con: Tx, ps: ParsedSheet) -> None:
        self._put_tables(con, ps)

    def sheet_ids(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT sheet_id FROM sheets ORDER BY sheet_id")]

    def profiles(self) -> dict[str, tuple[str, str]]:
        """sheet_id -> (content_hash, profile text)."""
        return {sid: (h, p) for sid, h, p in self._rows("SELECT sheet_id, content_hash, profile FROM sheets")}

    def source_of(self, sheet_id: str) -> str | None:
        row = self._one("SELECT source_file FROM sheets WHERE sheet_id=?", (sheet_id,))
        return row[0] if row else None

    def sheet_labels(self, sheet_ids: Iterable[str]) -> dict[str, tuple[str, int | None]]:
        """sheet_id -> (municipality, fiscal_year) of the given stored sheets ('' / None = unknown)."""
        return {sid: (m, y) for sid, m, y in self._in_parts(
            "SELECT sheet_id, municipality, fiscal_year FROM sheets WHERE sheet_id IN ({})", sheet_ids)}

    def richness(self, sheet_id: str) -> tuple[int, int] | None:
        row = self._one("SELECT n_narratives + n_cells, n_narratives FROM sheets WHERE sheet_id=?", (sheet_id,))
        return (row[0], row[1]) if row else None

    def count(self) -> int:
        row = self._one("SELECT COUNT(*) FROM sheets")
        return int(row[0]) if row else 0

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
            where.append(f"(s.sheet_id IN (SELECT sheet_id FROM departments WHERE {self.like('name')})"
                         f" OR {self.like('s.department')})")
            args += [f"%{scope.department}%", f"%{scope.department}%"]
        if scope.policy:
            where.append(f"s.sheet_id IN (SELECT sheet_id FROM policies WHERE {self.like('text')})")
            args.append(f"%{scope.policy}%")
        if scope.sheet_ids:
            where.append(f"s.sheet_id IN ({_marks(len(scope.sheet_ids))})")
            args += list(scope.sheet_ids)
        if scope.name_like:
            where.append(self.like("s.project_name"))
            args.append(f"%{scope.name_like}%")
        return " AND ".join(where), args

    def scoped(self, scope: Scope) -> list[SheetRow]:
        """The sheets in the scope, in catalogue order."""
        where, args = self._scope_sql(scope)
        return [SheetRow(*r) for r in self._rows(
            f"SELECT {_SHEET_ROW} FROM sheets s WHERE {where} ORDER BY s.municipality, s.project_name, s.sheet_id",
            args)]

    def scope_rows(self, scope: Scope) -> list[tuple[str, str, str, str]]:
        """Every (sheet, table, row label, unit) in the scope that holds a figure, in sheet order."""
        where, args = self._scope_sql(scope)
        cur = self._rows(
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
                cond += f" AND c.fiscal_year IN ({_marks(len(years))})"
                args += years
            if kinds:
                cond += f" AND c.kind IN ({_marks(len(kinds))})"
                args += kinds
            out += [CellRow(*r) for r in self._rows(
                f"WITH want(sid, tbl, label) AS (VALUES {','.join('(?,?,?)' for _ in part)})"
                " SELECT c.sheet_id, s.project_name, s.municipality, s.department, c.record_id, c.tbl, c.row_label,"
                f" c.unit, c.fiscal_year, c.kind, c.value, c.value_text, c.value * ({_YEN_SQL}), c.year_label,"
                " c.printed_year_label, c.locator, s.source_file, s.locator, s.fiscal_year, s.fiscal_year_label"
                " FROM want JOIN cells c ON c.sheet_id = want.sid AND c.tbl = want.tbl AND c.row_label = want.label"
                f" JOIN sheets s ON s.sheet_id = c.sheet_id WHERE {cond} ORDER BY c.sheet_id, c.n", args)]
        return out

    def department_names(self) -> list[tuple[str, str]]:
        """Every (level, name) of a unit any sheet names."""
        return self._rows("SELECT DISTINCT level, name FROM departments ORDER BY name, level")

    def policy_texts(self) -> list[tuple[str, str]]:
        """Every (level, text) of the policy hierarchies the sheets print."""
        return self._rows("SELECT DISTINCT level, text FROM policies ORDER BY text, level")

    # --- files --------------------------------------------------------------------------
    def file(self, path: str) -> FileRow | None:
        row = self._one("SELECT path, sha256, parser_version, status, message, sheet_ids FROM files WHERE path=?",
                        (path,))
        if row is None:
            return None
        return FileRow(row[0], row[1], row[2], row[3], row[4], tuple(json.loads(row[5])))

    def indexed_file_with_sha(self, sha256: str, other_than: str) -> str | None:
        """Another indexed file with exactly these bytes (the same file under another name)."""
        row = self._one(
            "SELECT path FROM files WHERE sha256=? AND path<>? AND status='indexed' ORDER BY path LIMIT 1",
            (sha256, other_than))
        return row[0] if row else None

    def put_file(self, con: Tx, f: FileRow) -> None:
        con.execute(self.upsert("files"),
                    (f.path, f.sha256, f.parser_version, f.status, f.message, json.dumps(list(f.sheet_ids))))

    # --- embedding cache ----------------------------------------------------------------
    def _cached(self, model: str, hashes: list[str]) -> Iterator[tuple[str, bytes]]:
        for i in range(0, len(hashes), 500):
            part = hashes[i:i + 500]
            yield from self._rows(
                f"SELECT text_hash, vector FROM embed_cache WHERE model=? AND text_hash IN ({_marks(len(part))})",
                (model, *part))

    def cached_vectors(self, model: str, hashes: list[str]) -> dict[str, list[float]]:
        return {h: np.frombuffer(blob, dtype=np.float32).tolist() for h, blob in self._cached(model, hashes)}

    def vectors(self, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
        """Cached vectors as arrays (for scoring units at question time); absent hashes are left out."""
        return {h: np.frombuffer(blob, dtype=np.float32) for h, blob in self._cached(model, hashes)}

    def cache_vectors(self, model: str, vectors: dict[str, list[float]]) -> None:
        with self.transaction() as con:
            con.executemany(self.upsert("embed_cache"),
                            [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()])

    # --- meta ---------------------------------------------------------------------------
    def generation(self) -> int:
        row = self._one("SELECT value FROM meta WHERE key='generation'")
        return int(row[0]) if row else 0

    def bump_generation(self, con: Tx) -> None:
        con.execute(self.BUMP)

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key=?", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as con:
            con.execute(self.upsert("meta"), (key, value))


class _FileIngestLock:
    """The ingest lock of an embedded store: a lock file in HYOKA_HOME."""

    def __init__(self, path: Path) -> None:
        self._lock = FileLock(str(path))

    def acquire(self, timeout: float) -> bool:
        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            return False
        return True

    def release(self) -> None:
        self._lock.release()


class RecordsDB(SQLRecords):
    """The records in SQLite: HYOKA_HOME/records.sqlite3, for the processes of one machine."""

    shared = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        with store_errors(path.parent):
            path.parent.mkdir(parents=True, exist_ok=True)
            con = self._conn()
            for statement in self.ddl():
                con.execute(statement)
            if self.meta("store_id") is None:
                with self.transaction() as tx:
                    self._ensure_identity(tx)
        self.provenance = ProvenanceTable(self)

    def identity(self) -> str:
        # A store that cannot be written to (read-only HYOKA_HOME) and predates ids: its path.
        return super().identity() or stable_id(str(self.path.resolve()), length=10)

    def where(self) -> str:
        return str(self.path)

    def _conn(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
        return con

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        return self._conn().execute(sql, args).fetchall()

    def _stream(self, sql: str, args: Sequence[Any] = ()) -> Iterator[tuple]:
        yield from self._conn().execute(sql, args)

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

    def upsert(self, table: str) -> str:
        return f"INSERT OR REPLACE INTO {table} VALUES ({_marks(len(self.table(table).columns))})"

    def insert_new(self, table: str) -> str:
        return f"INSERT OR IGNORE INTO {table} VALUES ({_marks(len(self.table(table).columns))})"

    def ingest_lock(self) -> _FileIngestLock:
        return _FileIngestLock(self.path.parent / "ingest.lock")

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
