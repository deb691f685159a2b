"""20 chat users at once through gradio_client, while an ingest writes to the same store."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import pytest

from app import HyokaApp
from assistant.core import Assistant
from assistant.factory import build_store
from assistant.settings import Settings
from tests.conftest import ROOT, free_port
from tests.helpers import SAMPLE_DIR
from vectorstore.indexer import Indexer

pytestmark = pytest.mark.slow
SAMPLE = SAMPLE_DIR / "tochigi-joho-kyogikai.txt"
QUESTIONS = ["この事業はいつ始まったのですか", "栃木県市町村情報化推進協議会参画事業の平成30年度のトータルコストは？",
             "協議会参画事業に対して関係者からどんな意見が寄せられていますか"]


def _copies(folder: Path, n: int) -> Path:
    folder.mkdir()
    text = SAMPLE.read_text(encoding="utf-8")
    for i in range(n):
        (folder / f"copy-{i}.txt").write_text(
            text.replace("栃木県市町村情報化推進協議会参画事業", f"第{i}地区防災連絡協議会参画事業", 1), encoding="utf-8")
    return folder


def test_twenty_users_during_an_ingest(tmp_path: Path):
    from gradio_client import Client

    settings = Settings(home=tmp_path / "home")
    store = build_store(settings)
    Indexer(store).ingest([SAMPLE_DIR])
    app = HyokaApp(Assistant(store), store, settings, stream_delay=0)
    port = free_port()
    app.launch("127.0.0.1", port, block=False)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def user(i: int) -> None:
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            for q in QUESTIONS:
                t0 = time.perf_counter()
                r = client.predict(q, "", "", "", api_name="/ask")
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    if r["status"] != "answered" or not r["citations"]:
                        errors.append(f"user {i}: {q} -> {r['status']}")
        except Exception as exc:  # noqa: BLE001 - every failure is collected and reported
            with lock:
                errors.append(f"user {i}: {type(exc).__name__}: {exc}")

    more = _copies(tmp_path / "more", 12)
    ingest = threading.Thread(target=lambda: Indexer(store).ingest([more]))
    users = [threading.Thread(target=user, args=(i,)) for i in range(20)]
    try:
        ingest.start()
        for t in users:
            t.start()
        for t in users:
            t.join(timeout=300)
        ingest.join(timeout=300)
    finally:
        app.close()
    assert not errors, "\n".join(errors[:10])
    assert len(latencies) == 60
    assert len(store.catalogue()) == 13  # the ingest completed while users were answered
    latencies.sort()
    report = (f"20 users x {len(QUESTIONS)} questions during an ingest: p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms")
    out = ROOT / "tests" / "artifacts"
    out.mkdir(exist_ok=True)
    (out / "concurrency.txt").write_text(report + "\n", encoding="utf-8")
    print(report)
