"""One index for many processes: records in PostgreSQL, vectors in a Chroma server, each process with a
HYOKA_HOME of its own (as on separate hosts), all servers real and started by the test.

- An ingest worker (`hyoka ingest`, home A) fills the store from a slice of the corpus.
- Two app processes (`hyoka serve`, homes B and C) answer the dev questions byte-identically to the
  embedded mode (SQLite and embedded Chroma in one home) built from the same files.
- A sheet ingested while the apps serve is found by both without a restart.
- An ingest killed mid-run leaves every sheet fully old or fully new (its record, its cells and its
  vector), a second worker is refused while one runs, and the re-run completes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.records import ParsedSheet
from testkit.servers import new_database, wait_for_http
from tests.conftest import CORPUS, ROOT, SHARED, free_port
from tests.helpers import SAMPLE_DIR
from vectorstore.bm25_index import BM25Index

pytestmark = pytest.mark.slow
HYOKA = Path(sys.executable).with_name("hyoka")
MANIFEST = ROOT / "tests/data/shared-corpus-manifest.toml"
SAMPLE = SAMPLE_DIR / "tochigi-joho-kyogikai.txt"
NAME = "栃木県市町村情報化推進協議会参画事業"
# The rows of the 大船渡 workbook the dev questions are about (the whole workbook is 300 sheets).
KEEP = ("不法投棄", "放課後児童", "水産基盤", "エコライフ", "魚市場")
REAL = ("kobe/kobe-r25-001.pdf", "ikeda/ikeda-r7-001.pdf", "fukuoka/jimu-jigyo-r6-kouwan.json")
SAMPLE_QUESTIONS = [f"{NAME}の平成30年度のトータルコストは？", "この事業はいつ始まったのですか",
                    "協議会参画事業に対して関係者からどんな意見が寄せられていますか", "大船渡市の市長の趣味は何ですか"]
N_FILES, CHANGED, KILL_AFTER = 40, range(0, 40, 8), 16


# --- the files --------------------------------------------------------------------------------
def _slice(root: Path) -> tuple[Path, list[str]]:
    """A small slice of ../shared/corpus holding every dev question's sheet, and the dev questions;
    the bundled sample and questions about it where ../shared is absent."""
    dev = SHARED / "eval" / "dev.jsonl"
    if not (CORPUS / "real").exists() or not dev.exists():
        folder = root / "sample"
        shutil.copytree(SAMPLE_DIR, folder)
        return folder, [json.dumps({"id": f"s{i}", "question": q}, ensure_ascii=False)
                        for i, q in enumerate(SAMPLE_QUESTIONS)]
    from openpyxl import Workbook, load_workbook

    folder = root / "slice"
    (folder / "real" / "ofunato").mkdir(parents=True)
    wb = load_workbook(CORPUS / "real/ofunato/report.xlsx", read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    out = Workbook()
    out.active.title = wb.worksheets[0].title
    for r in rows[:2] + [r for r in rows[2:] if r and r[8] and any(k in str(r[8]) for k in KEEP)]:
        out.active.append(list(r))
    out.save(folder / "real/ofunato/report.xlsx")
    for rel in REAL:
        (folder / "real" / rel).parent.mkdir(exist_ok=True)
        shutil.copy(CORPUS / "real" / rel, folder / "real" / rel)
    shutil.copytree(CORPUS / "sample", folder / "sample")
    return folder, dev.read_text(encoding="utf-8").splitlines()


def _sheet_file(folder: Path, i: int, cost: str = "334") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = SAMPLE.read_text(encoding="utf-8").replace(NAME, _project(i), 1)
    path = folder / f"sheet-{i:02d}.txt"
    path.write_text(text.replace("\t334\t", f"\t{cost}\t"), encoding="utf-8")
    return path


def _project(i: int) -> str:
    return f"第{i:02d}地区情報化推進協議会参画事業"


def _cost_question(i: int) -> str:
    return f"{_project(i)}の平成30年度のトータルコストは？"


# --- the processes ----------------------------------------------------------------------------
@dataclass
class Cluster:
    url: str                      # the records store (PostgreSQL)
    chroma_port: int
    root: Path
    apps: list[tuple[subprocess.Popen, int]]

    def env(self, home: str) -> dict[str, str]:
        return {**os.environ, "HYOKA_HOME": str(self.root / home), "HYOKA_RECORDS__URL": self.url,
                "HYOKA_CHROMA__MODE": "server", "HYOKA_CHROMA__HOST": "127.0.0.1",
                "HYOKA_CHROMA__PORT": str(self.chroma_port)}

    def hyoka(self, home: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(HYOKA), *args], env=self.env(home), input=stdin, capture_output=True,
                              timeout=300)

    def ask(self, app: int, question: str) -> dict:
        from gradio_client import Client

        port = self.apps[app][1]
        return Client(f"http://127.0.0.1:{port}/", verbose=False).predict(question, "", "", "", api_name="/ask")


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(HYOKA), "serve", "--port", str(port)], env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


def _wait_until_serving(proc: subprocess.Popen, port: int, log: Path) -> None:
    wait_for_http(f"http://127.0.0.1:{port}/gradio_api/info", proc, log, 180, "hyoka serve")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, list[str]]:
    return _slice(tmp_path_factory.mktemp("files"))


@pytest.fixture(scope="module")
def cluster(postgres, chroma_port, files, tmp_path_factory):
    """The embedded store and the server store, ingested at once from the same files; then two apps."""
    root = tmp_path_factory.mktemp("cluster")
    c = Cluster(new_database(postgres, "scenario"), chroma_port, root, [])
    folder, _ = files
    args = [str(HYOKA), "ingest", "--quiet", "--manifest", str(MANIFEST), str(folder)]
    embedded = subprocess.Popen(args, env={**os.environ, "HYOKA_HOME": str(root / "embedded")},
                                stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    served = subprocess.run(args, env=c.env("ingest-a"), capture_output=True, text=True, timeout=300)
    assert embedded.wait(timeout=300) == 0, embedded.stderr.read() if embedded.stderr else ""
    assert served.returncode == 0, served.stderr
    for home in ("app-b", "app-c"):
        port = free_port()
        c.apps.append((_serve(c.env(home), port, root / f"{home}.log"), port))
    try:
        for (proc, port), home in zip(c.apps, ("app-b", "app-c"), strict=True):
            _wait_until_serving(proc, port, root / f"{home}.log")
        yield c
    finally:
        for proc, _ in c.apps:
            proc.terminate()
        for proc, _ in c.apps:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _panel(html: str) -> str:
    """The sources panel says when each sheet was ingested (the two stores were filled at other moments)."""
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "<ingested at>", html)


# --- the scenario -----------------------------------------------------------------------------
def test_two_apps_answer_the_dev_questions_as_the_embedded_store(cluster, files):
    from app import HyokaApp
    from assistant.factory import build_assistant, build_store
    from assistant.settings import Settings

    _, lines = files
    questions = [json.loads(line) for line in lines]
    settings = Settings(home=cluster.root / "embedded")
    store = build_store(settings)
    reference = HyokaApp(build_assistant(settings, store), store, settings)
    answered = 0
    for q in questions:
        want = reference.api_ask(q["question"])
        answered += want["status"] == "answered"
        for app in (0, 1):
            got = cluster.ask(app, q["question"])
            assert json.dumps({k: got[k] for k in ("status", "answer", "notice", "citations")}, ensure_ascii=False) \
                == json.dumps({k: want[k] for k in ("status", "answer", "notice", "citations")}, ensure_ascii=False), \
                (app, q["question"])
            assert _panel(got["sources_html"]) == _panel(want["sources_html"]), (app, q["question"])
    assert answered >= len(questions) // 2, "the slice holds the sheets the questions are about"
    # The CLI's contract, conversations included, from one of the apps' homes: the same bytes.
    stdin = "\n".join(lines).encode() + b"\n"
    embedded = subprocess.run([str(HYOKA), "ask", "--jsonl"], env={**os.environ, "HYOKA_HOME": str(settings.home)},
                              input=stdin, capture_output=True, timeout=300)
    served = cluster.hyoka("app-b", "ask", "--jsonl", stdin=stdin)
    assert served.returncode == embedded.returncode and served.stdout == embedded.stdout, served.stderr[-2000:]
    assert len(served.stdout.splitlines()) == len(lines)


def test_a_sheet_ingested_while_the_apps_serve_is_found_without_a_restart(cluster, tmp_path: Path):
    question = _cost_question(99)
    for app in (0, 1):
        before = cluster.ask(app, question)
        assert not any(c["project_name"] == _project(99) for c in before["citations"])
    run = cluster.hyoka("ingest-a", "ingest", "--quiet", str(_sheet_file(tmp_path / "new", 99, cost="4321")))
    assert run.returncode == 0, run.stderr
    for app in (0, 1):
        got = _until(lambda a=app: cluster.ask(a, question),
                     lambda r: r["status"] == "answered" and r["citations"][0]["project_name"] == _project(99))
        assert got["citations"][0]["value"] == "4321"
    # Each app rebuilt its own BM25 from the records, at the generation the ingest published.
    published = _meta(cluster.url, "bm25_generation")
    for home in ("app-b", "app-c"):
        folder = cluster.root / home / "bm25"
        _until(lambda p=folder: BM25Index(p).source(),
               lambda src: src.get("generation") == int(published) and src.get("store") == _meta(cluster.url, "store_id"))
    assert all(proc.poll() is None for proc, _ in cluster.apps)  # the same processes, never restarted


def _until(ask, ok, seconds: float = 90.0) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        got = ask()
        if ok(got) or time.monotonic() > deadline:
            assert ok(got), got
            return got
        time.sleep(0.5)


def _meta(url: str, key: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        return str(con.execute("SELECT value FROM meta WHERE key=%s", (key,)).fetchone()[0])


def _committed(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        return int(con.execute("SELECT COUNT(*) FROM files WHERE path LIKE %s", ("%/killed/%",)).fetchone()[0])


def _check_whole(url: str) -> set[str]:
    """Every sheet of the killed run is one version: its record, hash and cells all old or all new."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        rows = con.execute("SELECT sheet_id, content_hash, data FROM sheets WHERE source_file LIKE %s",
                           ("%/killed/%",)).fetchall()
        ids = set()
        for sid, stored, data in rows:
            ps = ParsedSheet.model_validate_json(data)
            assert ps.sheet.sheet_id == sid and ps.content_hash() == stored
            costs = {c.value_text for c in ps.cells if c.fiscal_year == 2018 and "トータルコスト" in c.row_label}
            assert costs in ({"334"}, {"335"})
            cells = {r[0] for r in con.execute(
                "SELECT value_text FROM cells WHERE sheet_id=%s AND fiscal_year=2018 AND row_label LIKE %s",
                (sid, "%トータルコスト%"))}
            assert cells == costs  # the cross-sheet rows are the same version as the record
            ids.add(sid)
        listed = {i for (v,) in con.execute("SELECT sheet_ids FROM files WHERE path LIKE %s", ("%/killed/%",))
                  for i in json.loads(v)}
        assert listed <= ids  # no file row points at a missing sheet
    return ids


def test_a_killed_ingest_leaves_whole_sheets_and_the_rerun_completes(cluster, tmp_path: Path):
    folder = tmp_path / "killed"
    for i in CHANGED:
        _sheet_file(folder, i)
    first = cluster.hyoka("ingest-a", "ingest", "--quiet", str(folder))
    assert first.returncode == 0, first.stderr
    for i in range(N_FILES):
        _sheet_file(folder, i, cost="335" if i in CHANGED else "334")
    proc = subprocess.Popen([str(HYOKA), "ingest", "--quiet", str(folder)], env=cluster.env("ingest-a"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while _committed(cluster.url) < len(CHANGED) + 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        # Another worker, with a home of its own (another host): the database's lock refuses it.
        busy = cluster.hyoka("ingest-d", "ingest", "--quiet", str(folder))
        while _committed(cluster.url) < len(CHANGED) + KILL_AFTER and time.monotonic() < deadline \
                and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"ingest ended before the kill: {proc.stderr.read() if proc.stderr else ''}"
    assert busy.returncode == 2 and "実行中" in busy.stderr.decode(), busy.stderr.decode()
    assert len(CHANGED) < _committed(cluster.url) < N_FILES
    _check_whole(cluster.url)
    got = cluster.ask(0, _cost_question(0))
    assert got["status"] == "answered" and got["citations"][0]["value"] in ("334", "335")

    again = cluster.hyoka("ingest-a", "ingest", "--quiet", str(folder))
    assert again.returncode == 0, again.stderr
    ids = _check_whole(cluster.url)
    assert len(ids) == N_FILES
    store = _server_store(cluster)
    assert ids <= set(store.chroma.hashes()) and set(store.chroma.hashes()) == set(store.sheet_hashes())
    for app, i in ((0, N_FILES - 1), (1, 8)):
        got = _until(lambda a=app, n=i: cluster.ask(a, _cost_question(n)),
                     lambda r, n=i: r["status"] == "answered" and r["citations"][0]["project_name"] == _project(n))
        assert got["citations"][0]["value"] == ("335" if i in CHANGED else "334")


def _server_store(cluster: Cluster):
    from assistant.factory import build_store
    from assistant.settings import Settings

    env = cluster.env("checker")
    return build_store(Settings(home=Path(env["HYOKA_HOME"]), records={"url": cluster.url},
                                chroma={"mode": "server", "port": cluster.chroma_port}))
