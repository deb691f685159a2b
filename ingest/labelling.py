"""What a sheet does not say about itself, from the user: municipality and evaluation year.

A sheet's own content always wins (a title, a 自治体名 field, the years of its tables). Where it
is silent, the user says it: `hyoka ingest --municipality 神戸市 [--fiscal-year 2013] PATH`, a
manifest that maps folders or files to a municipality and year, or the field beside the upload in
the chat. Folder and file names are never read for this. What nobody states stays unknown ('').

Labels never change a sheet's id (see records.make_sheet_id), so a municipality set later, or the
same workbook under another folder, is the same sheet.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import UserInputError
from .normalize import parse_year
from .records import ParsedSheet, Sheet
from .years import UNKNOWN, canonical_year_label

_MAX_NAME = 40


@dataclass(frozen=True)
class Labels:
    """What the user says of some files: a municipality and/or an evaluation year (None = nothing)."""

    municipality: str = ""
    fiscal_year: int | None = None

    def __bool__(self) -> bool:
        return bool(self.municipality or self.fiscal_year)


def check_municipality(name: str, where: str = "--municipality") -> str:
    """A municipality as the user typed it, tidied; a clear Japanese error for an unusable one."""
    text = " ".join((name or "").split())
    if not text:
        raise UserInputError(f"{where}: 自治体名が空です（例: 神戸市）")
    if len(text) > _MAX_NAME or any(ch in text for ch in "\r\n\t/\\"):
        raise UserInputError(f"{where}: 自治体名として使えません: 「{text[:_MAX_NAME]}」（例: 神戸市）")
    return text


def check_fiscal_year(value: object, where: str = "--fiscal-year") -> int:
    """2013, '2013', '平成25年度', 'R7' -> a Western fiscal year; anything else is an error."""
    text = str(value).strip()
    year = int(text) if text.isdigit() and len(text) == 4 else parse_year(text)
    if year is None or not 1950 <= year <= 2100:
        raise UserInputError(f"{where}: 年度として読めません: 「{text}」（例: 2013、平成25年度、R7）")
    return year


# --- the manifest --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ManifestEntry:
    path: PurePosixPath  # relative to the folder being ingested ('.' = all of it), or absolute
    labels: Labels


@dataclass
class Manifest:
    """A TOML file of [[files]] entries: path, municipality, fiscal_year (see README)."""

    source: str
    entries: list[ManifestEntry] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise UserInputError(f"{p}: マニフェストが見つかりません") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise UserInputError(f"{p}: マニフェストを読めません（{exc}）") from exc
        except tomllib.TOMLDecodeError as exc:
            raise UserInputError(f"{p}: マニフェストの書式が正しくありません（TOML: {exc}）") from exc
        unknown = set(data) - {"files"}
        if unknown:
            raise UserInputError(f"{p}: マニフェストに不明な項目があります: {', '.join(sorted(unknown))}"
                                 "（[[files]] の表だけを書きます）")
        items = data.get("files", [])
        if not isinstance(items, list):
            raise UserInputError(f"{p}: files は [[files]] の表の並びで書きます")
        return cls(str(p), [_entry(p, i, item) for i, item in enumerate(items, start=1)])

    def labels_for(self, rel: PurePosixPath, absolute: PurePosixPath) -> tuple[Labels, ManifestEntry | None]:
        """The most specific entry that covers the file (a file entry beats its folder's)."""
        best: ManifestEntry | None = None
        for e in self.entries:
            target = absolute if e.path.is_absolute() else rel
            if (e.path == PurePosixPath(".") or target == e.path or e.path in target.parents) and \
                    (best is None or len(e.path.parts) > len(best.path.parts)):
                best = e
        return (best.labels if best else Labels()), best


def _entry(manifest: Path, n: int, item: object) -> ManifestEntry:
    where = f"{manifest} の {n} 番目の [[files]]"
    if not isinstance(item, dict):
        raise UserInputError(f"{where}: 表（path = …）で書きます")
    unknown = set(item) - {"path", "municipality", "fiscal_year"}
    if unknown:
        raise UserInputError(f"{where}: 不明な項目があります: {', '.join(sorted(unknown))}"
                             "（path、municipality、fiscal_year だけが使えます）")
    raw = item.get("path")
    if not isinstance(raw, str) or not raw.strip():
        raise UserInputError(f"{where}: path（取り込むフォルダからの相対パス、例: \"kobe\"）がありません")
    muni = check_municipality(item["municipality"], where) if "municipality" in item else ""
    year = check_fiscal_year(item["fiscal_year"], where) if "fiscal_year" in item else None
    if not muni and year is None:
        raise UserInputError(f"{where}: municipality か fiscal_year のどちらかを書きます")
    return ManifestEntry(PurePosixPath(raw.strip().replace("\\", "/")), Labels(muni, year))


# --- which labels apply to a file ----------------------------------------------------------------

class Labeller:
    """Labels for each file of one ingest: the manifest's entry for it, else the command line's.

    Manifest paths are relative to the folder given to `hyoka ingest` (for a file given directly,
    its own folder), so one manifest serves wherever the folder sits."""

    def __init__(self, roots: Sequence[str | Path] = (), default: Labels | None = None,
                 manifest: Manifest | None = None) -> None:
        self.roots = [Path(r).resolve() for r in roots]
        self.roots = [r if r.is_dir() else r.parent for r in self.roots]
        self.default = default or Labels()
        self.manifest = manifest
        self.used: set[PurePosixPath] = set()

    def __call__(self, path: str | Path) -> Labels:
        if self.manifest is None:
            return self.default
        p = Path(path).resolve()
        root = max((r for r in self.roots if r == p.parent or r in p.parents), key=lambda r: len(r.parts),
                   default=p.parent)
        labels, entry = self.manifest.labels_for(PurePosixPath(p.relative_to(root).as_posix()),
                                                 PurePosixPath(p.as_posix()))
        if entry is None:
            return self.default
        self.used.add(entry.path)
        return Labels(labels.municipality or self.default.municipality,
                      labels.fiscal_year or self.default.fiscal_year)

    def unused(self) -> list[str]:
        """Manifest entries that matched no file of this ingest (a typo, or another folder)."""
        if self.manifest is None:
            return []
        return [str(e.path) for e in self.manifest.entries if e.path not in self.used]


NO_LABELS = Labeller()


# --- applying labels to sheets -------------------------------------------------------------------

def apply_labels(sheets: Iterable[ParsedSheet], labels: Labels) -> tuple[list[ParsedSheet], list[str]]:
    """Fill in what the sheets do not state; the sheet's own statement always wins.

    A value given earlier by a user is replaced by a new one (a correction). Returns the sheets and
    Japanese notes where the user's value disagrees with what a sheet states (the sheet's is kept)."""
    out: list[ParsedSheet] = []
    notes: set[str] = set()
    for ps in sheets:
        s = ps.sheet
        update: dict[str, object] = {}
        if labels.municipality and s.municipality != labels.municipality:
            if s.municipality_origin == "sheet":
                notes.add(f"シートに「{s.municipality}」と記載があるため、指定の「{labels.municipality}」は使いません")
            else:
                update |= {"municipality": labels.municipality, "municipality_origin": "user"}
        if labels.fiscal_year and s.fiscal_year != labels.fiscal_year:
            if s.fiscal_year_origin == "sheet":
                notes.add(f"シートの年度は{s.fiscal_year_label}のため、指定の{canonical_year_label(labels.fiscal_year)}"
                          "は使いません")
            else:
                update |= {"fiscal_year": labels.fiscal_year, "fiscal_year_origin": "user",
                           "fiscal_year_label": canonical_year_label(labels.fiscal_year), "printed_year_label": ""}
        out.append(with_sheet(ps, s.model_copy(update=update)) if update else ps)
    return out, sorted(notes)


def inherit_labels(ps: ParsedSheet, stored: ParsedSheet) -> ParsedSheet:
    """A re-parsed sheet keeps what the user had said of it (the file changed, the sheet is the same)."""
    s, old = ps.sheet, stored.sheet
    update: dict[str, object] = {}
    if not s.municipality and old.municipality_origin == "user":
        update |= {"municipality": old.municipality, "municipality_origin": "user"}
    if s.fiscal_year is None and old.fiscal_year_origin == "user":
        update |= {"fiscal_year": old.fiscal_year, "fiscal_year_origin": "user",
                   "fiscal_year_label": old.fiscal_year_label, "printed_year_label": ""}
    return with_sheet(ps, s.model_copy(update=update)) if update else ps


def with_sheet(ps: ParsedSheet, sheet: Sheet) -> ParsedSheet:
    # A new object, not model_copy: the content hash is cached on the instance.
    return ParsedSheet(sheet=sheet, narratives=ps.narratives, cells=ps.cells, warnings=ps.warnings)


def unknown_counts(sheets: Iterable[ParsedSheet]) -> tuple[int, int]:
    """How many sheets have no municipality, and how many no evaluation year."""
    muni = year = 0
    for ps in sheets:
        muni += not ps.sheet.municipality
        year += ps.sheet.fiscal_year is None
    return muni, year


def describe_unknown(path: str, n_municipality: int, n_year: int) -> list[str]:
    """Japanese lines for an ingest report: which file's sheets are unknown, and how to say it."""
    out = []
    if n_municipality:
        out.append(f"{path}: 自治体名がシートに記載されていません（{n_municipality} シートは「{UNKNOWN}」）。"
                   "--municipality 自治体名 で指定できます（取り込み済みのファイルは再解析せずに設定されます）")
    if n_year:
        out.append(f"{path}: 評価年度がシートから読み取れません（{n_year} シートは「{UNKNOWN}」）。"
                   "--fiscal-year 年度 で指定できます（取り込み済みのファイルは再解析せずに設定されます）")
    return out
