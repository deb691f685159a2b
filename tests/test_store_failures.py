"""The store failing under hyoka: a file vanishing mid-ingest, a read-only HYOKA_HOME, a full one.

Read-only is a real read-only bind mount, made in a user and mount namespace (`unshare -Urm`), so it
holds for root too; "full" is RLIMIT_FSIZE on the process (writes past it fail with EFBIG, as they
do on a full disk with ENOSPC), which needs no privileges.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SAMPLE_DIR, BigramEmbeddings, make_store
from vectorstore.indexer import Indexer

# slow: runs the CLI in subprocesses on read-only and full homes
pytestmark = pytest.mark.slow

SAMPLE = SAMPLE_DIR / "tochigi-joho-kyogikai.txt"
NAME = "栃木県市町村情報化推進協議会参画事業"
HYOKA = Path(sys.executable).with_name("hyoka")


def _copies(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    text = SAMPLE.read_text(encoding="utf-8")
    out = []
    for i in range(n):
        p = folder / f"sheet-{i}.txt"
        p.write_text(text.replace(NAME, f"第{i}地区情報化推進協議会参画事業", 1), encoding="utf-8")
        out.append(p)
    return out


def test_a_file_that_vanishes_during_ingest_fails_alone(tmp_path: Path):
    files = _copies(tmp_path / "corpus", 4)
    store = make_store(tmp_path / "home", BigramEmbeddings(), model="bigram-test")

    def progress(i: int, n: int, path: str) -> None:
        if i == 2:
            files[2].unlink()  # the next file disappears after it was listed

    s = Indexer(store).ingest([tmp_path / "corpus"], progress)
    assert s.added == 3
    [(path, message)] = s.failed
    assert path == str(files[2]) and "sheet-2.txt" in message and "見つかりません" in message
    assert len(store.catalogue()) == 3


def _hyoka(home: Path, *args: str, preexec=None, wrap: list[str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYOKA_HOME": str(home)}
    return subprocess.run([*(wrap or []), str(HYOKA), *args], env=env, capture_output=True, text=True,
                          timeout=120, preexec_fn=preexec)


def _clean_failure(run: subprocess.CompletedProcess, words: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr and "Error:" not in run.stderr, run.stderr[-2000:]
    assert run.stderr.startswith("エラー: ") and words in run.stderr, run.stderr


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture
def indexed_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    run = _hyoka(home, "ingest", "--quiet", str(SAMPLE))
    assert run.returncode == 0, run.stderr
    return home


def test_read_only_home_gives_a_japanese_message_and_no_traceback(indexed_home: Path, tmp_path: Path):
    if not _unshare_works():
        pytest.skip("unshare -Urm is not permitted here: a read-only mount cannot be made")
    ro = ["unshare", "-Urm", "sh", "-c", f'mount --bind "{indexed_home}" "{indexed_home}" && '
          f'mount -o remount,ro,bind "{indexed_home}" && exec "$@"', "sh"]
    other = tmp_path / "more.txt"
    other.write_text(SAMPLE.read_text(encoding="utf-8").replace(NAME, "別の参画事業", 1), encoding="utf-8")
    run = _hyoka(indexed_home, "ingest", "--quiet", str(other), wrap=ro)
    _clean_failure(run, "書き込めません")
    asked = _hyoka(indexed_home, "ask", "この事業はいつ始まったのですか", wrap=ro)
    _clean_failure(asked, "読み取り専用")
    after = _hyoka(indexed_home, "ask", f"{NAME}の平成30年度のトータルコストは？")
    assert after.returncode == 0 and "334" in after.stdout, "the store is as it was"


def _file_size_limit(limit: int):
    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


@pytest.mark.parametrize("limit", [20_000, 150_000])
def test_full_home_gives_a_japanese_message_and_no_traceback(tmp_path: Path, limit: int):
    run = _hyoka(tmp_path / "home", "ingest", "--quiet", str(SAMPLE), preexec=_file_size_limit(limit))
    _clean_failure(run, "書き込みに失敗しました")
