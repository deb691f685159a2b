"""SIGKILL in the middle of `hyoka ingest`: the store still opens and answers, every sheet is
either fully old or fully new, and the next ingest completes the job (BM25 included)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.core import Assistant
from ingest.records import ParsedSheet
from tests.helpers import SAMPLE_DIR, make_store
from vectorstore.bm25_index import BM25Index
from vectorstore.indexer import Indexer

SAMPLE = SAMPLE_DIR / "tochigi-joho-kyogikai.txt"
NAME = "栃木県市町村情報化推進協議会参画事業"
HYOKA = Path(sys.executable).with_name("hyoka")
N_FILES = 48
CHANGED = range(0, N_FILES, 8)   # indexed by the first run, then edited (334 -> 335) for the second
KILL_AFTER = 20                  # files rows written by the second run before it is killed

# slow: kills real ingest processes mid-run
pytestmark = [pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL"), pytest.mark.slow]


def _project(i: int) -> str:
    return f"第{i:02d}地区情報化推進協議会参画事業"


def _write(folder: Path, i: int, cost: str = "334") -> Path:
    text = SAMPLE.read_text(encoding="utf-8").replace(NAME, _project(i), 1)
    assert "\t334\t" in text
    path = folder / f"sheet-{i:02d}.txt"
    path.write_text(text.replace("\t334\t", f"\t{cost}\t"), encoding="utf-8")
    return path


def _cost_2018(ps: ParsedSheet) -> set[str]:
    return {c.value_text for c in ps.cells if c.fiscal_year == 2018 and "トータルコスト" in c.row_label}


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "HYOKA_HOME": str(home)}


def _files_written(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return int(con.execute("SELECT COUNT(*) FROM files").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet, or busy for a moment
        return 0


def _start_and_kill(home: Path, corpus: Path, baseline: int) -> int:
    """Start `hyoka ingest`, SIGKILL it once KILL_AFTER more files are committed; also check
    that a second ingest started meanwhile is refused by the lock. Returns files written."""
    proc = subprocess.Popen([str(HYOKA), "ingest", "--quiet", str(corpus)], env=_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    db = home / "records.sqlite3"
    try:
        deadline = time.monotonic() + 40
        while _files_written(db) < baseline + 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        busy = subprocess.run([str(HYOKA), "ingest", "--quiet", str(corpus)], env=_env(home),
                              capture_output=True, text=True, timeout=60)
        while _files_written(db) < baseline + KILL_AFTER and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"ingest ended by itself before the kill: {proc.stderr.read()}"
    assert busy.returncode == 2 and "実行中" in busy.stderr, busy.stderr
    return _files_written(db)


def _check_integrity(home: Path) -> set[str]:
    """Every stored sheet validates and matches its hash; Chroma matches SQLite after reconcile."""
    con = sqlite3.connect(home / "records.sqlite3")
    rows = con.execute("SELECT sheet_id, content_hash, data FROM sheets").fetchall()
    files = [json.loads(ids) for (ids,) in con.execute("SELECT sheet_ids FROM files")]
    con.close()
    ids = set()
    for sid, stored_hash, data in rows:
        ps = ParsedSheet.model_validate_json(data)
        assert ps.sheet.sheet_id == sid and ps.content_hash() == stored_hash
        assert _cost_2018(ps) in ({"334"}, {"335"})  # fully old or fully new, never a mix
        ids.add(sid)
    assert {sid for f in files for sid in f} <= ids  # no file row points at a missing sheet
    return ids


def test_sigkill_mid_ingest_leaves_a_working_store(tmp_path: Path):
    home, corpus = tmp_path / "home", tmp_path / "corpus"
    corpus.mkdir()
    for i in CHANGED:
        _write(corpus, i)
    first = subprocess.run([str(HYOKA), "ingest", "--quiet", str(corpus)], env=_env(home),
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    for i in range(N_FILES):
        _write(corpus, i, cost="335" if i in CHANGED else "334")

    written = _start_and_kill(home, corpus, baseline=len(CHANGED))
    assert len(CHANGED) < written < N_FILES

    ids = _check_integrity(home)
    store = make_store(home)
    Indexer(store).reconcile()
    assert set(store.chroma.hashes()) == ids == set(store.db.sheet_hashes())
    ans = Assistant(store).ask(f"{_project(0)}の平成30年度のトータルコストは？")
    assert ans.status.value == "answered" and ans.citations[0].value in ("334", "335"), ans.answer

    again = subprocess.run([str(HYOKA), "ingest", "--quiet", str(corpus)], env=_env(home),
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    ids = _check_integrity(home)
    assert len(ids) == N_FILES
    bm25_ids = BM25Index(home / "bm25").sheet_ids()
    assert set(bm25_ids) == ids  # BM25 rebuilt although the last files were "unchanged"
    asked = subprocess.run([str(HYOKA), "ask", "--json", f"{_project(N_FILES - 1)}の平成30年度のトータルコストは？"],
                           env=_env(home), capture_output=True, text=True, timeout=60)
    out = json.loads(asked.stdout)
    assert out["status"] == "answered" and out["citations"][0]["value"] == "334"
    assert out["citations"][0]["project_name"] == _project(N_FILES - 1)
    asked = subprocess.run([str(HYOKA), "ask", "--json", f"{_project(8)}の平成30年度のトータルコストは？"],
                           env=_env(home), capture_output=True, text=True, timeout=60)
    assert json.loads(asked.stdout)["citations"][0]["value"] == "335"


def test_killed_before_bm25_rebuild_is_caught_up_by_the_next_ingest(tmp_path: Path):
    """Every file committed, then the process died before rebuilding BM25: the next run finds
    nothing changed, yet must still rebuild BM25 (it compares the generation BM25 was built at)."""
    from tests.helpers import BigramEmbeddings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _write(corpus, 0)
    store = make_store(tmp_path / "home", BigramEmbeddings(), model="bigram-test")
    Indexer(store).ingest([corpus])
    _write(corpus, 1)

    def killed(*_):
        raise KeyboardInterrupt  # stands in for SIGKILL at this point

    real_build, store.bm25.build = store.bm25.build, killed
    with pytest.raises(KeyboardInterrupt):
        Indexer(store).ingest([corpus])
    store.bm25.build = real_build
    s = Indexer(store).ingest([corpus])
    assert (s.added, s.unchanged) == (0, 2)
    bm25_ids = BM25Index(tmp_path / "home" / "bm25").sheet_ids()
    assert set(bm25_ids) == set(store.db.sheet_hashes()) and len(bm25_ids) == 2
