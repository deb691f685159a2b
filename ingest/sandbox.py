"""Parse an untrusted file in a child process with a memory and a time limit.

The limits checked before parsing (limits.py) stop the hostile files we know of; a reader can
still meet a file that costs more than it should (a forged ZIP directory, a PDF whose streams
inflate without end). Parsed in a child, such a file can only exhaust the child: its address
space is capped (RLIMIT_AS, set by the child itself before it reads the file), its wall time is
capped (the parent kills it), and whatever memory the parse took goes back to the system when the
child exits, so a server that accepts uploads returns to its baseline.

The child is a fresh `python -m ingest.sandbox` (about 0.5 s to import the readers), not a fork of
the multi-threaded web server. It answers with JSON, which the parent validates into records.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .labelling import Labels
from .limits import DEFAULT_LIMITS, MIB, FileLimits
from .parse import FileResult, parse_file
from .records import ParsedSheet

log = logging.getLogger("hyoka.ingest")
_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sandbox:
    """How much one parse may take: address space beyond the worker's own imports, and wall time."""

    memory_mb: int = 768
    seconds: float = 120.0


@dataclass(frozen=True)
class Isolated:
    """What the worker reported: the parse, and its peak resident memory (KiB; 0 if it died)."""

    result: FileResult
    peak_kib: int = 0


def parse_isolated(path: Path, labels: Labels | None = None, limits: FileLimits = DEFAULT_LIMITS,
                   sandbox: Sandbox | None = None) -> FileResult:
    """parse_file(path, labels, limits) in a child process; a child that runs out of memory or
    time, or dies, gives a FileResult with an error naming the file."""
    return run_isolated(path, limits, sandbox or Sandbox(), labels).result


def run_isolated(path: Path, limits: FileLimits, box: Sandbox, labels: Labels | None = None) -> Isolated:
    given = asdict(labels) if labels else {}
    cmd = [sys.executable, "-m", "ingest.sandbox", str(path), json.dumps(asdict(limits)), str(box.memory_mb),
           json.dumps(given, ensure_ascii=False)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(x for x in (str(_ROOT), os.environ.get("PYTHONPATH")) if x)}
    try:
        run = subprocess.run(cmd, capture_output=True, timeout=box.seconds, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        log.warning("%s: parse took longer than %s s; worker killed", path, box.seconds)
        return Isolated(FileResult(path=str(path),
                                   error=f"{path}: 読み込みが制限時間（{box.seconds:.0f} 秒）を超えたため中止しました"))
    if run.returncode != 0 or not run.stdout:
        log.warning("%s: parse worker ended with exit code %s: %s", path, run.returncode,
                    run.stderr.decode("utf-8", "replace")[-2000:])
        return Isolated(FileResult(path=str(path), error=f"{path}: 読み込み中に処理が異常終了しました"
                                                         f"（メモリ不足の可能性があります。上限 {box.memory_mb} MB）"))
    return _decode(run.stdout, str(path))


def _decode(payload: bytes, path: str) -> Isolated:
    data = json.loads(payload)
    r = data["result"]
    sheets = [ParsedSheet.model_validate(s) for s in r["sheets"]]
    return Isolated(FileResult(path=path, sheets=sheets, skipped=r["skipped"], error=r["error"], reader=r["reader"],
                               notes=list(r.get("notes", []))), int(data.get("peak_kib", 0)))


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _vm_bytes() -> int:
    return _status_kib("VmSize") * 1024


def _main(argv: list[str]) -> int:
    path, limits_json, memory_mb = argv[0], argv[1], int(argv[2])
    labels = Labels(**json.loads(argv[3])) if len(argv) > 3 else None
    from .readers import readers

    readers()  # import every reader before the cap, so the cap is what parsing may add
    cap = _vm_bytes() + memory_mb * MIB
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    limits = FileLimits(**json.loads(limits_json))
    try:
        result = parse_file(Path(path), labels, limits)
    except MemoryError:
        result = FileResult(path=path, error=f"{path}: 読み込みに必要なメモリが上限（{memory_mb} MB）を超えたため中止しました")
    out = {"result": {"sheets": [ps.model_dump(mode="json") for ps in result.sheets], "skipped": result.skipped,
                      "error": result.error, "reader": result.reader, "notes": result.notes},
           # VmHWM belongs to this program's memory map; ru_maxrss would count the parent's
           # resident size at fork, which a server of a few hundred MB would dominate.
           "peak_kib": _status_kib("VmHWM")}
    sys.stdout.buffer.write(json.dumps(out, ensure_ascii=False).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
