"""Scale-out: the store on a real Chroma server (`chroma run`), switched on by settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.factory import build_store
from assistant.settings import Settings
from tests.conftest import free_port
from tests.helpers import SAMPLE_DIR
from vectorstore.indexer import Indexer

# slow: starts PostgreSQL and a Chroma server
pytestmark = pytest.mark.slow

HYOKA = Path(sys.executable).with_name("hyoka")
QUESTION = "栃木県市町村情報化推進協議会参画事業の平成30年度のトータルコストは？"


def _server_env(monkeypatch, home: Path, port: int) -> None:
    monkeypatch.setenv("HYOKA_HOME", str(home))
    monkeypatch.setenv("HYOKA_CHROMA__MODE", "server")
    monkeypatch.setenv("HYOKA_CHROMA__HOST", "127.0.0.1")
    monkeypatch.setenv("HYOKA_CHROMA__PORT", str(port))


def test_ingest_and_ask_through_a_chroma_server(chroma_port, tmp_path: Path, monkeypatch):
    home = tmp_path / "home"
    _server_env(monkeypatch, home, chroma_port)
    store = build_store(Settings())
    summary = Indexer(store).ingest([SAMPLE_DIR])
    assert (summary.added, summary.failed) == (1, [])
    assert store.chroma.count() == 1
    assert not (home / "chroma").exists()  # the vectors live on the server, not in HYOKA_HOME
    ans = Assistant(store).ask(QUESTION)
    assert ans.status.value == "answered" and "334" in ans.answer
    assert ans.citations[0].value == "334"
    # Another process with the same settings shares the index.
    asked = subprocess.run([str(HYOKA), "ask", QUESTION], env=dict(os.environ), capture_output=True,
                           text=True, timeout=60)
    assert asked.returncode == 0 and "334" in asked.stdout, asked.stderr


def test_two_homes_on_one_server_keep_their_own_vectors(chroma_port, tmp_path: Path, monkeypatch):
    """reconcile() deletes vectors its records do not know: a shared collection between two
    SQLite homes would wipe the other's vectors, so each store gets its own collection."""
    stores = []
    for name in ("a", "b"):
        _server_env(monkeypatch, tmp_path / name, chroma_port)
        stores.append(build_store(Settings()))
    a, b = stores
    assert a.chroma.name != b.chroma.name
    Indexer(a).ingest([SAMPLE_DIR])
    assert not Indexer(b).reconcile()
    assert a.chroma.count() == 1 and b.chroma.count() == 0


def test_unreachable_server_is_a_clear_error(tmp_path: Path, monkeypatch):
    from ingest.errors import StoreError

    _server_env(monkeypatch, tmp_path / "home", free_port())
    with pytest.raises(StoreError) as exc:
        build_store(Settings())
    assert "Chroma に接続できません" in exc.value.message_ja and "127.0.0.1" in exc.value.message_ja


def test_homes_sharing_a_postgresql_store_share_its_collection(chroma_port, postgres, tmp_path: Path, monkeypatch):
    """The collection is named after the records store, not the home: an ingest worker and an app
    with homes of their own use one collection, and neither one's reconcile() deletes the other's."""
    from testkit.servers import new_database

    url = new_database(postgres, "shared_collection")
    stores = []
    for name in ("worker", "app"):
        _server_env(monkeypatch, tmp_path / name, chroma_port)
        monkeypatch.setenv("HYOKA_RECORDS__URL", url)
        stores.append(build_store(Settings()))
    worker, app = stores
    assert worker.chroma.name == app.chroma.name and worker.db.identity() in worker.chroma.name
    Indexer(worker).ingest([SAMPLE_DIR])
    assert not Indexer(app).reconcile()
    assert app.chroma.count() == 1
    ans = Assistant(app).ask(QUESTION)
    assert ans.status.value == "answered" and ans.citations[0].value == "334"
    assert app.search(QUESTION)[0].dense > 0  # found by its vector too, from the app's home


def test_a_collection_named_after_the_home_is_adopted_not_embedded_again(chroma_port, tmp_path: Path, monkeypatch):
    """Before stores had ids, a server collection was named after the resolved HYOKA_HOME: the same
    home's store takes it over (renamed), and its vectors are not embedded again."""
    import chromadb

    from ingest.records import stable_id
    from tests.helpers import BigramEmbeddings
    from vectorstore.chroma_index import ChromaConfig
    from vectorstore.store import Store

    home = tmp_path / "home"
    config = ChromaConfig(mode="server", port=chroma_port)
    emb = BigramEmbeddings()
    Indexer(Store(home, emb, "bigram-test", config)).ingest([SAMPLE_DIR])
    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_port)
    store_name = Store(home, emb, "bigram-test", config).chroma.name
    legacy = f"hyoka-profiles-bigram-test-{stable_id(str((home / 'chroma').resolve()), length=10)}"
    client.get_collection(store_name).modify(name=legacy)  # as the previous version left it
    calls = emb.texts
    store = Store(home, emb, "bigram-test", config)
    assert store.chroma.name == store_name and store.chroma.count() == 1
    assert legacy not in {c.name for c in client.list_collections()}
    assert not Indexer(store).reconcile() and emb.texts == calls


def test_postgresql_records_need_a_chroma_server(postgres, tmp_path: Path, monkeypatch):
    """Records shared by hosts with vectors in one home's folder would answer differently per host."""
    from ingest.errors import UserInputError
    from testkit.servers import new_database

    monkeypatch.setenv("HYOKA_RECORDS__URL", new_database(postgres, "embedded_chroma"))
    with pytest.raises(UserInputError) as exc:
        build_store(Settings())
    assert "HYOKA_CHROMA__MODE=server" in exc.value.message_ja


def test_unreachable_postgresql_is_a_clear_error(tmp_path: Path, monkeypatch):
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'hyoka[postgres]')")
    from ingest.errors import StoreError

    port = free_port()
    monkeypatch.setenv("HYOKA_RECORDS__URL", f"postgresql://hyoka:secret@127.0.0.1:{port}/hyoka")
    with pytest.raises(StoreError) as exc:
        build_store(Settings())
    assert "PostgreSQL" in exc.value.message_ja and f"127.0.0.1:{port}/hyoka" in exc.value.message_ja
    assert "secret" not in exc.value.message_ja
    asked = subprocess.run([str(HYOKA), "ask", QUESTION], env=dict(os.environ), capture_output=True, text=True,
                           timeout=60)
    assert asked.returncode == 2 and asked.stderr.startswith("エラー: ") and "Traceback" not in asked.stderr


def test_lost_vectors_come_back_from_the_embedding_cache(chroma_port, postgres, tmp_path: Path):
    """The Chroma server's data is derived: the next ingest re-creates it from the records store's
    embedding cache, embedding nothing."""
    import chromadb

    from testkit.servers import new_database
    from tests.helpers import BigramEmbeddings
    from vectorstore.chroma_index import ChromaConfig
    from vectorstore.records_pg import PostgresRecords
    from vectorstore.store import Store

    url, emb, config = new_database(postgres, "lost_vectors"), BigramEmbeddings(), ChromaConfig("server", port=chroma_port)
    store = Store(tmp_path / "worker", emb, "bigram-test", config, records=PostgresRecords(url))
    Indexer(store).ingest([SAMPLE_DIR])
    chromadb.HttpClient(host="127.0.0.1", port=chroma_port).delete_collection(store.chroma.name)
    embedded = emb.texts
    again = Store(tmp_path / "other-worker", emb, "bigram-test", config, records=PostgresRecords(url))
    s = Indexer(again).ingest([SAMPLE_DIR])
    assert (s.embedded, emb.texts) == (0, embedded) and again.chroma.count() == 1
    assert again.search(QUESTION)[0].dense > 0


def test_a_copy_beside_the_original_gets_its_own_collection(chroma_port, postgres, tmp_path: Path):
    """A restored copy keeps the store's id; with the id removed (README, Backup and restore) it makes
    its own, and its ingests leave the original's vectors alone."""
    import psycopg

    from testkit.servers import new_database
    from tests.helpers import BigramEmbeddings
    from vectorstore.chroma_index import ChromaConfig
    from vectorstore.records_pg import PostgresRecords
    from vectorstore.store import Store

    url, emb, config = new_database(postgres, "original"), BigramEmbeddings(), ChromaConfig("server", port=chroma_port)
    original = Store(tmp_path / "a", emb, "bigram-test", config, records=PostgresRecords(url))
    Indexer(original).ingest([SAMPLE_DIR])
    original.db.close()
    with psycopg.connect(postgres, autocommit=True) as con:  # a restore: the same rows in another database
        con.execute('CREATE DATABASE "copy" TEMPLATE "original"')
    copy_url = url.rsplit("/", 1)[0] + "/copy"
    with psycopg.connect(copy_url, autocommit=True) as con:
        con.execute("DELETE FROM meta WHERE key='store_id'")
        con.execute("DELETE FROM sheets")  # the copy diverges: its sheets differ from the original's
    copy = Store(tmp_path / "b", emb, "bigram-test", config, records=PostgresRecords(copy_url))
    assert copy.chroma.name != original.chroma.name
    Indexer(copy).ingest([])
    original = Store(tmp_path / "a", emb, "bigram-test", config, records=PostgresRecords(url))
    assert original.chroma.count() == 1 and original.search(QUESTION)[0].dense > 0
