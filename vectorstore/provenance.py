"""Where every indexed sheet came from, uploads kept by content hash, and unofficial versions.

Kept in tables of their own beside `sheets` and `files` (records_db.py), so that the provenance
rules can change without touching the records:

- provenance: per indexed sheet, its origin (`admin` = `hyoka ingest`, `upload` = the chat), who
  uploaded it (when a login is set), when, and the file (key) that owns it;
- file_produced: every sheet id a file yielded when it was last parsed, whether or not it won,
  so that the administrator's re-ingest can tell that one of its sheets went missing;
- uploads: one row per uploaded file name and uploader, pointing at the content-hashed copy;
- unofficial_sheets: a copy of an existing sheet that differs from it and could not replace it
  (an upload never replaces a sheet it did not add). Shown, labelled, never used for answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ingest.records import ParsedSheet

from .records import Table, Tx

if TYPE_CHECKING:
    from .records_db import SQLRecords

ADMIN = "admin"
UPLOAD = "upload"

# Tables of their own beside `sheets` and `files` (records_db.py writes them out in each engine's types).
TABLES = (
    Table("provenance", ("sheet_id TEXT", "origin TEXT", "uploader TEXT", "added_at TEXT", "file_key TEXT",
                         "file_name TEXT"), ("sheet_id",), (("provenance_by_file", "file_key"),)),
    Table("file_produced", ("path TEXT", "sheet_ids TEXT"), ("path",)),
    Table("uploads", ("sha256 TEXT", "stored TEXT", "original_name TEXT", "uploader TEXT", "uploaded_at TEXT",
                      "municipality TEXT", "size INTEGER"), ("sha256", "original_name", "uploader")),
    Table("unofficial_sheets", ("version_id TEXT", "sheet_id TEXT", "content_hash TEXT", "project_name TEXT",
                                "municipality TEXT", "department TEXT", "fiscal_year_label TEXT", "origin TEXT",
                                "uploader TEXT", "added_at TEXT", "file_key TEXT", "file_name TEXT", "reason TEXT",
                                "data TEXT"), ("version_id",), (("unofficial_by_sheet", "sheet_id"),)),
)


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Origin:
    """Who brings a file in: the administrator (`hyoka ingest`) or a chat upload."""

    kind: str = ADMIN
    uploader: str = ""                  # the logged-in user, when the chat has a login

    @property
    def is_upload(self) -> bool:
        return self.kind == UPLOAD


@dataclass(frozen=True)
class Provenance:
    sheet_id: str
    origin: str
    uploader: str
    added_at: str
    file_key: str
    file_name: str

    @property
    def official(self) -> bool:
        return self.origin == ADMIN

    def label(self) -> str:
        """Japanese, for the sources panel and the catalogue."""
        when = self.added_at[:16].replace("T", " ")
        if self.official:
            return f"公式（管理者が取り込み、{when}）"
        who = f"{self.uploader} さんが" if self.uploader else ""
        return f"アップロード（{who}{when} に追加）"


@dataclass(frozen=True)
class Unofficial:
    """A differing copy of an indexed sheet, kept beside it and never answered from."""

    version_id: str
    sheet_id: str
    project_name: str
    municipality: str
    department: str
    fiscal_year_label: str
    origin: str
    uploader: str
    added_at: str
    file_name: str
    reason: str

    def label(self) -> str:
        who = f"{self.uploader} さんが" if self.uploader else ""
        return f"非公式版（{who}{self.added_at[:16].replace('T', ' ')} にアップロード。回答には使いません）"


class ProvenanceTable:
    """The provenance tables, in the records store (written in one transaction with a sheet)."""

    def __init__(self, db: SQLRecords) -> None:
        self._db = db

    # --- provenance of indexed sheets ---------------------------------------------------------
    def put(self, con: Tx, rows: Iterable[Provenance]) -> None:
        con.executemany(self._db.upsert("provenance"),
                        [(p.sheet_id, p.origin, p.uploader, p.added_at, p.file_key, p.file_name) for p in rows])

    def delete(self, con: Tx, sheet_ids: Iterable[str]) -> None:
        con.executemany("DELETE FROM provenance WHERE sheet_id=?", [(i,) for i in sheet_ids])

    def of(self, sheet_ids: Iterable[str]) -> dict[str, Provenance]:
        return {r[0]: Provenance(*r) for r in self._db._in_parts(
            "SELECT sheet_id, origin, uploader, added_at, file_key, file_name FROM provenance"
            " WHERE sheet_id IN ({})", sheet_ids)}

    def origins(self) -> dict[str, tuple[str, str]]:
        """sheet id -> (origin, uploader) of every sheet with a provenance row."""
        return {sid: (o, u) for sid, o, u in self._db._rows("SELECT sheet_id, origin, uploader FROM provenance")}

    # --- what each file yielded ---------------------------------------------------------------
    def put_produced(self, con: Tx, path: str, sheet_ids: Iterable[str]) -> None:
        con.execute(self._db.upsert("file_produced"), (path, json.dumps(sorted(sheet_ids))))

    def produced(self, path: str) -> list[str] | None:
        row = self._db._one("SELECT sheet_ids FROM file_produced WHERE path=?", (path,))
        return json.loads(row[0]) if row else None

    # --- uploaded files -----------------------------------------------------------------------
    def put_upload(self, sha256: str, stored: str, original_name: str, uploader: str, municipality: str,
                   size: int) -> None:
        with self._db.transaction() as con:
            con.execute(self._db.insert_new("uploads"),
                        (sha256, stored, original_name, uploader, now(), municipality, size))

    def upload_names(self, sha256: str) -> list[tuple[str, str, str]]:
        """(original name, uploader, uploaded_at) of every upload of these bytes."""
        return [(a, b, c) for a, b, c in self._db._rows(
            "SELECT original_name, uploader, uploaded_at FROM uploads WHERE sha256=? ORDER BY uploaded_at",
            (sha256,))]

    # --- unofficial versions ------------------------------------------------------------------
    def put_unofficial(self, con: Tx, ps: ParsedSheet, prov: Provenance, reason: str) -> str:
        s = ps.sheet
        version_id = f"{s.sheet_id}~{ps.content_hash()[:12]}"
        con.execute(self._db.upsert("unofficial_sheets"),
                    (version_id, s.sheet_id, ps.content_hash(), s.project_name, s.municipality, s.department,
                     s.fiscal_year_label, prov.origin, prov.uploader, prov.added_at, prov.file_key, prov.file_name,
                     reason, ps.model_dump_json()))
        return version_id

    def unofficial(self) -> list[Unofficial]:
        return [Unofficial(*r) for r in self._db._rows(
            "SELECT version_id, sheet_id, project_name, municipality, department, fiscal_year_label, origin,"
            " uploader, added_at, file_name, reason FROM unofficial_sheets"
            " ORDER BY municipality, project_name, version_id")]

    def unofficial_sheet(self, version_id: str) -> ParsedSheet | None:
        row = self._db._one("SELECT data FROM unofficial_sheets WHERE version_id=?", (version_id,))
        return ParsedSheet.model_validate_json(row[0]) if row else None

    def unofficial_of(self, version_id: str) -> Unofficial | None:
        return next((u for u in self.unofficial() if u.version_id == version_id), None)
