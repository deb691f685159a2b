"""神戸市 事務事業評価シート (PDF): figures, narratives, golden file, and broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import NotASheet, SheetFileError
from ingest.readers import pdf_kobe
from tests.conftest import cell, check_golden, corpus_file

pytestmark = pytest.mark.corpus

KOBE = [f"real/kobe/kobe-r25-{n:03d}.pdf" for n in range(1, 23)]
# 007 carries a second, complete sheet (高齢者等福祉施設管理運営業務) from its page 5.
SHEETS_PER_FILE = {"real/kobe/kobe-r25-007.pdf": 2}


def _read(rel: str):
    path = corpus_file(rel)
    return pdf_kobe.read(path)


def test_spot_check_chosha_setsubi_h21_busshitsuhi() -> None:
    (ps,) = _read("real/kobe/kobe-r25-001.pdf")
    assert ps.sheet.project_name == "庁舎設備管理業務"
    # cell() matches by substring and 「物件費 内訳 …」 rows contain 物件費: pick the exact row.
    (c,) = [c for c in ps.cells if c.row_label == "物件費" and c.fiscal_year == 2009]
    assert (c.table.value, c.value, c.value_text) == ("事業費", 408178.0, "408,178")
    assert (c.fiscal_year_label, c.printed_year_label, c.kind.value, c.unit) == ("平成21年度", "21年度決算", "決算", "千円")


def test_sniff_accepts_kobe_and_rejects_other_suffix(tmp_path: Path) -> None:
    path = corpus_file(KOBE[0])
    assert pdf_kobe.sniff(path, path.read_bytes()[:1024])
    other = tmp_path / "sheet.txt"
    other.write_text("事務事業評価シート ≪基本事項≫", encoding="utf-8")
    assert not pdf_kobe.sniff(other, other.read_bytes())


def test_golden_kobe_001() -> None:
    (ps,) = _read("real/kobe/kobe-r25-001.pdf")
    check_golden("kobe_001", ps)


@pytest.mark.slow
def test_all_kobe_files_parse() -> None:
    ids: dict[str, list[str]] = {}
    for rel in KOBE:
        sheets = _read(rel)
        assert len(sheets) == SHEETS_PER_FILE.get(rel, 1), rel
        for ps in sheets:
            assert ps.sheet.project_name and ps.sheet.department, rel
            assert len({n.section for n in ps.narratives}) >= 5, rel
            total = [c for c in ps.cells if c.row_label == "合計（A）"]
            assert [c.fiscal_year for c in total] == list(range(2008, 2014)), rel
            assert all(c.value is not None for c in total), rel
            assert not ps.warnings, (rel, ps.warnings)
        ids[rel] = [ps.sheet.sheet_id for ps in sheets]
    assert ids[KOBE[8]] != ids[KOBE[9]]  # 009 and 010: one 事業名 under two bureaus
    assert len({i for v in ids.values() for i in v}) == sum(len(v) for v in ids.values())


def test_blank_cells_are_none_not_zero() -> None:
    (ps,) = _read("real/kobe/kobe-r25-001.pdf")
    c = cell(ps, "事業費", "減価償却費", 2010)
    assert (c.value, c.value_text) == (None, "")


def test_two_departments_and_second_sheet_in_007() -> None:
    first, second = _read("real/kobe/kobe-r25-007.pdf")
    assert first.sheet.project_name == "害虫駆除・動物管理等公衆衛生業務"
    assert second.sheet.project_name == "高齢者等福祉施設管理運営業務"
    assert second.sheet.department == "保健福祉局高齢福祉部高齢福祉課・保健福祉局総務部保護課"
    assert second.sheet.locator == "p.5-7"


def test_truncated_pdf_raises_sheet_file_error(tmp_path: Path) -> None:
    broken = tmp_path / "kobe-broken.pdf"
    broken.write_bytes(corpus_file(KOBE[0]).read_bytes()[:2000])
    with pytest.raises(SheetFileError) as err:
        pdf_kobe.read(broken)
    assert str(broken) in str(err.value)
    assert not pdf_kobe.sniff(broken, broken.read_bytes()[:1024])


def test_other_pdf_raises_not_a_sheet(tmp_path: Path) -> None:
    other = tmp_path / "other.pdf"
    other.write_bytes(_minimal_pdf("Hello, not a sheet"))
    assert not pdf_kobe.sniff(other, other.read_bytes()[:1024])
    with pytest.raises(NotASheet):
        pdf_kobe.read(other)


def _minimal_pdf(text: str) -> bytes:
    """A valid one-page PDF with one line of Helvetica text, xref offsets computed."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out
