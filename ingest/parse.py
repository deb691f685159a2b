"""file -> list[ParsedSheet]: find files, pick a reader, skip non-sheets, drop duplicate sheets."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LimitExceeded, NotASheet, SheetFileError
from .labelling import NO_LABELS, Labeller, Labels, apply_labels
from .limits import DEFAULT_LIMITS, MIB, FileLimits, check_sheet_count, precheck
from .readers import pick_reader
from .records import ParsedSheet

log = logging.getLogger("hyoka.ingest")
MAX_FILE_BYTES = DEFAULT_LIMITS.file_mb * MIB
SUPPORTED_SUFFIXES = (".pdf", ".xlsx", ".json", ".txt", ".md", ".tsv", ".csv")
_IGNORED_SUFFIXES = {".md5", ".sha256", ".lock", ".tmp"}
_IGNORED_NAMES = {"SOURCES.md", "README.md", "LICENSE", ".DS_Store"}


@dataclass
class FileResult:
    """What became of one file."""

    path: str
    sheets: list[ParsedSheet] = field(default_factory=list)
    skipped: str = ""   # why the file is not a sheet (Japanese)
    error: str = ""     # why it failed (Japanese), names the file
    reader: str = ""
    notes: list[str] = field(default_factory=list)  # where the user's labels disagree with the sheet


@dataclass
class ParseReport:
    files: list[FileResult] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # Japanese lines naming both files

    @property
    def sheets(self) -> list[ParsedSheet]:
        return [s for f in self.files for s in f.sheets]

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.error]


def discover(paths: Iterable[str | Path], follow_symlinks: bool = False,
             skipped: list[tuple[str, str]] | None = None) -> Iterator[Path]:
    """Files under the given paths, recursively, in a stable order. Missing paths raise.

    A symbolic link inside a folder that leads outside it is not followed (an ingest of a folder
    reads that folder), unless follow_symlinks; each one is reported in `skipped`."""
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise SheetFileError(str(p), "ファイルまたはフォルダが見つかりません")
        if p.is_dir():
            yield from _walk(p, follow_symlinks, skipped)
        else:
            yield p


def _walk(folder: Path, follow_symlinks: bool, skipped: list[tuple[str, str]] | None) -> Iterator[Path]:
    root = folder.resolve()
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=follow_symlinks):
        here = Path(dirpath)
        for name in list(dirnames):
            if not follow_symlinks and (here / name).is_symlink() and not _inside(here / name, root):
                dirnames.remove(name)
                _note_link(here / name, skipped)
        for name in filenames:
            child = here / name
            if _ignored(child) or not child.is_file():
                continue
            if not follow_symlinks and child.is_symlink() and not _inside(child, root):
                _note_link(child, skipped)
                continue
            found.append(child)
    yield from sorted(found)


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop
        return False


def _note_link(path: Path, skipped: list[tuple[str, str]] | None) -> None:
    if skipped is not None:
        skipped.append((str(path), "フォルダの外を指すシンボリックリンクのため読みません"
                                   "（読むには --follow-symlinks を指定してください）"))


def _ignored(path: Path) -> bool:
    return (path.name in _IGNORED_NAMES or path.name.startswith(".")
            or path.suffix.lower() in _IGNORED_SUFFIXES)


def parse_file(path: Path, labels: Labels | None = None, limits: FileLimits = DEFAULT_LIMITS) -> FileResult:
    """Parse one file; never raises for a bad file, reports it instead. `labels` fill in what the
    sheets do not state (municipality, year: see labelling); `limits` are checked before parsing."""
    result = FileResult(path=str(path))
    try:
        size = path.stat().st_size
        if size == 0:
            raise SheetFileError(str(path), "ファイルが空です")
        with path.open("rb") as fh:
            head = fh.read(65536)
        precheck(path, head, limits)
        reader = pick_reader(path, head)
        if reader is None:
            raise NotASheet("対応していない形式のファイルです")
        result.reader = reader.NAME
        result.sheets = list(reader.read(path))
        if not result.sheets:
            raise NotASheet("評価シートが見つかりません")
        check_sheet_count(path, len(result.sheets), limits)
        if labels:
            result.sheets, result.notes = apply_labels(result.sheets, labels)
    except NotASheet as exc:
        result.sheets = []
        result.skipped = exc.reason_ja
    except LimitExceeded as exc:
        result.sheets = []
        result.error = exc.message_ja
        return result
    except SheetFileError as exc:
        result.sheets = []
        result.error = exc.message_ja
    except FileNotFoundError:
        result.error = f"{path}: ファイルが見つかりません（読み込みの途中で削除または移動されました）"
    except PermissionError:
        result.error = f"{path}: ファイルを読む権限がありません"
    except MemoryError:
        result.sheets = []
        result.error = f"{path}: 読み込みに必要なメモリが上限を超えたため中止しました"
    except Exception as exc:  # noqa: BLE001 - per-file isolation is the point here
        # A reader tripped on content it did not expect (BadZipFile, a pdfminer error...): report it
        # for this file and go on with the others; nothing of this file is indexed. What tripped is
        # for the log: users get what it means, not a class name.
        log.info("%s: reader failed: %s: %s", path, type(exc).__name__, exc)
        result.sheets = []
        result.error = f"{path}: 読み込みに失敗しました（ファイルの内容を解釈できません。壊れているか、対応していない作りのファイルです）"
    if result.error and _password_protected_pdf(path):
        result.error = f"{path}: パスワードで保護された PDF です。パスワードを解除して保存し直してから取り込んでください"
    return result


def _password_protected_pdf(path: Path) -> bool:
    """A PDF that failed to read and has an /Encrypt dictionary (one readable without a password
    never gets here): say so, rather than the reader's generic "encrypted or broken"."""
    try:
        with path.open("rb") as fh:
            if fh.read(5) != b"%PDF-":
                return False
            tail = b""
            while block := fh.read(1 << 20):
                if b"/Encrypt" in tail + block:
                    return True
                tail = block[-16:]
    except OSError:
        return False
    return False


def parse_paths(paths: Iterable[str | Path], labeller: Labeller = NO_LABELS,
                limits: FileLimits = DEFAULT_LIMITS, follow_symlinks: bool = False) -> ParseReport:
    report = ParseReport()
    links: list[tuple[str, str]] = []
    for path in discover(paths, follow_symlinks, links):
        report.files.append(parse_file(path, labeller(path), limits))
    report.files += [FileResult(path=p, skipped=why) for p, why in links]
    drop_duplicates(report)
    return report


def richness(ps: ParsedSheet) -> tuple[int, int]:
    """Which copy of a sheet to keep: more records, then more sections."""
    return (len(ps.narratives) + len(ps.cells), len(ps.narratives))


def drop_duplicates(report: ParseReport) -> None:
    """One sheet arriving in two formats is indexed once: the richer copy wins, in any file order."""
    best: dict[str, tuple[ParsedSheet, str]] = {}
    for f in report.files:
        for ps in f.sheets:
            key = ps.sheet.sheet_id
            if key not in best or richness(ps) > richness(best[key][0]):
                best[key] = (ps, f.path)
    for f in report.files:
        kept = []
        for ps in f.sheets:
            winner, wpath = best[ps.sheet.sheet_id]
            if winner is ps:
                kept.append(ps)
            else:
                report.duplicates.append(
                    f"{f.path} の「{ps.sheet.project_name}」は {wpath} と同じシートのため取り込みません")
        if f.sheets and not kept and not f.error:
            f.skipped = f"すべて他のファイルと重複するシートです（{len(f.sheets)} 件）"
        f.sheets = kept
