"""Hostile files through the parse worker: how long each takes to refuse, and the worker's peak memory.

    python bench/hostile.py            # writes the files under bench/out/hostile/, prints one line each

The files: a 256 MiB zip bomb (.xlsx), the same with a forged ZIP directory (the part claims 1 KiB),
a 2,000-page PDF, and (when ../shared/corpus is present) a row-per-sheet workbook of 1,500 rows.
Each is parsed with the default limits, and again with the pre-parse limits off, so that the
worker's own memory cap is what stops it.
"""

from __future__ import annotations

import struct
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.limits import FileLimits  # noqa: E402
from ingest.sandbox import Sandbox, run_isolated  # noqa: E402
from testkit.hostile import many_page_pdf, zip_bomb_xlsx  # noqa: E402

OUT = ROOT / "bench" / "out" / "hostile"
OFF = FileLimits(file_mb=10**4, inflated_mb=10**6, inflate_ratio=10**9, pdf_pages=10**6,
                 sheets_per_file=10**6, worksheet_rows=10**9)


def forged(path: Path) -> Path:
    """A bomb whose headers claim the big part holds 1 KiB."""
    zip_bomb_xlsx(path, inflated_mib=300)
    with zipfile.ZipFile(path) as zf:
        real = next(i.file_size for i in zf.infolist() if i.filename == "xl/sharedStrings.xml")
    data = path.read_bytes()
    for fmt in ("<Q", "<I"):
        data = data.replace(struct.pack(fmt, real), struct.pack(fmt, 1024))
    path.write_bytes(data)
    return path


def rows(path: Path, n: int) -> Path | None:
    """A copy of 大船渡's row-per-sheet workbook grown to n rows (each row one sheet)."""
    import openpyxl

    src = ROOT.parent / "shared" / "corpus" / "real" / "ofunato" / "report.xlsx"
    if not src.exists():
        return None
    ws = openpyxl.load_workbook(src, read_only=True).worksheets[0]
    table = [list(r) for r in ws.iter_rows(values_only=True)]
    data = [r for r in table[1:] if any(r)]
    wb = openpyxl.Workbook(write_only=True)
    out = wb.create_sheet(ws.title)
    out.append(table[0])
    for i in range(n):
        row = list(data[i % len(data)])
        row[4] = f"{row[4]}{i}"  # a distinct 事務事業名 per row
        out.append(row)
    wb.save(path)
    return path


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    files = [zip_bomb_xlsx(OUT / "bomb.xlsx"), forged(OUT / "forged.xlsx"), many_page_pdf(OUT / "pages.pdf"),
             rows(OUT / "rows1500.xlsx", 1500)]
    for path in [f for f in files if f is not None]:
        for label, limits in (("limits", FileLimits()), ("no pre-parse limits", OFF)):
            t0 = time.perf_counter()
            got = run_isolated(path, limits, Sandbox(memory_mb=768, seconds=300))
            took = time.perf_counter() - t0
            outcome = got.result.error.split(": ", 1)[-1][:70] or got.result.skipped or f"{len(got.result.sheets)} sheets"
            print(f"{path.name:16} {path.stat().st_size / 1024:8.0f} KiB  {label:20} {took:6.1f} s  "
                  f"peak {got.peak_kib / 1024:5.0f} MiB  {outcome}")


if __name__ == "__main__":
    main()
