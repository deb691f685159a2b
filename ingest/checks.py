"""Arithmetic the layouts define (事業費計 + 人件費計 = トータルコスト, the 財源 sum), verified at ingest.

A mismatch becomes a warning on the sheet; figures are never "fixed".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .normalize import format_number
from .records import TableCell


def _by_column(cells: Iterable[TableCell]) -> dict[str, dict[str, TableCell]]:
    """column label (as printed; the canonical one where the layout prints none) -> row label -> cell."""
    out: dict[str, dict[str, TableCell]] = {}
    for c in cells:
        out.setdefault(c.printed_year_label or c.fiscal_year_label, {})[c.row_label] = c
    return out


def check_sum(cells: Sequence[TableCell], parts: Sequence[str], total: str, what: str,
              tolerance: float = 1.0) -> list[str]:
    """For every column, sum(parts) must equal total (within rounding). Blank totals are not checked.

    `parts` and `total` are row labels as recorded. Returns Japanese warnings, one per mismatch.
    """
    warnings = []
    for column, rows in _by_column(cells).items():
        t = rows.get(total)
        if t is None or t.value is None:
            continue
        if any(p in rows and rows[p].value is None for p in parts):
            continue  # a blank part: the sheet does not state the sum, so there is nothing to check
        present = [rows[p] for p in parts if p in rows]
        if not present:
            continue
        s = sum(c.value for c in present if c.value is not None)
        if abs(s - t.value) > tolerance:
            terms = " + ".join(f"{c.row_label} {c.value_text}" for c in present)
            warnings.append(f"{what}（{column}）: {terms} = {format_number(s)} ですが、"
                            f"{total} は {t.value_text} です")
    return warnings
