"""Malformed input: a clear message naming the file, nothing indexed from it."""

from pathlib import Path

import pytest

from ingest.errors import SheetFileError
from ingest.parse import discover, parse_file
from tests.conftest import ROOT

SAMPLE = ROOT / "ingest" / "data" / "sample" / "tochigi-joho-kyogikai.txt"


def test_empty_file_names_the_file(tmp_path: Path):
    f = tmp_path / "empty.pdf"
    f.write_bytes(b"")
    r = parse_file(f)
    assert not r.sheets and str(f) in r.error and "空" in r.error


def test_missing_path_is_an_error_naming_it(tmp_path: Path):
    with pytest.raises(SheetFileError) as exc:
        list(discover([tmp_path / "nope"]))
    assert "nope" in exc.value.message_ja


def test_unknown_binary_is_skipped_with_a_reason(tmp_path: Path):
    f = tmp_path / "photo.jpg"
    f.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    r = parse_file(f)
    assert not r.sheets and not r.error and r.skipped


@pytest.mark.parametrize("encoding", ["cp932", "utf-16"])
def test_sample_in_other_encodings_reads_the_same(tmp_path: Path, encoding):
    f = tmp_path / f"sheet-{encoding}.txt"
    f.write_bytes(SAMPLE.read_text(encoding="utf-8").encode(encoding))
    r = parse_file(f)
    assert not r.error, r.error
    assert r.sheets[0].sheet.project_name == "栃木県市町村情報化推進協議会参画事業"
    assert len(r.sheets[0].cells) > 50


def test_oversized_file_is_refused(tmp_path: Path):
    f = tmp_path / "huge.txt"
    with f.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    r = parse_file(f)
    assert not r.sheets and str(f) in r.error and "大きすぎ" in r.error
