"""Real servers for tests, started by the test and stopped after it: PostgreSQL and Chroma.

PostgreSQL is Debian's (`initdb` and `pg_ctl` under /usr/lib/postgresql/*/bin, installed by .ci/run),
run in a temporary folder on a free loopback port; `initdb` refuses to run as root, so as root the
server runs as the unprivileged `postgres` user. `chroma run` comes with the chromadb package. Where a
binary is absent, `pytest.skip` says which.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CHROMA = Path(sys.executable).with_name("chroma")


def pg_bin() -> Path | None:
    """The folder of initdb and pg_ctl: Debian's newest, else whatever PATH has."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _runner() -> list[str]:
    """How to run the server's commands: as ourselves, or (as root) as the postgres user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("PostgreSQL refuses to run as root, and there is no unprivileged `postgres` user")
    if not shutil.which("runuser"):
        pytest.skip("PostgreSQL refuses to run as root, and runuser is absent")
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def postgres_server(durable: bool = False, folder: Path | None = None) -> Iterator[str]:
    """A PostgreSQL server of its own; yields the URL of its `postgres` database (user hyoka, trust).
    Tests run it without fsync; `durable` keeps PostgreSQL's defaults (for benchmarks)."""
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl are absent (Debian: apt-get install postgresql)")
    runner = _runner()
    folder = Path(tempfile.mkdtemp(prefix="hyoka-pg-", dir=folder))
    if runner:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    data, log = folder / "data", folder / "server.log"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*runner, *args], capture_output=True, text=True, timeout=120, cwd=folder)

    try:
        # A Japanese ICU collation where the server has ICU (as a Japanese deployment might): the store
        # must not depend on the database's collation (its text columns order by bytes).
        icu = ["--locale-provider=icu", "--icu-locale=ja-JP", "--locale=C.UTF-8"]
        base = [str(bin_dir / "initdb"), "-D", str(data), "-U", "hyoka", "--auth=trust", "-E", "UTF8", "--no-sync"]
        init = run(*base, *icu)
        if init.returncode != 0:
            shutil.rmtree(data, ignore_errors=True)
            init = run(*base)
        assert init.returncode == 0, init.stderr[-2000:]
        opts = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='{folder}'"
                " -c max_connections=200")
        if not durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        start = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60", "start")
        assert start.returncode == 0, start.stderr[-2000:] + (log.read_text()[-2000:] if log.exists() else "")
        yield f"postgresql://hyoka@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """A fresh database on the server; its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True) as con:
        con.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def wait_for_http(url: str, proc: subprocess.Popen, log: Path, seconds: float, what: str,
                  request_timeout: float = 2, pause: float = 0.3) -> None:
    """Until `url` answers 200; the test fails with the log's tail if `proc` ends or time runs out."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=request_timeout) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"{what} ended: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not answer in time: {log.read_text()[-2000:]}")
        time.sleep(pause)


@contextmanager
def chroma_server(folder: Path) -> Iterator[int]:
    """A real Chroma server on a free loopback port; stopped (SIGTERM, then SIGKILL) afterwards."""
    if not CHROMA.exists():
        pytest.skip(f"the chroma CLI is absent ({CHROMA})")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(folder / "db"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, folder / "server.log", 30,
                      "chroma run (heartbeat)", request_timeout=1, pause=0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
