"""Shared fixtures: where ../shared is, golden files, and a private HYOKA_HOME per test."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testkit.servers import free_port  # noqa: F401 - the tests take it from here

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HYOKA_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"
GOLDEN = Path(__file__).parent / "golden"


def corpus_file(rel: str) -> Path:
    """A file of ../shared/corpus, or skip the test with the reason."""
    path = CORPUS / rel
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared corpus is not beside this checkout")
    return path


def golden_dump(ps) -> dict:
    """The comparable form of a ParsedSheet (the source path depends on where the corpus lives)."""
    return ps.model_dump(mode="json", exclude={"sheet": {"source_file"}})


def check_golden(name: str, ps) -> None:
    """Compare with tests/golden/NAME.json; HYOKA_UPDATE_GOLDEN=1 rewrites it (then check it by hand)."""
    path = GOLDEN / f"{name}.json"
    got = golden_dump(ps)
    if os.environ.get("HYOKA_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        if os.environ.get("HYOKA_UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {path} was missing and has been written: check it by hand")
    assert got == json.loads(path.read_text(encoding="utf-8"))




@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory, monkeypatch):
    """Every test gets its own HYOKA_HOME, so no test touches a user's store."""
    home = tmp_path_factory.mktemp("hyoka-home")
    monkeypatch.setenv("HYOKA_HOME", str(home))
    return home


def cell(ps, table: str, row_contains: str, year: int, kind: str | None = None):
    """The one cell of a table whose row label contains the text, for a fiscal year (and kind)."""
    hits = [c for c in ps.cells if c.table.value == table and row_contains in c.row_label
            and c.fiscal_year == year and (kind is None or c.kind.value == kind)]
    assert len(hits) == 1, f"{len(hits)} cells for {table}/{row_contains}/{year}/{kind}: {hits}"
    return hits[0]


@pytest.fixture(scope="session")
def postgres():
    """The URL of a PostgreSQL server of the session's own (tests/servers.py); skips where it is absent."""
    from testkit.servers import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def chroma_port(tmp_path_factory):
    """The port of a real `chroma run` of the session's own; skips where the CLI is absent."""
    from testkit.servers import chroma_server

    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as port:
        yield port
