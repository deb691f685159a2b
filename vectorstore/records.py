"""The records store: what every answer is read from, behind one interface with two engines.

- SQLite (records_db.py), the embedded default: a file in HYOKA_HOME, for one machine.
- PostgreSQL (records_pg.py), chosen by HYOKA_RECORDS__URL=postgresql://…: one store shared by ingest
  workers and app processes on many hosts.

Both run the same SQL (records_db.SQLRecords, the one place that knows the schema) and give the same
rows in the same order, so a question gets byte-identical answers from either. The rows each query
returns are the frozen dataclasses below; nothing outside vectorstore/ sees a connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from ingest.records import ParsedSheet

    from .provenance import ProvenanceTable


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


@dataclass(frozen=True)
class FileRow:
    path: str
    sha256: str
    parser_version: str
    status: str        # indexed | skipped | duplicate
    message: str
    sheet_ids: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of the store: columns as "name TYPE" (TYPE one of TEXT INTEGER REAL BLOB, then NULL
    when it may be empty; every other column is NOT NULL), its primary key and its indexes."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, str], ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.split()[0] for c in self.columns]


class Tx(Protocol):
    """One open transaction: statements in the store's SQL, `?` for parameters."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> Any: ...


class IngestLock(Protocol):
    """One ingest at a time per store: a lock file (SQLite) or a database advisory lock (PostgreSQL).
    Released by the engine when its holder dies, so a killed ingest never blocks the next one."""

    def acquire(self, timeout: float) -> bool: ...

    def release(self) -> None: ...


class RecordsStore(Protocol):
    """Records, catalogue, unit tokens, file hashes, embedding cache, generation and the cross-sheet
    tables of every indexed sheet. Writes go through `transaction()`: a file's sheets commit together."""

    provenance: ProvenanceTable

    def identity(self) -> str:
        """This store's id, made when the store was created and kept in it: names its Chroma collection."""
        ...

    def where(self) -> str:
        """Where the records live, for messages (no password)."""
        ...

    @property
    def shared(self) -> bool:
        """True when the records live outside HYOKA_HOME (other hosts read and write them too)."""
        ...

    def ingest_lock(self) -> IngestLock: ...

    def refuses(self, ps: ParsedSheet) -> str:
        """Why this engine cannot store the sheet as it is (a Japanese sentence), or ""."""
        ...

    def transaction(self) -> AbstractContextManager[Tx]: ...

    def close(self) -> None: ...

    # --- sheets ---
    def put_sheet(self, con: Tx, ps: ParsedSheet, units: list[list[str]], profile: str) -> None: ...

    def delete_sheets(self, con: Tx, sheet_ids: Iterable[str]) -> None: ...

    def sheet(self, sheet_id: str) -> ParsedSheet | None: ...

    def sheet_hashes(self) -> dict[str, str]: ...

    def hashes_of(self, sheet_ids: Iterable[str]) -> dict[str, str]: ...

    def sheet_rows(self) -> list[SheetRow]: ...

    def unit_tokens(self) -> Iterator[tuple[str, list[list[str]]]]: ...

    def tokens_of(self, sheet_id: str) -> list[list[str]] | None: ...

    def set_tokens(self, con: Tx, sheet_id: str, units: list[list[str]]) -> None: ...

    def set_tables(self, con: Tx, ps: ParsedSheet) -> None: ...

    def sheet_ids(self) -> list[str]: ...

    def profiles(self) -> dict[str, tuple[str, str]]: ...

    def source_of(self, sheet_id: str) -> str | None: ...

    def sheet_labels(self, sheet_ids: Iterable[str]) -> dict[str, tuple[str, int | None]]: ...

    def richness(self, sheet_id: str) -> tuple[int, int] | None: ...

    def count(self) -> int: ...

    # --- questions across sheets ---
    def scoped(self, scope: Scope) -> list[SheetRow]: ...

    def scope_rows(self, scope: Scope) -> list[tuple[str, str, str, str]]: ...

    def cells_of_rows(self, rows: Iterable[tuple[str, str, str]], years: Iterable[int] = (),
                      kinds: Iterable[str] = ()) -> list[CellRow]: ...

    def department_names(self) -> list[tuple[str, str]]: ...

    def policy_texts(self) -> list[tuple[str, str]]: ...

    # --- files ---
    def file(self, path: str) -> FileRow | None: ...

    def indexed_file_with_sha(self, sha256: str, other_than: str) -> str | None: ...

    def put_file(self, con: Tx, f: FileRow) -> None: ...

    # --- embedding cache ---
    def cached_vectors(self, model: str, hashes: list[str]) -> dict[str, list[float]]: ...

    def vectors(self, model: str, hashes: list[str]) -> dict[str, np.ndarray]: ...

    def cache_vectors(self, model: str, vectors: dict[str, list[float]]) -> None: ...

    # --- meta ---
    def generation(self) -> int: ...

    def bump_generation(self, con: Tx) -> None: ...

    def meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...
