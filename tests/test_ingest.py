"""Incremental, atomic ingest into a real Chroma store."""

from pathlib import Path

import pytest

from ingest.errors import StoreBusy
from tests.helpers import SAMPLE_DIR, BigramEmbeddings, make_store
from vectorstore.indexer import Indexer

SAMPLE = SAMPLE_DIR / "tochigi-joho-kyogikai.txt"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "sheet.txt").write_bytes(SAMPLE.read_bytes())
    return d


def test_reingest_unchanged_does_no_embedding(tmp_path: Path, corpus: Path):
    emb = BigramEmbeddings()
    store = make_store(tmp_path / "home", emb, model="bigram-test")
    first = Indexer(store).ingest([corpus])
    assert (first.added, first.failed) == (1, [])
    calls = emb.texts
    again = Indexer(store).ingest([corpus])
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 1, 0)
    assert emb.texts == calls
    assert store.chroma.count() == 1


def test_a_store_of_an_older_format_is_reindexed_from_its_records(tmp_path: Path, corpus: Path):
    """A new release that cuts passages differently brings an existing store up to date on the next
    ingest, from the records it holds: nothing parsed or embedded again, and every unit's tokens are
    those of the units the answerer now cuts (a stale line would be read against the wrong passage)."""
    from vectorstore.indexer import unit_tokens
    from vectorstore.records_db import STORE_FORMAT

    emb = BigramEmbeddings()
    store = make_store(tmp_path / "home", emb, model="bigram-test")
    Indexer(store).ingest([corpus])
    [row] = store.catalogue()
    ps = store.sheet(row.sheet_id)
    assert ps is not None
    stale = [["古い"] for _ in unit_tokens(ps)]
    with store.db.transaction() as con:
        store.db.set_tokens(con, row.sheet_id, stale)
    store.db.set_meta("store_format", "units-0")
    calls = emb.texts
    again = Indexer(store).ingest([corpus])
    assert (again.unchanged, again.embedded, emb.texts) == (1, 0, calls)
    assert store.db.tokens_of(row.sheet_id) == unit_tokens(ps)
    assert store.db.meta("store_format") == STORE_FORMAT


def test_changed_sheet_replaces_its_records(tmp_path: Path, corpus: Path):
    store = make_store(tmp_path / "home", BigramEmbeddings(), model="bigram-test")
    Indexer(store).ingest([corpus])
    f = corpus / "sheet.txt"
    f.write_text(f.read_text(encoding="utf-8").replace("\t334\t", "\t335\t"), encoding="utf-8")
    s = Indexer(store).ingest([corpus])
    assert (s.added, s.updated) == (0, 1)
    [row] = store.catalogue()
    ps = store.sheet(row.sheet_id)
    values = {c.value_text for c in ps.cells if c.fiscal_year == 2018 and "トータルコスト" in c.row_label}
    assert values == {"335"}  # the old 334 is gone, not kept beside it
    assert store.chroma.count() == 1


def test_removed_sheet_leaves_nothing_behind(tmp_path: Path, corpus: Path):
    store = make_store(tmp_path / "home", BigramEmbeddings(), model="bigram-test")
    Indexer(store).ingest([corpus])
    f = corpus / "sheet.txt"
    f.write_text(f.read_text(encoding="utf-8").replace("参画事業", "参画事業（改）", 1), encoding="utf-8")
    s = Indexer(store).ingest([corpus])
    assert (s.added, s.removed) == (1, 1)
    assert [r.project_name for r in store.catalogue()] == ["栃木県市町村情報化推進協議会参画事業（改）"]
    assert store.chroma.count() == 1


def test_failed_file_leaves_the_index_as_it_was(tmp_path: Path, corpus: Path):
    store = make_store(tmp_path / "home", BigramEmbeddings(), model="bigram-test")
    Indexer(store).ingest([corpus])
    before = store.db.sheet_hashes()
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    s = Indexer(store).ingest([corpus])
    assert len(s.failed) == 1 and "broken.pdf" in s.failed[0][1]
    assert store.db.sheet_hashes() == before


def test_second_ingest_waits_for_the_lock(tmp_path: Path, corpus: Path):
    from filelock import FileLock

    store = make_store(tmp_path / "home", BigramEmbeddings(), model="bigram-test")
    with FileLock(str(store.home / "ingest.lock")), pytest.raises(StoreBusy) as exc:
        Indexer(store).ingest([corpus])
    assert "実行中" in exc.value.message_ja


def test_chroma_is_reconciled_after_a_crash_between_writes(tmp_path: Path, corpus: Path):
    store = make_store(tmp_path / "home", BigramEmbeddings(), model="bigram-test")
    Indexer(store).ingest([corpus])
    [row] = store.catalogue()
    store.chroma.delete([row.sheet_id])          # as if killed after SQLite committed
    store.chroma.upsert(["orphan"], [[1.0] + [0.0] * 255], [{"content_hash": "x"}])  # killed before
    assert Indexer(store).reconcile()
    assert store.chroma.hashes() == {row.sheet_id: row.content_hash}


def test_collection_name_carries_the_embedding_model(tmp_path: Path):
    a = make_store(tmp_path / "home", BigramEmbeddings(), model="bigram-test")
    b = make_store(tmp_path / "home", BigramEmbeddings(), model="other/model-v2")
    assert a.chroma.name != b.chroma.name
    assert "other-model-v2" in b.chroma.name
