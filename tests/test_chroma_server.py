"""Scale-out: the store on a real Chroma server (`chroma run`), switched on by settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.factory import build_store
from assistant.settings import Settings
from tests.conftest import free_port
from tests.helpers import SAMPLE_DIR
from vectorstore.indexer import Indexer

CHROMA = Path(sys.executable).with_name("chroma")
HYOKA = Path(sys.executable).with_name("hyoka")
QUESTION = "栃木県市町村情報化推進協議会参画事業の平成30年度のトータルコストは？"

pytestmark = pytest.mark.skipif(not CHROMA.exists(), reason=f"the chroma CLI is absent ({CHROMA})")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real Chroma server on a free loopback port; stopped (SIGTERM, then SIGKILL) afterwards."""
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("w")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(data / "db"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma run did not answer its heartbeat: {(data / 'server.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _server_env(monkeypatch, home: Path, port: int) -> None:
    monkeypatch.setenv("HYOKA_HOME", str(home))
    monkeypatch.setenv("HYOKA_CHROMA__MODE", "server")
    monkeypatch.setenv("HYOKA_CHROMA__HOST", "127.0.0.1")
    monkeypatch.setenv("HYOKA_CHROMA__PORT", str(port))


def test_ingest_and_ask_through_a_chroma_server(chroma_server, tmp_path: Path, monkeypatch):
    home = tmp_path / "home"
    _server_env(monkeypatch, home, chroma_server)
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


def test_two_homes_on_one_server_keep_their_own_vectors(chroma_server, tmp_path: Path, monkeypatch):
    """reconcile() deletes vectors its SQLite does not know: a shared collection between two
    homes would wipe the other's vectors, so each home gets its own collection."""
    stores = []
    for name in ("a", "b"):
        _server_env(monkeypatch, tmp_path / name, chroma_server)
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
