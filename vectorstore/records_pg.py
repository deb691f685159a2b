"""The records store in PostgreSQL (HYOKA_RECORDS__URL=postgresql://…): one store for many hosts.

The same SQL as SQLite (records_db.SQLRecords), so that answers are byte-identical:
- text columns are COLLATE "C": ordered and compared by bytes, as SQLite's BINARY collation does;
- LIKE folds ASCII letters only and has no escape character, as SQLite's LIKE;
- integers are 64-bit and reals are doubles, as in SQLite.

Connections come from a small pool, in autocommit; a file's writes are one transaction. The ingest
lock is a session advisory lock, which PostgreSQL releases when its holder's connection ends (a killed
ingest never blocks the next one). psycopg is imported here only: SQLite users need not install it.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from ingest.errors import StoreError, UserInputError
from ingest.records import ParsedSheet

from .provenance import TABLES as PROVENANCE_TABLES
from .provenance import ProvenanceTable
from .records_db import _DROPPED_INDEXES, TABLES, SQLRecords, _marks

_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # an escaped NUL in JSON, not an escaped backslash before "u0000"
POOL_SIZE = 8
GENERATION_TTL = 0.25  # seconds a generation read is reused: a question asks for it dozens of times


@functools.lru_cache(maxsize=512)
def _pg(sql: str) -> str:
    """The store's SQL (`?` parameters) in psycopg's (`%s`, and a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def safe_url(url: str) -> str:
    """host:port/database of a connection URL, for messages: never the password."""
    u = urlsplit(url)
    return f"{u.hostname or 'localhost'}:{u.port or 5432}{u.path or '/'}"


def _psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool  # noqa: F401  (checked here, so that a missing piece is named at start)
    except ImportError as exc:
        raise UserInputError("PostgreSQL の記録ストアには psycopg が必要です: pip install 'hyoka[postgres]'") from exc
    return psycopg


class _PgTx:
    """A transaction's connection, taking the store's SQL."""

    def __init__(self, con: Any) -> None:
        self._con = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._con.execute(_pg(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            with self._con.cursor() as cur:
                cur.executemany(_pg(sql), rows)


class _AdvisoryLock:
    """The ingest lock: pg_advisory_lock on a connection of its own, held for the whole ingest."""

    def __init__(self, url: str, key: int) -> None:
        self._url = url
        self._key = key
        self._con: Any = None

    def acquire(self, timeout: float) -> bool:
        psycopg = _psycopg()
        con = psycopg.connect(self._url, autocommit=True)
        deadline = time.monotonic() + timeout
        while not con.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                con.close()
                return False
            time.sleep(min(0.2, max(deadline - time.monotonic(), 0.01)))
        self._con = con
        return True

    def release(self) -> None:
        if self._con is not None:
            try:
                self._con.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
            finally:
                self._con.close()  # closing the session would release it anyway
                self._con = None


class PostgresRecords(SQLRecords):
    """The records in a PostgreSQL database, shared by every host that is given its URL."""

    TYPES = {"TEXT": 'TEXT COLLATE "C"', "INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA"}
    BUMP = ("INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE"
            " SET value = (CAST(meta.value AS BIGINT) + 1)::text")
    shared = True

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        psycopg = _psycopg()
        from psycopg_pool import ConnectionPool

        self.url = url
        try:  # one plain connection first: its error says why (the pool would only time out)
            psycopg.connect(url, autocommit=True, connect_timeout=10).close()
        except psycopg.Error as exc:
            raise StoreError(f"記録ストア（PostgreSQL: {safe_url(url)}）に接続できません: "
                             f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from exc
        self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, kwargs={"autocommit": True},
                                    open=True, name="hyoka-records")
        self._create_schema()
        self._id = super().identity()
        self._generation = (0, float("-inf"))  # (value, when read)
        self.provenance = ProvenanceTable(self)

    def _create_schema(self) -> None:
        """Tables and indexes, once, whoever comes first (an xact advisory lock orders the hosts)."""
        names = [t.name for t in (*TABLES, *PROVENANCE_TABLES)]
        names += [i for t in (*TABLES, *PROVENANCE_TABLES) for i, _ in t.indexes]
        present = {r[0] for r in self._rows(
            f"SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace"
            f" AND c.relname IN ({_marks(len(names) + len(_DROPPED_INDEXES))})", [*names, *_DROPPED_INDEXES])}
        has_id = "meta" in present and self.meta("store_id") is not None
        if present >= set(names) and not present & set(_DROPPED_INDEXES) and has_id:
            return
        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (_lock_key("hyoka-schema"),))
            for statement in self.ddl():
                tx.execute(statement)
            self._ensure_identity(tx)

    def identity(self) -> str:
        return self._id

    def refuses(self, ps: ParsedSheet) -> str:
        """PostgreSQL's text holds no NUL character (SQLite's does): such a file is refused whole."""
        if _NUL.search(ps.model_dump_json()):
            return ("NUL 文字（U+0000）を含むため、PostgreSQL の記録ストアには取り込めません。"
                    "書き出し元でこの文字を除いてから取り込み直してください")
        return ""

    def generation(self) -> int:
        """The store's generation, read again at most every GENERATION_TTL seconds (each read is a
        round trip, and the Store asks before each use of its catalogue). Another host's ingest is
        seen within that time; this process's own writes at once."""
        value, at = self._generation
        now = time.monotonic()
        if now - at >= GENERATION_TTL:
            value = super().generation()
            self._generation = (value, now)
        return value

    def where(self) -> str:
        return f"PostgreSQL {safe_url(self.url)}"

    # --- the engine -------------------------------------------------------------------------
    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._pool.connection() as con:
            return con.execute(_pg(sql), args).fetchall()  # pyright: ignore[reportArgumentType] - our SQL, built from constants

    def _stream(self, sql: str, args: Sequence[Any] = ()) -> Iterator[tuple]:
        """Rows fetched a batch at a time through a server-side cursor (the unit tokens of 50,000
        sheets would not fit a client-side result)."""
        with self._pool.connection() as con, con.transaction(), con.cursor(name="hyoka_stream") as cur:
            cur.itersize = 500
            cur.execute(_pg(sql), args)  # pyright: ignore[reportArgumentType] - our SQL, built from constants
            yield from cur

    @contextmanager
    def transaction(self) -> Iterator[_PgTx]:
        try:
            with self._pool.connection() as con, con.transaction():
                yield _PgTx(con)
        finally:
            self._generation = (0, float("-inf"))  # read afresh after our own writes

    def upsert(self, table: str) -> str:
        t = self.table(table)
        rest = [c for c in t.column_names if c not in t.key]
        action = (f"DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in rest)}" if rest else "DO NOTHING")
        return f"INSERT INTO {table} VALUES ({_marks(len(t.columns))}) ON CONFLICT ({', '.join(t.key)}) {action}"

    def insert_new(self, table: str) -> str:
        return f"INSERT INTO {table} VALUES ({_marks(len(self.table(table).columns))}) ON CONFLICT DO NOTHING"

    def like(self, column: str) -> str:
        low = _ASCII_UPPER.lower()
        return (f"translate({column}, '{_ASCII_UPPER}', '{low}') LIKE translate(?, '{_ASCII_UPPER}', '{low}')"
                " ESCAPE ''")

    def ingest_lock(self) -> _AdvisoryLock:
        return _AdvisoryLock(self.url, _lock_key(f"hyoka-ingest:{self._id}"))

    def close(self) -> None:
        self._pool.close()
