"""Uploaded files, kept under HYOKA_HOME/uploads by content hash; the name they came under is metadata.

A file is stored as `<sha256><suffix>` (the suffix tells the readers what it is), so two users who
upload different files under one name never overwrite each other, and a broken file never replaces
a good one. Each upload of it (name, uploader, time, municipality) is a row in the `uploads` table.
The sheets it yields carry the original name as their source, so citations read `報告書.xlsx#row 3`.
Uploads are parsed in a worker process (ingest/sandbox.py) and wait behind a running ingest.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import UserInputError
from ingest.labelling import Labeller, Labels
from ingest.limits import DEFAULT_LIMITS, MIB, FileLimits
from ingest.parse import SUPPORTED_SUFFIXES
from ingest.sandbox import Sandbox, parse_isolated

from .indexer import Indexer, IngestSummary, Progress
from .provenance import UPLOAD, Origin
from .store import Store

# Control characters, and the bidi and zero-width marks that make a name read differently than it is.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NAME_MAX = 120


@dataclass(frozen=True)
class Stored:
    path: Path          # HYOKA_HOME/uploads/<sha256><suffix>
    name: str           # the name it was uploaded under, made safe to show
    sha256: str
    size: int


def safe_name(name: str) -> str:
    """The last component of an uploaded file's name, without control or bidi characters."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = _UNSAFE.sub("", base).strip().lstrip(".") or "upload"
    if len(base) > _NAME_MAX:
        stem, suffix = os.path.splitext(base)
        base = stem[: _NAME_MAX - len(suffix)] + suffix
    return base


class UploadStore:
    def __init__(self, store: Store, limits: FileLimits = DEFAULT_LIMITS, sandbox: Sandbox | None = None) -> None:
        self.store = store
        self.limits = limits
        self.sandbox = sandbox or Sandbox()
        self.folder = store.home / "uploads"

    def keep(self, incoming: Path, original_name: str, uploader: str = "", municipality: str = "") -> Stored:
        """Copy an incoming file into the store under its content hash. Raises UserInputError
        (naming the file by its original name) for a type or a size the store does not take."""
        name = safe_name(original_name)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise UserInputError(f"{name}: 対応していない形式のため取り込みません（対応形式: {' '.join(SUPPORTED_SUFFIXES)}）")
        size = incoming.stat().st_size
        if size > self.limits.file_mb * MIB:
            raise UserInputError(f"{name}: ファイルが大きすぎます（{size / MIB:.0f} MB、上限 {self.limits.file_mb} MB）")
        if size == 0:
            raise UserInputError(f"{name}: ファイルが空です")
        self.folder.mkdir(parents=True, exist_ok=True)
        sha = _sha256(incoming)
        dest = self.folder / f"{sha}{suffix}"
        if not dest.exists():
            # Copied beside its final place, then renamed: a reader never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
            os.close(fd)
            try:
                shutil.copyfile(incoming, tmp)
                os.chmod(tmp, 0o640)
                os.replace(tmp, dest)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        self.store.db.provenance.put_upload(sha, str(dest), name, uploader, municipality, size)
        return Stored(dest, name, sha, size)

    def ingest(self, files: list[Stored], uploader: str = "", labels: Labels | None = None,
               progress: Progress | None = None, wait: float = 900.0,
               on_wait: Callable[[], None] | None = None, embed_units: tuple[str, ...] = ()) -> IngestSummary:
        """Index stored uploads as `uploader`'s, each parsed in a worker with the sandbox's limits.
        `labels`: what the uploader states of the files (the municipality field beside the upload)."""
        limits, box = self.limits, self.sandbox
        indexer = Indexer(self.store, embed_units, limits, parse=lambda p, lab: parse_isolated(p, lab, limits, box))
        paths = [f.path for f in files]
        return indexer.ingest(paths, progress, Labeller(paths, labels or Labels()), origin=Origin(UPLOAD, uploader),
                              names={str(f.path): f.name for f in files}, wait=wait, on_wait=on_wait)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
