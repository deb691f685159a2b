"""The records store's two engines give the same rows, in the same order, for every query.

SQLite (the embedded default) and PostgreSQL (a real server started by the test) are filled with the
same sheets, whose names and units are chosen where the engines would differ if left to themselves:
ASCII letters in both cases and their full-width forms (LIKE folds ASCII case in SQLite only, and
PostgreSQL orders text by its locale unless told to order by bytes), `%`, `_` and a backslash in a
searched name (PostgreSQL's LIKE escapes with a backslash by default), money in 円 and 千円.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest.parse import parse_paths
from ingest.records import ParsedSheet, make_sheet_id
from ingest.units import profile_text
from testkit.servers import new_database
from tests.helpers import SAMPLE_DIR
from vectorstore.indexer import unit_tokens
from vectorstore.provenance import ADMIN, UPLOAD, Provenance
from vectorstore.records import FileRow, Scope
from vectorstore.records_db import RecordsDB

UNITS = ["総務部 ICT推進課 情報管理係", "総務部 ict推進課", "総務部 ＩＣＴ推進課", "市民部 100%推進課", "市民部 a_b課",
         "市民部 a\\b課", "Digital部 DX推進課"]
NAMES = ["DX推進事業", "dx推進事業", "ａ事業", "Ｚ事業", "あ事業", "Zebra事業", "アプリ事業"]


def _sheets() -> list[ParsedSheet]:
    base = parse_paths([SAMPLE_DIR]).sheets[0]
    out = []
    for i, (unit, name) in enumerate(zip(UNITS, NAMES, strict=True)):
        city = ["大船渡市", "Ofunato", "ofunato"][i % 3]
        sid = make_sheet_id(city, "", name, unit, 2020)
        money = "円" if i % 2 else "千円"
        cells = tuple(c.model_copy(update={"sheet_id": sid, "unit": money if c.unit == "千円" else c.unit})
                      for c in base.cells)
        sheet = base.sheet.model_copy(update={"sheet_id": sid, "project_name": name, "department": unit,
                                              "municipality": city, "source_file": f"f{i}.txt"})
        out.append(ParsedSheet(sheet=sheet, narratives=base.narratives, cells=cells, warnings=()))
    # Two years of one project: the same name and municipality, told apart by sheet id alone.
    ps = out[0]
    for year in (2019, 2021):
        sid = make_sheet_id(ps.sheet.municipality, "", ps.sheet.project_name, ps.sheet.department, year)
        out.append(ps.model_copy(update={"sheet": ps.sheet.model_copy(update={"sheet_id": sid, "fiscal_year": year})}))
    return out


def _fill(db) -> None:
    with db.transaction() as con:
        for ps in _sheets():
            db.put_sheet(con, ps, unit_tokens(ps), profile_text(ps))
            db.put_file(con, FileRow(ps.sheet.source_file, "sha-" + ps.sheet.source_file, "v1", "indexed", "",
                                     (ps.sheet.sheet_id,)))
            db.provenance.put(con, [Provenance(ps.sheet.sheet_id, ADMIN if "a" in ps.sheet.source_file else UPLOAD,
                                               "", "2026-01-01T00:00:00+09:00", ps.sheet.source_file, "f.txt")])
        db.bump_generation(con)
        db.bump_generation(con)
    db.cache_vectors("m", {"h1": [0.1, 0.2, 0.3], "h2": [1.0]})
    db.set_meta("bm25_generation", "2")


@pytest.fixture(scope="module")
def engines(postgres, tmp_path_factory):
    from vectorstore.records_pg import PostgresRecords

    lite = RecordsDB(tmp_path_factory.mktemp("sqlite") / "records.sqlite3")
    pg = PostgresRecords(new_database(postgres, "contract"))
    for db in (lite, pg):
        _fill(db)
    yield lite, pg
    pg.close()


SCOPES = [Scope(), Scope(department="ict"), Scope(department="ｉｃｔ"), Scope(department="ICT推進課", department_exact=True),
          Scope(department="100%"), Scope(department="a_b"), Scope(department="a\\b"), Scope(municipality="Ofunato"),
          Scope(policy="地域情報化"), Scope(policy="まちづくり", department="推進")]


def test_every_query_gives_the_same_rows(engines):
    lite, pg = engines
    ids = sorted(lite.sheet_hashes())
    for name, args in [("sheet_rows", ()), ("sheet_hashes", ()), ("sheet_ids", ()), ("profiles", ()), ("count", ()),
                       ("generation", ()), ("department_names", ()), ("policy_texts", ()), ("hashes_of", (ids[:3],)),
                       ("sheet_labels", (ids,)), ("richness", (ids[0],)), ("tokens_of", (ids[1],)),
                       ("source_of", (ids[2],)), ("sheet", (ids[3],)), ("file", ("f1.txt",)),
                       ("indexed_file_with_sha", ("sha-f1.txt", "other")), ("meta", ("bm25_generation",))]:
        assert getattr(pg, name)(*args) == getattr(lite, name)(*args), name
    assert list(pg.unit_tokens()) == list(lite.unit_tokens())
    assert pg.cached_vectors("m", ["h1", "h2", "h3"]) == lite.cached_vectors("m", ["h1", "h2", "h3"])
    assert {k: v.tolist() for k, v in pg.vectors("m", ["h1"]).items()} == {"h1": pytest.approx([0.1, 0.2, 0.3])}
    assert pg.provenance.of(ids) == lite.provenance.of(ids) and pg.provenance.origins() == lite.provenance.origins()
    for scope in SCOPES:
        assert pg.scoped(scope) == lite.scoped(scope), scope
        rows = lite.scope_rows(scope)
        assert pg.scope_rows(scope) == rows, scope
        want = [r[:3] for r in rows]
        assert pg.cells_of_rows(want) == lite.cells_of_rows(want), scope
        assert pg.cells_of_rows(want, [2018, 2019], ["実績"]) == lite.cells_of_rows(want, [2018, 2019], ["実績"])


def test_the_shared_semantics_are_sqlites(engines):
    """What both must mean: LIKE folds the case of ASCII letters only, % and _ are wildcards and \\ is a character;
    names order by their bytes; sheets of one name order by id."""
    lite, pg = engines
    for db in (lite, pg):
        # ＩＣＴ is found by its unit's name, kept in NFKC (ICT); full-width letters are not folded.
        assert {r.department for r in db.scoped(Scope(department="ict"))} == set(UNITS[:3])
        assert db.scoped(Scope(department="ｉｃｔ")) == []
        assert {r.department for r in db.scoped(Scope(department="a\\b"))} == {UNITS[5]}
        assert {r.department for r in db.scoped(Scope(department="a_b"))} == {UNITS[4], UNITS[5]}
        names = [r.project_name for r in db.sheet_rows() if r.municipality == "大船渡市"]
        assert names == sorted(names, key=lambda n: n.encode()), names
        same = [r.sheet_id for r in db.sheet_rows() if r.project_name == "DX推進事業"]
        assert len(same) == 3 and same == sorted(same)
        yen = {c.unit: c.yen / c.value for c in db.cells_of_rows([r[:3] for r in db.scope_rows(Scope())])
               if c.unit in ("円", "千円") and c.value}
        assert yen == {"円": 1.0, "千円": 1000.0}


def test_a_failed_transaction_writes_nothing(engines):
    extra = _sheets()[0]
    extra = extra.model_copy(update={"sheet": extra.sheet.model_copy(update={"sheet_id": "rolled-back"})})
    for db in engines:
        before, gen = db.sheet_hashes(), db.generation()
        with pytest.raises(RuntimeError), db.transaction() as con:
            db.put_sheet(con, extra, unit_tokens(extra), profile_text(extra))
            db.bump_generation(con)
            raise RuntimeError("the process fails mid-file")
        assert db.sheet_hashes() == before and db.generation() == gen
        assert not db.cells_of_rows([("rolled-back", c.table.value, c.row_label) for c in extra.cells[:3]])


def test_one_ingest_at_a_time_across_connections(engines, postgres):
    """The PostgreSQL lock is the database's: a second store object (another host) waits or is refused."""
    from vectorstore.records_pg import PostgresRecords

    _, pg = engines
    other = PostgresRecords(pg.url)
    first, second = pg.ingest_lock(), other.ingest_lock()
    assert first.acquire(0)
    try:
        assert not second.acquire(0.3)
    finally:
        first.release()
    assert second.acquire(0)
    second.release()
    other.close()
    assert other.identity() == pg.identity()


def test_the_store_keeps_its_identity(tmp_path: Path):
    a = RecordsDB(tmp_path / "a" / "records.sqlite3")
    again = RecordsDB(tmp_path / "a" / "records.sqlite3")
    b = RecordsDB(tmp_path / "b" / "records.sqlite3")
    assert a.identity() == again.identity() != b.identity() and len(a.identity()) == 32


def test_a_sheet_postgresql_cannot_hold_fails_its_file_alone(postgres, chroma_port, tmp_path: Path):
    """PostgreSQL's text holds no NUL (SQLite's does): a file whose sheet has one fails with a message
    naming it, writes nothing, and the other files go in."""
    from tests.helpers import BigramEmbeddings
    from vectorstore.chroma_index import ChromaConfig
    from vectorstore.indexer import Indexer
    from vectorstore.records_pg import PostgresRecords
    from vectorstore.store import Store

    folder = tmp_path / "files"
    folder.mkdir()
    text = (SAMPLE_DIR / "tochigi-joho-kyogikai.txt").read_text(encoding="utf-8")
    (folder / "good.txt").write_text(text, encoding="utf-8")
    (folder / "nul.txt").write_text(text.replace("栃木県市町村", "第2地区\\u0000", 1).replace("\\u0000", "\x00"),
                                    encoding="utf-8")
    store = Store(tmp_path / "home", BigramEmbeddings(), "bigram-test", ChromaConfig("server", port=chroma_port),
                  records=PostgresRecords(new_database(postgres, "nul")))
    s = Indexer(store).ingest([folder])
    assert s.added == 1 and [p for p, _ in s.failed] == [str(folder / "nul.txt")], s
    assert "PostgreSQL の記録ストアには取り込めません" in s.failed[0][1] and "nul.txt" in s.failed[0][1]
    assert store.count() == 1 and store.chroma.count() == 1


def test_an_upload_on_one_host_waits_for_an_ingest_on_another(postgres, chroma_port, tmp_path: Path):
    """The app's upload and a worker's ingest share the database's lock: the upload waits, says so,
    then goes in, and the worker's host sees its sheet with its uploader."""
    import threading

    from tests.helpers import BigramEmbeddings
    from vectorstore.chroma_index import ChromaConfig
    from vectorstore.records_pg import PostgresRecords
    from vectorstore.store import Store
    from vectorstore.uploads import UploadStore

    url, config = new_database(postgres, "upload_wait"), ChromaConfig("server", port=chroma_port)
    app = Store(tmp_path / "app", BigramEmbeddings(), "bigram-test", config, records=PostgresRecords(url))
    worker = Store(tmp_path / "worker", BigramEmbeddings(), "bigram-test", config, records=PostgresRecords(url))
    incoming = tmp_path / "incoming.txt"
    incoming.write_bytes((SAMPLE_DIR / "tochigi-joho-kyogikai.txt").read_bytes())
    uploads = UploadStore(app)
    kept = uploads.keep(incoming, "sheet.txt", "mallory")
    held = worker.db.ingest_lock()
    assert held.acquire(0)
    waited = threading.Event()
    done: list = []
    t = threading.Thread(target=lambda: done.append(uploads.ingest([kept], "mallory", wait=30, on_wait=waited.set)))
    t.start()
    assert waited.wait(10) and not done
    time.sleep(0.5)
    assert not done  # still waiting while the worker holds the lock
    held.release()
    t.join(30)
    assert done and done[0].added == 1 and done[0].waited >= 0.5
    [row] = worker.catalogue()
    assert worker.provenance([row.sheet_id])[row.sheet_id].uploader == "mallory"
