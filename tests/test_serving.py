"""A real `hyoka serve` (uploads on, a login set) probed as the issue's security review did: hostile
uploads through the public `upload` API, the server's memory around them, the login rate limit,
and the refusals at start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from assistant.webguard import LoginLimiter, checker, is_loopback, listen_check, login_pair
from ingest.errors import UserInputError
from testkit.hostile import many_page_pdf, zip_bomb_xlsx
from tests.conftest import free_port
from tests.helpers import SAMPLE_DIR

# slow: starts `hyoka serve` processes
pytestmark = pytest.mark.slow

SAMPLE = SAMPLE_DIR / "tochigi-joho-kyogikai.txt"
HYOKA = Path(sys.executable).with_name("hyoka")
USER, PASSWORD = "kansa", "s3cret-pw"
MIB = 1024 * 1024


# --- the pieces, without a server ------------------------------------------------------------------
def test_login_settings_are_both_or_neither():
    assert login_pair("", "") is None and login_pair("u", "p") == ("u", "p")
    for user, password in (("u", ""), ("", "p")):
        with pytest.raises(UserInputError, match="ログインの設定が半分だけです"):
            login_pair(user, password)
    check = checker(("u", "p"))
    assert check("u", "p") and not check("u", "P") and not check("U", "p") and not check("u", "p\udcff")


def test_login_limiter_counts_failures_per_client_in_a_window():
    now = [0.0]
    lim = LoginLimiter(failures=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert lim.retry_after("a") == 0
        lim.failed("a")
    assert lim.retry_after("a") == pytest.approx(60) and lim.retry_after("b") == 0
    now[0] = 61
    assert lim.retry_after("a") == 0


def test_listening_beyond_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    assert listen_check("127.0.0.1", False, True, False) == ""
    assert listen_check("0.0.0.0", True, True, False) == ""
    assert "警告" in listen_check("0.0.0.0", False, False, False)
    with pytest.raises(UserInputError, match="--allow-anonymous-upload"):
        listen_check("0.0.0.0", False, True, False)
    assert "警告" in listen_check("0.0.0.0", False, True, True)


def _serve(home: Path, port: int, log: Path | None = None, **env: str) -> subprocess.Popen:
    full = {**os.environ, "HYOKA_HOME": str(home), "HYOKA_UI__PORT": str(port), **env}
    out = log.open("w") if log else subprocess.PIPE  # a long-running server writes to a file, not a pipe
    return subprocess.Popen([str(HYOKA), "serve"], env=full, stdout=out, stderr=subprocess.STDOUT if log else
                            subprocess.PIPE, text=True)


def test_half_configured_login_refuses_to_start(tmp_path: Path):
    proc = _serve(tmp_path / "home", free_port(), HYOKA_UI__PASSWORD="pw")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "HYOKA_UI__USER が設定されていません" in err and "Traceback" not in err


def test_uploads_open_to_the_network_without_login_need_an_option(tmp_path: Path):
    proc = subprocess.Popen([str(HYOKA), "serve", "--host", "0.0.0.0", "--port", str(free_port())],
                            env={**os.environ, "HYOKA_HOME": str(tmp_path / "home"), "HYOKA_ALLOW_UPLOAD": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "--allow-anonymous-upload" in err


# --- a real server -------------------------------------------------------------------------------------
def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", encoding="ascii") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            continue
    return out


class PeakMeter:
    """The largest resident size of a process and all its descendants together, sampled."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(_rss_kib(p) for p in _tree(self.pid)))
            time.sleep(0.01)

    def __enter__(self) -> PeakMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("serving")
    home = root / "home"
    r = subprocess.run([str(HYOKA), "ingest", "--quiet", str(SAMPLE)], env={**os.environ, "HYOKA_HOME": str(home)},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    port = free_port()
    proc = _serve(home, port, root / "server.log", HYOKA_ALLOW_UPLOAD="1", HYOKA_UI__USER=USER,
                  HYOKA_UI__PASSWORD=PASSWORD, HYOKA_LIMITS__LOGIN_WINDOW_SECONDS="3")
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail((root / "server.log").read_text(encoding="utf-8"))
            time.sleep(0.3)
    yield url, proc, home, root
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _login(url: str, password: str) -> int:
    data = urllib.parse.urlencode({"username": USER, "password": password}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url + "login", data=data), timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_hostile_uploads_are_refused_and_the_server_returns_to_its_baseline(server):
    from gradio_client import Client, handle_file

    url, proc, home, root = server
    client = Client(url, auth=(USER, PASSWORD), verbose=False)
    # warm up every path an upload takes, then take the baseline
    ans = client.predict("この事業はいつ始まったのですか", "", "", "", api_name="/ask")
    assert ans["status"] == "answered"
    good = root / "別の事業.txt"
    good.write_text(SAMPLE.read_text(encoding="utf-8").replace("栃木県市町村", "第9地区", 1), encoding="utf-8")
    ok = client.predict([handle_file(str(good))], "", api_name="/upload")
    assert ok["status"] == "ok" and ok["files"][0]["status"] == "indexed", ok
    baseline = _rss_kib(proc.pid)

    bomb = zip_bomb_xlsx(root / "予算書.xlsx", inflated_mib=256)
    pages = many_page_pdf(root / "議事録.pdf", pages=2000)
    with PeakMeter(proc.pid) as meter:
        t0 = time.perf_counter()
        got = client.predict([handle_file(str(bomb)), handle_file(str(pages))], "", api_name="/upload")
        took = time.perf_counter() - t0
    by_name = {f["name"]: f for f in got["files"]}
    assert got["status"] == "error" and set(by_name) == {"予算書.xlsx", "議事録.pdf"}, got
    assert by_name["予算書.xlsx"]["status"] == "failed" and "圧縮爆弾" in by_name["予算書.xlsx"]["message"]
    assert by_name["議事録.pdf"]["status"] == "failed" and "ページ数が上限" in by_name["議事録.pdf"]["message"]
    assert str(home) not in json.dumps(got, ensure_ascii=False), "no server paths in the report"
    assert meter.peak < 1024 * 1024, f"server and workers peaked at {meter.peak / 1024:.0f} MiB"
    after = _rss_kib(proc.pid)
    assert after <= baseline * 1.2, f"baseline {baseline / 1024:.0f} MiB, after {after / 1024:.0f} MiB"
    print(f"\nhostile uploads refused in {took:.1f} s; peak {meter.peak / 1024:.0f} MiB; "
          f"server RSS {baseline / 1024:.0f} -> {after / 1024:.0f} MiB")
    # nothing stays in Gradio's temporary folder
    assert not [p for p in (home / "tmp" / "gradio").rglob("*") if p.is_file()]
    # and answers still come, quickly, for a 20,000-character question too
    long = client.predict("あ" * 20000, "", "", "", api_name="/ask")
    assert long["status"] == "error" and "質問が長すぎます" in long["answer"]


@pytest.mark.slow
def test_failed_logins_are_rate_limited(server):
    url = server[0]
    codes = [_login(url, f"wrong-{i}") for i in range(30)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}, codes
    assert _login(url, PASSWORD) == 429, "while limited, even the right password waits"
    time.sleep(3.2)
    assert _login(url, PASSWORD) == 200
