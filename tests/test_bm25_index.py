"""The BM25 index on disk: what a reader sees while another thread or process publishes a new build."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np

from vectorstore.bm25_index import BM25Index


def _sheets(n: int, word: str) -> list[tuple[str, list[list[str]]]]:
    return [(f"s{i}", [[word, "事業", f"w{i}"], ["決算額", "千円"]]) for i in range(n)]


def test_readers_never_fail_while_builds_are_published(tmp_path: Path):
    """Questions read the index while an ingest replaces it: each read sees one whole build."""
    folder = tmp_path / "bm25"
    BM25Index(folder).build(_sheets(3, "清掃"))
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: set[int] = set()

    def read() -> None:
        try:
            while not stop.is_set():
                index = BM25Index(folder)   # a fresh reader opens the published version each time
                assert index.search(["事業"], 50)
                snap = index._snapshot()
                assert snap.n_docs == 2 * len(snap.sheet_ids) == len(snap.doc_sheet)   # one build's files
                assert int(np.max(snap.doc_sheet)) == len(snap.sheet_ids) - 1
                seen.add(len(snap.sheet_ids))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for t in readers:
        t.start()
    writer = BM25Index(folder)
    for n in range(1, 40):
        writer.build(_sheets(1 + n % 7, "清掃"))
        time.sleep(0.01)   # an ingest publishes at most every few seconds; here every ~10 ms
    stop.set()
    for t in readers:
        t.join(timeout=30)
    assert errors == []
    assert len(seen) > 1   # the readers did see builds change under them
    kept = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert len(kept) == 2 and kept[-1] == (folder / "CURRENT").read_text()   # the current build and the one before


def test_a_reader_keeps_its_build_after_it_is_replaced(tmp_path: Path):
    folder = tmp_path / "bm25"
    BM25Index(folder).build(_sheets(2, "清掃"))
    old = BM25Index(folder)
    assert old.sheet_ids() == ["s0", "s1"]
    snap = old._snapshot()
    BM25Index(folder).build(_sheets(5, "除雪"))
    assert snap.sheet_ids == ["s0", "s1"] and int(np.asarray(snap.docs).size) > 0   # mapped files stay readable
    assert old.sheet_ids() == [f"s{i}" for i in range(5)]   # the next read sees the new build


def test_an_index_in_the_layout_before_versions_is_read_then_replaced(tmp_path: Path):
    """An index written by an earlier hyoka (files directly in bm25/) answers until the next build."""
    folder = tmp_path / "bm25"
    BM25Index(folder).build(_sheets(2, "清掃"))
    version = folder / (folder / "CURRENT").read_text()
    for f in version.iterdir():                      # lay the files out as before versions
        f.rename(folder / f.name)
    version.rmdir()
    (folder / "CURRENT").unlink()
    assert BM25Index(folder).sheet_ids() == ["s0", "s1"]
    BM25Index(folder).build(_sheets(3, "清掃"))
    assert BM25Index(folder).sheet_ids() == ["s0", "s1", "s2"]
    assert not list(folder.glob("*.npy")) and json.loads((BM25Index(folder).current() / "ids.json").read_text())
