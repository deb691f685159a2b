"""The `hyoka` command as scripts and people use it: the --jsonl contract under malformed input,
bounded questions, arguments that are not UTF-8, terminal-safe output, symlinks, help texts."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.answer import Answer, Status
from assistant.bounds import QuestionRefused
from assistant.jsonl import LineLimits, answer_lines, dumps
from ingest.errors import StoreError
from tests.helpers import SAMPLE_DIR

SAMPLE = SAMPLE_DIR / "tochigi-joho-kyogikai.txt"
NAME = "栃木県市町村情報化推進協議会参画事業"
HYOKA = Path(sys.executable).with_name("hyoka")


def run(home: Path, *args: str | bytes, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYOKA_HOME": str(home)}
    argv = [os.fsencode(HYOKA), *(a if isinstance(a, bytes) else a.encode() for a in args)]
    return subprocess.run(argv, env=env, input=stdin, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    h = tmp_path_factory.mktemp("cli") / "home"
    r = run(h, "ingest", "--quiet", str(SAMPLE))
    assert r.returncode == 0, r.stderr.decode()
    return h


# --- --jsonl ------------------------------------------------------------------------------------
MALFORMED: list[bytes] = [
    b'{"id": "n", "question": 5}',                                   # not a string
    b'{"id": "h1", "question": "\xe6\x8b\x85\xe5\xbd\x93\xe3\x81\xaf\xef\xbc\x9f", "history": "abc"}',
    b'{"id": "h2", "question": "x", "history": ["a", "b"]}',         # a list of strings
    b'{"id": "s", "question": "\\ud800"}',                           # a lone surrogate
    b'{"id": "l", "question": "' + "あ".encode() * 20000 + b'"}',    # 20,000 characters
    b"not json",
    b"",
    b"[1, 2]",
    b'\xff\xfe{"id": "bytes"}',                                      # not UTF-8
    b'{"id": {"x": 1}, "question": "q"}',                            # an id that is an object
]


@pytest.mark.slow
def test_jsonl_gives_one_line_per_input_line_and_answers_every_valid_one(home: Path):
    valid = [json.dumps({"id": "ok1", "question": f"{NAME}の平成30年度のトータルコストは？"}, ensure_ascii=False).encode(),
             json.dumps({"id": 7, "question": "その前の年度は？", "history": [
                 {"role": "user", "content": f"{NAME}の平成30年度のトータルコストは？"}]}, ensure_ascii=False).encode()]
    lines = [valid[0], *MALFORMED, valid[1]]
    t0 = time.perf_counter()
    r = run(home, "ask", "--jsonl", stdin=b"\n".join(lines) + b"\n")
    took = time.perf_counter() - t0
    out = [json.loads(x) for x in r.stdout.decode("utf-8").splitlines()]
    assert len(out) == len(lines), r.stderr.decode()[-2000:]
    assert r.returncode == 1, "a failed line makes the exit code say so"
    assert [o["id"] for o in out] == ["ok1", "n", "h1", "h2", "s", "l", None, None, None, None, None, 7]
    assert out[0]["status"] == "answered" and out[0]["citations"][0]["value"] == "334"
    assert out[-1]["status"] == "answered" and out[-1]["citations"][0]["value"] == "332"
    for o in out[1:-1]:
        assert o["status"] == "error" and o["error_type"] == "input" and o["error"], o
        assert "Traceback" not in o["error"] and "Error" not in o["error"]
    assert "長すぎます" in out[5]["error"] and took < 30
    assert "Traceback" not in r.stderr.decode()


@pytest.mark.slow
def test_jsonl_all_valid_exits_zero(home: Path):
    r = run(home, "ask", "--jsonl", stdin=json.dumps({"id": "a", "question": "市長の趣味は？"},
                                                    ensure_ascii=False).encode())
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "not_found"


class _Broken:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def ask(self, question, history=None):
        if question == "ok":
            return Answer(status=Status.NOT_FOUND, answer="なし")
        raise self.exc


def test_bugs_inside_hyoka_are_not_reported_as_input_errors(caplog):
    lines = [b'{"id": 1, "question": "boom"}', b'{"id": 2, "question": "ok"}']
    out = list(answer_lines(_Broken(KeyError("internal")), lines, LineLimits()))
    assert out[0]["status"] == "error" and out[0]["error_type"] == "internal" and "入力行の誤りではありません" in out[0]["error"]
    assert out[1] == {"id": 2, "status": "not_found", "answer": "なし", "citations": []}
    assert "KeyError" in caplog.text, "the traceback goes to stderr for whoever fixes it"
    out = list(answer_lines(_Broken(StoreError("索引を読み込めません")), lines[:1], LineLimits()))
    assert out[0]["error_type"] == "store" and out[0]["error"] == "索引を読み込めません"


def test_an_input_error_raised_inside_the_assistant_is_not_blamed_on_the_line(caplog):
    """Only reading the line is the caller's mistake: a QuestionRefused (a UserInputError) raised by
    the assistant after the line was read is a bug of ours."""
    lines = [b'{"id": 1, "question": "boom"}']
    out = list(answer_lines(_Broken(QuestionRefused("質問が長すぎます")), lines, LineLimits()))
    assert out[0]["error_type"] == "internal", out


def test_jsonl_command_reports_a_bug_on_stderr_and_exits_non_zero(monkeypatch, capsys):
    from assistant.cli import _ask_jsonl
    from assistant.settings import Settings

    stdin = b'{"id": 1, "question": "boom"}\n{"id": 2, "question": "ok"}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    code = _ask_jsonl(_Broken(ZeroDivisionError("division by zero")), Settings())
    got = capsys.readouterr()
    out = [json.loads(x) for x in got.out.splitlines()]
    assert code == 1
    assert [(o["id"], o["status"], o.get("error_type")) for o in out] == [(1, "error", "internal"), (2, "not_found", None)]
    assert "内部エラー 1 行" in got.err and "入力行の誤り 0 行" in got.err


def test_output_lines_are_valid_utf8_json_whatever_the_id():
    line = dumps({"id": "\udc00x", "status": "error"})
    assert json.loads(line)["id"] == "\udc00x" and line.encode("utf-8")
    assert dumps({"id": "a\u202eb"}) == '{"id": "a\\u202eb"}'


# --- questions and arguments ----------------------------------------------------------------------
@pytest.mark.slow
def test_a_20000_character_question_is_refused_at_once(home: Path):
    t0 = time.perf_counter()
    r = run(home, "ask", "トータルコストは？" * 2300)
    assert time.perf_counter() - t0 < 20
    assert r.returncode == 2 and "質問が長すぎます" in r.stderr.decode() and "上限 1,000 文字" in r.stderr.decode()


@pytest.mark.slow
def test_an_argument_that_is_not_utf8_is_a_clear_error(home: Path):
    r = run(home, "ask", b"\xff\xfe\x80")
    assert r.returncode == 2 and "UTF-8 ではありません" in r.stderr.decode() and b"Traceback" not in r.stderr


@pytest.mark.slow
def test_citations_print_without_empty_brackets(home: Path):
    r = run(home, "ask", f"{NAME}の平成30年度のトータルコストは？")
    out = r.stdout.decode()
    assert r.returncode == 0 and "334" in out and "（）" not in out, out


@pytest.mark.slow
def test_terminal_escapes_and_bidi_marks_in_sheets_are_not_printed(tmp_path: Path):
    text = SAMPLE.read_text(encoding="utf-8").replace(NAME, f"\x1b]0;pwned\x07\x1b[31m{NAME}\u202e", 1)
    sheet = tmp_path / "evil\x1b[2Jname.txt"
    sheet.write_text(text, encoding="utf-8")
    r = run(tmp_path / "home", "parse", str(sheet))
    out = r.stdout.decode() + r.stderr.decode()
    assert r.returncode == 0 and NAME in out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    r = run(tmp_path / "home", "parse", "--json", str(sheet))
    assert "\x1b" not in r.stdout.decode() and "\u202e" not in r.stdout.decode()
    assert NAME in json.loads(r.stdout)[0]["sheet"]["project_name"]


@pytest.mark.slow
def test_symlinks_out_of_the_folder_are_not_followed_unless_asked(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "link.txt").symlink_to(outside / "secret.txt")
    (folder / "linkdir").symlink_to(outside, target_is_directory=True)
    r = run(tmp_path / "home", "ingest", "--quiet", str(folder))
    err = r.stderr.decode()
    assert r.returncode == 0 and "追加 0 " in r.stdout.decode()
    assert err.count("シンボリックリンク") == 2 and "link.txt" in err and "linkdir" in err
    r = run(tmp_path / "home", "ingest", "--quiet", "--follow-symlinks", str(folder))
    assert "追加 1 " in r.stdout.decode(), r.stderr.decode()


@pytest.mark.slow
def test_help_texts_and_no_stray_progress_bar(tmp_path: Path):
    for cmd, words in (("ingest", ["--quiet", "進み具合"]), ("parse", ["--json", "JSON で出力"]),
                       ("ask", ["--json", "--jsonl", "終了コード 1"])):
        r = run(tmp_path, cmd, "--help")
        help_text = r.stdout.decode()
        assert all(w in help_text for w in words), help_text
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run(tmp_path / "home", "ingest", str(empty))
    assert "0file" not in r.stderr.decode() and "0ファイル" not in r.stderr.decode(), r.stderr.decode()
