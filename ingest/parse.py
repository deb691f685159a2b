"""file -> list[ParsedSheet]: find files, pick a reader, skip non-sheets, drop duplicate sheets."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import NotASheet, SheetFileError
from .labelling import NO_LABELS, Labeller, Labels, apply_labels
from .readers import pick_reader
from .records import ParsedSheet

MAX_FILE_BYTES = 40 * 1024 * 1024
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


def discover(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files under the given paths, recursively, in a stable order. Missing paths raise."""
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise SheetFileError(str(p), "ファイルまたはフォルダが見つかりません")
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if child.is_file() and not _ignored(child):
                    yield child
        else:
            yield p


def _ignored(path: Path) -> bool:
    return (path.name in _IGNORED_NAMES or path.name.startswith(".")
            or path.suffix.lower() in _IGNORED_SUFFIXES)


def parse_file(path: Path, labels: Labels | None = None) -> FileResult:
    """Parse one file; never raises for a bad file, reports it instead. `labels` fill in what the
    sheets do not state (municipality, year: see labelling)."""
    result = FileResult(path=str(path))
    try:
        size = path.stat().st_size
        if size == 0:
            raise SheetFileError(str(path), "ファイルが空です")
        if size > MAX_FILE_BYTES:
            raise SheetFileError(
                str(path), f"ファイルが大きすぎます（{size / 1e6:.0f} MB、上限 {MAX_FILE_BYTES // 2**20} MB）")
        with path.open("rb") as fh:
            head = fh.read(65536)
        reader = pick_reader(path, head)
        if reader is None:
            raise NotASheet("対応していない形式のファイルです")
        result.reader = reader.NAME
        result.sheets = list(reader.read(path))
        if not result.sheets:
            raise NotASheet("評価シートが見つかりません")
        if labels:
            result.sheets, result.notes = apply_labels(result.sheets, labels)
    except NotASheet as exc:
        result.sheets = []
        result.skipped = exc.reason_ja
    except SheetFileError as exc:
        result.error = exc.message_ja
    except Exception as exc:  # noqa: BLE001 - per-file isolation is the point here
        # A reader tripped on content it did not expect (BadZipFile, a pdfminer error...): report it
        # for this file and go on with the others; nothing of this file is indexed.
        result.sheets = []
        result.error = f"{path}: 読み込みに失敗しました（{type(exc).__name__}: {exc}）"
    if result.error and _password_protected_pdf(path):
        result.error = f"{path}: パスワードで保護された PDF です。パスワードを解除して保存し直してから取り込んでください"
    return result


def _password_protected_pdf(path: Path) -> bool:
    """A PDF that failed to read and has an /Encrypt dictionary (one readable without a password
    never gets here): say so, rather than the reader's generic "encrypted or broken"."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES)
    except OSError:
        return False
    return data.startswith(b"%PDF") and b"/Encrypt" in data


def parse_paths(paths: Iterable[str | Path], labeller: Labeller = NO_LABELS) -> ParseReport:
    report = ParseReport()
    for path in discover(paths):
        report.files.append(parse_file(path, labeller(path)))
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
