"""LLM mode vs extractive mode on a question set, against the fake OpenAI-compatible server.

    HYOKA_HOME=/tmp/llm-home .venv/bin/python bench/llm_fallbacks.py [../shared/eval/dev.jsonl] [--scenario echo]

The "echo" scenario restates the extractive answer the prompt carries, so its figures are genuine:
any fallback it causes is a false alarm of the guard, and llm mode must score exactly as extractive
mode does. Other scenarios (made_up, bad_marker, ...) show the guard catching bad answers.
Prints the score of both modes and the fallbacks by cause.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.core import Assistant  # noqa: E402
from assistant.factory import build_chat_model, build_store  # noqa: E402
from assistant.llm import LLMAssistant  # noqa: E402
from assistant.messages import history_from_json  # noqa: E402
from assistant.scoring import judge  # noqa: E402
from assistant.settings import LLMSettings, Settings  # noqa: E402
from testkit.fake_openai_server import FakeOpenAIServer  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("questions", nargs="?", default=str(ROOT.parent / "shared" / "eval" / "dev.jsonl"))
    p.add_argument("--scenario", default="echo")
    args = p.parse_args()
    path = Path(args.questions)
    if not path.exists():
        print(f"{path} がありません", file=sys.stderr)
        return 2
    questions = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    extractive = Assistant(build_store(Settings()))
    ok = {"extractive": 0, "llm": 0}
    worse = []
    with FakeOpenAIServer() as srv:
        llm = LLMAssistant(extractive, build_chat_model(LLMSettings(base_url=srv.url, model=args.scenario,
                                                                    timeout=10)), deadline=10)
        for q in questions:
            history = history_from_json(q.get("history"))
            e = judge(q, extractive.ask(q["question"], history).contract(q["id"])) is None
            ans = llm.ask(q["question"], history)
            got = judge(q, ans.contract(q["id"])) is None
            ok["extractive"] += e
            ok["llm"] += got
            if e and not got:
                worse.append(f"{q['id']}: {q['question']} -> {ans.answer[:80]}")
    n = len(questions)
    print(f"questions {n}, scenario {args.scenario!r}")
    print(f"extractive {ok['extractive']}/{n}, llm {ok['llm']}/{n}, llm answers accepted {llm.answered}")
    print(f"fallbacks by cause: {dict(sorted(llm.fallbacks.items())) or 'none'}")
    for w in worse:
        print(f"worse in llm mode: {w}")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
