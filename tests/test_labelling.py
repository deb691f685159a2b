"""What the user says of sheets that do not say it themselves: --municipality, --fiscal-year, the
manifest; unknown values reported, set later without re-parsing, and ids that never depend on them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import vectorstore.indexer as indexer_module
from assistant.cli import main
from ingest.errors import UserInputError
from ingest.labelling import Labeller, Labels, Manifest
from ingest.readers.labels import compact
from tests.conftest import corpus_file
from tests.helpers import SAMPLE_DIR, BigramEmbeddings, make_store
from tests.test_editions import _workbook
from vectorstore.indexer import Indexer

SAMPLE = SAMPLE_DIR / "tochigi-joho-kyogikai.txt"


def _manifest(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the manifest --------------------------------------------------------------------------------
def test_manifest_maps_folders_and_files(tmp_path):
    m = Manifest.load(_manifest(tmp_path, """
[[files]]
path = "city"
municipality = "甲市"

[[files]]
path = "city/old/sheet.pdf"
municipality = "乙町"
fiscal_year = "平成25年度"
"""))
    root = tmp_path / "in"
    for rel in ("city/a.xlsx", "city/old/sheet.pdf", "other/b.json"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x", encoding="utf-8")
    labeller = Labeller([root], Labels(municipality="既定市"), m)
    assert labeller(root / "city/a.xlsx") == Labels("甲市")
    assert labeller(root / "city/old/sheet.pdf") == Labels("乙町", 2013)  # the file's own entry wins
    assert labeller(root / "other/b.json") == Labels("既定市")            # no entry: the command line's
    assert labeller.unused() == []


@pytest.mark.parametrize(("text", "says"), [
    ("[[files]]\npath = \"a\"\nmunicipality = ", "TOML"),
    ("[[files]]\npath = \"a\"\ncity = \"甲市\"\n", "不明な項目"),
    ("[[files]]\nmunicipality = \"甲市\"\n", "path"),
    ("[[files]]\npath = \"a\"\nfiscal_year = \"来年\"\n", "年度として読めません"),
    ("[[files]]\npath = \"a\"\n", "municipality か fiscal_year"),
    ("title = \"x\"\n", "不明な項目"),
])
def test_bad_manifest_names_what_is_wrong(tmp_path, text, says):
    with pytest.raises(UserInputError) as err:
        Manifest.load(_manifest(tmp_path, text))
    assert says in err.value.message_ja and "manifest.toml" in err.value.message_ja


def test_bad_options_exit_2_in_japanese(tmp_path, capsys):
    assert main(["parse", "--fiscal-year", "いつか", str(SAMPLE)]) == 2
    assert "年度として読めません" in capsys.readouterr().err
    assert main(["ingest", "--municipality", " ", str(SAMPLE)]) == 2
    assert "自治体名が空です" in capsys.readouterr().err
    assert main(["ingest", "--manifest", str(tmp_path / "none.toml"), str(SAMPLE)]) == 2
    assert "マニフェストが見つかりません" in capsys.readouterr().err


def test_sheet_statement_wins_over_the_user(capsys):
    ikeda = corpus_file("real/ikeda/ikeda-r7-001.pdf")
    assert main(["parse", "--json", "--municipality", "箕面市", str(ikeda)]) == 0
    out = capsys.readouterr()
    assert '"municipality": "池田市"' in out.out
    assert "シートに「池田市」と記載があるため、指定の「箕面市」は使いません" in out.err


# --- the index: unknown, set later, same sheets from anywhere ------------------------------------
@pytest.fixture
def workbook(tmp_path) -> Path:
    return _workbook(corpus_file("real/ofunato/report.xlsx"), tmp_path / "a" / "report.xlsx", 3)


def _store(tmp_path):
    return make_store(tmp_path / "home", BigramEmbeddings(), model="bigram-test")


def test_unknown_is_reported_then_set_later_without_parsing(tmp_path, workbook, monkeypatch, capsys):
    store = _store(tmp_path)
    first = Indexer(store).ingest([workbook.parent])
    assert first.unknown[str(workbook)] == (3, 0)
    ids = sorted(r.sheet_id for r in store.catalogue())
    assert {r.municipality for r in store.catalogue()} == {""}
    parsed: list[str] = []
    real = indexer_module.parse_file
    monkeypatch.setattr(indexer_module, "parse_file", lambda p, *a: parsed.append(p.name) or real(p, *a))
    later = Indexer(store).ingest([workbook.parent], labeller=Labeller([workbook.parent], Labels("大船渡市")))
    assert parsed == [] and later.relabelled == 3 and later.unknown[str(workbook)] == (0, 0)
    rows = store.catalogue()
    assert {r.municipality for r in rows} == {"大船渡市"} and sorted(r.sheet_id for r in rows) == ids
    assert all(store.sheet(i).sheet.municipality_origin == "user" for i in ids)
    from vectorstore.store import Filters

    assert store.search("不法投棄", filters=Filters(municipality="大船渡市"))  # the vector metadata moved too


def test_same_workbook_from_another_folder_is_the_same_sheets(tmp_path, workbook):
    from openpyxl import load_workbook

    store = _store(tmp_path)
    Indexer(store).ingest([workbook.parent], labeller=Labeller([workbook.parent], Labels("大船渡市")))
    before = store.db.sheet_hashes()
    # Saved again elsewhere (other bytes, same sheets), ingested without naming the city.
    resaved = tmp_path / "elsewhere" / "report.xlsx"
    resaved.parent.mkdir()
    wb = load_workbook(workbook)
    wb.save(resaved)
    assert resaved.read_bytes() != workbook.read_bytes()
    again = Indexer(store).ingest([resaved.parent])
    assert again.added == 0 and len(again.duplicates) == 3
    assert store.db.sheet_hashes() == before
    assert {r.municipality for r in store.catalogue()} == {"大船渡市"}
    # The very same bytes under a third name: known before parsing.
    copy = tmp_path / "third" / "report.xlsx"
    copy.parent.mkdir()
    shutil.copy(workbook, copy)
    assert "同じ内容のファイル" in Indexer(store).ingest([copy.parent]).duplicates[0]


def test_user_label_survives_a_changed_file(tmp_path, workbook):
    from openpyxl import load_workbook

    store = _store(tmp_path)
    Indexer(store).ingest([workbook.parent], labeller=Labeller([workbook.parent], Labels("大船渡市")))
    wb = load_workbook(workbook)
    ws = wb.worksheets[0]
    col = next(c.column for c in ws[2] if c.value and compact(c.value) == "事業費計(A)")
    ws.cell(row=3, column=col, value=12345)  # a corrected figure: the file changes, its sheets stay
    wb.save(workbook)
    s = Indexer(store).ingest([workbook.parent])
    assert s.updated == 1 and {r.municipality for r in store.catalogue()} == {"大船渡市"}


def test_upload_field_names_the_city(tmp_path, workbook):
    from app import HyokaApp
    from assistant.core import Assistant
    from assistant.settings import Settings

    settings = Settings(home=tmp_path / "home", allow_upload=True)
    store = make_store(settings.home, BigramEmbeddings(), model="bigram-test")
    app = HyokaApp(Assistant(store), store, settings, stream_delay=0)
    report = app.upload([str(workbook)])
    assert "自治体名がシートに記載されていません" in report
    assert {r[1] for r in app.catalogue()} == {"不明"}  # never 'uploads', the folder the files are kept in
    report = app.upload([str(workbook)], None, "大船渡市")
    assert "自治体名を設定しました（3 シート）" in report
    assert {r[1] for r in app.catalogue()} == {"大船渡市"}
    assert "自治体名として使えません" in app.upload([str(workbook)], None, "a/b")
