"""Failures of the store in plain Japanese: read-only, full, or unreachable.

SQLite, PostgreSQL, Chroma and the file system each say "read-only" or "disk full" in their own
words and classes; users need one sentence that says what is wrong and what to do. Messages name no
path and no exception class (the chat shows them); the CLI adds the folder itself.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import HyokaError, StoreError

log = logging.getLogger("hyoka.store")

READ_ONLY = ("索引の保存先（HYOKA_HOME）に書き込めません。読み取り専用か、書き込む権限がありません。"
             "管理者に保存先の権限を確認してもらうか、HYOKA_HOME で書き込めるフォルダを指定してください")
FULL = ("索引の保存先（HYOKA_HOME）に空きがありません。ディスクの空きを増やしてから再実行してください"
        "（途中まで書いた内容は取り消され、索引は元のままです）")
BROKEN = "索引を開けません。保存先（HYOKA_HOME）のファイルが壊れているか、別の形式です"
WRITE_FAILED = ("索引の保存先（HYOKA_HOME）への書き込みに失敗しました。ディスクの空きやファイルサイズの上限、"
                "ディスクの故障を確認してください（途中まで書いた内容は取り消され、索引は元のままです）")

DB_UNREACHABLE = ("記録ストア（PostgreSQL）に接続できないか、接続が切れました。データベースが動いているか、"
                  "HYOKA_RECORDS__URL を確認してください（途中まで書いた内容は取り消され、索引は元のままです）")
DB_READ_ONLY = ("記録ストア（PostgreSQL）に書き込めません。読み取り専用のレプリカにつないでいるか、書き込む権限がありません。"
                "HYOKA_RECORDS__URL を確認してください")
DB_FULL = ("記録ストア（PostgreSQL）のディスクに空きがありません。データベースの管理者に連絡してください"
           "（途中まで書いた内容は取り消され、索引は元のままです）")

_READ_ONLY_ERRNO = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL_ERRNO = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY_WORDS = ("readonly", "read-only", "read only", "permission denied", "unable to open database",
                    "os error 30", "os error 13")
_FULL_WORDS = ("disk is full", "no space left", "file too large", "quota", "os error 28", "os error 27")


class StoreUnwritable(StoreError):
    """HYOKA_HOME cannot be written (read-only, no permission) or is full."""

    def __init__(self, message_ja: str, home: Path | None = None) -> None:
        super().__init__(message_ja)
        self.home = home


def _postgres(exc: BaseException) -> str | None:
    """PostgreSQL's errors by SQLSTATE (psycopg is not imported: SQLite users may not have it)."""
    if not type(exc).__module__.startswith(("psycopg", "psycopg_pool")):
        return None
    state = str(getattr(exc, "sqlstate", None) or "")
    if state in ("25006", "42501"):  # read_only_sql_transaction, insufficient_privilege
        return DB_READ_ONLY
    if state in ("53100", "53200"):  # disk_full, out_of_memory
        return DB_FULL
    if state[:2] in ("08", "57") or type(exc).__name__ in ("OperationalError", "PoolTimeout"):
        return DB_UNREACHABLE  # connection exceptions, a server shut down, no connection to be had
    return None


def classify(exc: BaseException) -> str | None:
    """READ_ONLY, FULL, BROKEN, a DB_ message, or None when the error is not about the store's storage."""
    if (message := _postgres(exc)) is not None:
        return message
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno in _FULL_ERRNO:
            return FULL
        if exc.errno in _READ_ONLY_ERRNO:
            return READ_ONLY
    text = str(exc).lower()
    if any(w in text for w in _FULL_WORDS):
        return FULL
    if any(w in text for w in _READ_ONLY_WORDS):
        return READ_ONLY
    if "disk i/o error" in text or (isinstance(exc, OSError) and exc.errno == errno.EIO):
        return WRITE_FAILED
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return BROKEN
    return None


@contextmanager
def store_errors(home: Path | None = None) -> Iterator[None]:
    """Turn a read-only, full or broken store into StoreUnwritable; anything else passes through."""
    try:
        yield
    except HyokaError:
        raise
    except Exception as exc:
        message = classify(exc)
        if message is None:
            raise
        log.info("store at %s: %s: %s", home, type(exc).__name__, exc)
        if message in (DB_UNREACHABLE, DB_READ_ONLY, DB_FULL):
            raise StoreError(message) from exc  # not about HYOKA_HOME
        raise StoreUnwritable(message, home) from exc
