"""A small OpenAI-compatible chat server on loopback, for tests and the fallback bench (no network).

POST /v1/chat/completions, with "stream": true (SSE `data: {...}` chunks, then `data: [DONE]`) or false.
The scenario is the request's model name, or the X-Scenario header:

  good        restates record [1]'s figure, citing [1]
  echo        restates the extractive draft the prompt carries (its numbers are genuine)
  made_up     a figure no record holds (the guard must catch it)
  bad_marker  cites [9], which does not exist
  no_marker   the right figure, but no [n] at all
  slow        answers only after `slow_seconds` (beyond a short client timeout)

A condense request (the rewrite prompt) gets the new question back unchanged, so a follow-up is
answered exactly as the extractive mode would. Every request's JSON is kept in `requests`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD_PREFIX = "お答えします。"


def _user_text(body: dict) -> str:
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user")


def _system_text(body: dict) -> str:
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "system")


def _first_figure(prompt: str) -> str:
    block = prompt.split("[2] 事業名:")[0]
    value = re.search(r"^\s*値: (.+)$", block, re.M)
    return value.group(1).strip() if value else "シートの記載のとおり"


def reply_for(scenario: str, body: dict) -> str:
    """The model's whole answer for a scenario (a function, so tests can state what to expect)."""
    prompt = _user_text(body)
    if "書き換え" in _system_text(body):
        m = re.search(r"新しい質問: (.+)", prompt)
        return m.group(1).strip() if m else ""
    if scenario == "echo":
        m = re.search(r"【抽出回答[^】]*】\n(.*?)\n</資料>", prompt, re.S)
        return m.group(1).strip() if m else ""
    figure = _first_figure(prompt)
    if scenario == "made_up":
        return f"{GOOD_PREFIX}この事業のトータルコストは9,999千円です[1]。"
    if scenario == "bad_marker":
        return f"{GOOD_PREFIX}お尋ねの値は{figure}です[9]。"
    if scenario == "no_marker":
        return f"{GOOD_PREFIX}お尋ねの値は{figure}です。"
    return f"{GOOD_PREFIX}お尋ねの値は{figure}です[1]。"


class FakeOpenAIServer:
    """Start with `with FakeOpenAIServer() as srv:`; point a client at `srv.url`."""

    def __init__(self, slow_seconds: float = 10.0) -> None:
        self.slow_seconds = slow_seconds
        self.requests: list[dict] = []
        self.stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        # A short poll: shutdown() waits for it, and the tests start and stop many servers.
        self._thread = threading.Thread(target=lambda: self._httpd.serve_forever(poll_interval=0.05), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()  # wakes a handler that is being slow
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                server.requests.append(body)
                scenario = self.headers.get("X-Scenario") or str(body.get("model", "good"))
                if scenario == "slow" and server.stopping.wait(server.slow_seconds):
                    return
                text = reply_for(scenario, body)
                try:
                    if body.get("stream"):
                        self._stream(body, text)
                    else:
                        self._whole(body, text)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _whole(self, body: dict, text: str) -> None:
                out = {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                       "model": body.get("model", ""),
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                data = json.dumps(out, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                pieces = [text[i:i + 6] for i in range(0, len(text), 6)]
                for i, piece in enumerate(pieces):
                    delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
                    self._event(body, delta, None)
                self._event(body, {}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, body: dict, delta: dict, finish: str | None) -> None:
                chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                         "model": body.get("model", ""),
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                self.wfile.flush()

        return Handler
