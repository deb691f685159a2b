"""The shape of the code, read from its source (no import runs): imports point one way,
ingest ← vectorstore ← assistant ← app.py / hyoka_main.py; the UI and the CLI never touch the
records database; bench/ does not borrow from tests/; every dependency pyproject.toml declares is
imported somewhere."""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"ingest", "vectorstore", "assistant", "prompts", "app", "hyoka_main", "tests", "bench", "testkit"}
# What each part may import of ours. Anything not named is upstream-forbidden.
ALLOWED = {
    "ingest": {"ingest"},
    "prompts": {"prompts"},
    "vectorstore": {"ingest", "vectorstore"},
    "assistant": {"ingest", "vectorstore", "prompts", "assistant"},
    "app": {"ingest", "vectorstore", "prompts", "assistant", "app"},
    "hyoka_main": {"assistant", "app", "hyoka_main"},
    "testkit": {"ingest", "vectorstore", "assistant", "testkit"},
    "bench": OURS - {"tests", "hyoka_main"},
}


def _part(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _sources(*parts: str) -> Iterator[Path]:
    for part in parts:
        p = ROOT / part
        yield from (sorted(p.rglob("*.py")) if p.is_dir() else [ROOT / f"{part}.py"])


def _imports(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, top-level name) of every import in the file, those inside functions and
    TYPE_CHECKING blocks included; a relative import is of the file's own part."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name.split(".")[0]) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, _part(path, root) if node.level else (node.module or "").split(".")[0]


def test_imports_point_upstream_only():
    wrong = [f"{p.relative_to(ROOT)}:{line} imports {name}"
             for part in ALLOWED for p in _sources(part)
             for line, name in _imports(p) if name in OURS and name not in ALLOWED[_part(p)]]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path):
    """The check itself: an ingest module importing the assistant (lazily, in a function) is caught."""
    bad = tmp_path / "ingest" / "x.py"
    bad.parent.mkdir()
    bad.write_text("def f():\n    from assistant.core import Assistant\n    from . import records\n", encoding="utf-8")
    assert list(_imports(bad, tmp_path)) == [(2, "assistant"), (3, "ingest")]
    assert "assistant" not in ALLOWED[_part(bad, tmp_path)]


def test_the_ui_and_the_cli_reach_records_only_through_the_store():
    """`.db` is the store's records database: the UI and the CLI ask the store (or the ingest service)."""
    for path in (ROOT / "app.py", ROOT / "hyoka_main.py", ROOT / "assistant" / "cli.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hits = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "db"]
        assert not hits, f"{path.name} lines {hits} use .db"


# Distribution name -> the module it installs, where they differ.
_MODULE = {"pyyaml": "yaml", "pdfminer.six": "pdfminer", "psycopg[binary]": "psycopg"}
# Loaded by name, never imported: sudachipy opens the dictionary package given as Dictionary(dict="core").
_LOADED_BY_NAME = {"sudachidict-core": "vectorstore/tokens.py"}


def _dist(requirement: str) -> str:
    return re.split(r"[<>=!~;\s]", requirement, maxsplit=1)[0].lower()


def test_every_declared_dependency_is_imported():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    declared = [_dist(r) for r in project["dependencies"]]
    declared += [_dist(r) for name in ("st", "llm", "postgres") for r in extras[name]]
    code = {name for p in _sources("ingest", "vectorstore", "assistant", "prompts", "app", "hyoka_main")
            for _, name in _imports(p)}
    for dist in declared:
        if dist in _LOADED_BY_NAME:
            assert 'dict="core"' in (ROOT / _LOADED_BY_NAME[dist]).read_text(encoding="utf-8")
            continue
        if dist == "torch":  # pinned to its CPU build for sentence-transformers (imported by it, not by us)
            assert "sentence-transformers>=3.0" in extras["st"]
            continue
        module = _MODULE.get(dist, dist.replace("-", "_"))
        assert module in code, f"{dist} is declared in pyproject.toml but no module of hyoka imports {module}"


def test_every_reader_module_implements_the_reader_protocol():
    import inspect

    from ingest.readers import _MODULES, readers

    found = readers()
    assert len(found) == len(_MODULES)
    for reader in found:
        assert isinstance(reader.NAME, str) and reader.NAME, reader
        assert list(inspect.signature(reader.sniff).parameters) == ["path", "head"], reader.NAME
        assert list(inspect.signature(reader.read).parameters)[:1] == ["path"], reader.NAME
