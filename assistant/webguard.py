"""What stands between the network and the chat: login checks, a login rate limit, the upload route,
response headers, and the checks made before listening.

- Login: both a user and a password, or neither; a half-configured login refuses to start (it used
  to disable the login silently). Passwords are compared in constant time.
- Failed logins are limited per client address: after `failures` failures within `window` seconds
  the client gets 429 until the window has passed (300 wrong passwords took 0.6 s before).
- Gradio's `/gradio_api/upload` route accepts files for any component; when uploads are off no
  component needs it, so it answers 403 and stores nothing. When they are on, a request larger than
  the upload limit is refused before it is read.
- Every response says `img-src 'self' data: blob:` (no remote image loads, whatever a sheet's text
  holds) and `Referrer-Policy: no-referrer`.
- The page is Japanese whatever the browser's language: the HTML says lang="ja" (screen readers and
  the CJK font choice read it) and, before Gradio's scripts run, the browser's language list is
  made Japanese, so Gradio's own labels come from its Japanese translations (see app.GRADIO_JA for
  the ones it lacks).
- Listening beyond loopback without a login prints a warning; with uploads on it needs an explicit
  option (HYOKA_UI__ALLOW_ANONYMOUS=1 or `hyoka serve --allow-anonymous-upload`).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ingest.errors import UserInputError

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

HEADERS = [(b"content-security-policy", b"img-src 'self' data: blob:"),
           (b"referrer-policy", b"no-referrer"), (b"x-content-type-options", b"nosniff")]
JAPANESE_FIRST = (b"<script>(function(){var l=['ja'];try{Object.defineProperty(navigator,'languages',"
                  b"{get:function(){return l;}});Object.defineProperty(navigator,'language',"
                  b"{get:function(){return 'ja';}});}catch(e){}})();</script>")


def login_pair(user: str, password: str) -> tuple[str, str] | None:
    """The login, or None when there is none; a half-configured one is refused."""
    if bool(user) != bool(password):
        missing = "HYOKA_UI__PASSWORD" if user else "HYOKA_UI__USER"
        raise UserInputError(f"ログインの設定が半分だけです: {missing} が設定されていません。"
                             "ログインを使うなら HYOKA_UI__USER と HYOKA_UI__PASSWORD の両方を、"
                             "使わないならどちらも設定しないでください。")
    return (user, password) if user else None


def checker(pair: tuple[str, str]) -> Callable[[str, str], bool]:
    """Gradio's auth callable: both compared in constant time (a plain == leaks the prefix length)."""
    user, password = pair[0].encode(), pair[1].encode()

    def check(u: str, p: str) -> bool:
        ok_user = hmac.compare_digest(u.encode("utf-8", "replace"), user)
        ok_pass = hmac.compare_digest(p.encode("utf-8", "replace"), password)
        return ok_user and ok_pass

    return check


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen_check(host: str, has_login: bool, uploads: bool, allow_anonymous: bool) -> str:
    """"" when fine, else a warning to print; raises when uploads would be open to anyone."""
    if is_loopback(host) or has_login:
        return ""
    if uploads and not allow_anonymous:
        raise UserInputError(f"{host} で待ち受けると、ログインなしで誰でもシートをアップロードできます。"
                             "HYOKA_UI__USER と HYOKA_UI__PASSWORD でログインを設定してください。"
                             "承知のうえで公開するなら --allow-anonymous-upload（または HYOKA_UI__ALLOW_ANONYMOUS=1）"
                             "を指定してください。")
    return (f"警告: {host} で待ち受けます。ログインが設定されていないため、このネットワークの誰でも質問できます"
            "（HYOKA_UI__USER と HYOKA_UI__PASSWORD で設定できます）。")


class LoginLimiter:
    """Failed logins per client address within a sliding window."""

    def __init__(self, failures: int = 5, window: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str) -> deque[float]:
        q = self._seen.setdefault(client, deque())
        cutoff = self.clock() - self.window
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def retry_after(self, client: str) -> float:
        """0 when the client may try, else the seconds until it may."""
        with self._lock:
            q = self._recent(client)
            if len(q) < self.failures:
                return 0.0
            return max(1.0, q[0] + self.window - self.clock())

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(self.clock())
            if len(self._seen) > 10_000:  # forget the quietest clients rather than grow without end
                for key in [k for k, v in self._seen.items() if not v][:5000]:
                    del self._seen[key]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._seen.pop(client, None)


class Guard:
    """ASGI middleware (passed to FastAPI through Gradio's app_kwargs)."""

    def __init__(self, app: ASGI, uploads: bool = False, max_upload_bytes: int = 0,
                 limiter: LoginLimiter | None = None) -> None:
        self.app = app
        self.uploads = uploads
        self.max_upload_bytes = max_upload_bytes
        self.limiter = limiter or LoginLimiter()

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "").rstrip("/")
        if path.endswith("/gradio_api/upload"):
            refusal = self._upload_refusal(scope)
            if refusal:
                await _reply(send, *refusal)
                return
        if scope.get("method") == "POST" and path.endswith("/login"):
            await self._login(scope, receive, send)
            return
        if scope.get("method") == "GET" and (path == "" or path.endswith("/login")):
            await self.app(scope, receive, _japanese_page(_with_headers(send)))
            return
        await self.app(scope, receive, _with_headers(send))

    def _upload_refusal(self, scope: Scope) -> tuple[int, str] | None:
        if not self.uploads:
            return 403, "アップロードは無効です。"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is None or not length.isdigit():
            return 411, "アップロードにはサイズ（Content-Length）が必要です。"
        if int(length) > self.max_upload_bytes:
            return 413, f"アップロードが大きすぎます（上限 {self.max_upload_bytes // (1024 * 1024)} MB）。"
        return None

    async def _login(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                     send: Callable[[Any], Awaitable[None]]) -> None:
        client = (scope.get("client") or ("?", 0))[0]
        wait = self.limiter.retry_after(client)
        if wait:
            await _reply(send, 429, f"ログインの失敗が続いたため、{wait:.0f} 秒後まで受け付けません。",
                         [(b"retry-after", str(int(wait)).encode())])
            return
        status: list[int] = []

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await _with_headers(send)(message)

        await self.app(scope, receive, watch)
        if status and status[0] == 200:
            self.limiter.succeeded(client)
        elif status and 400 <= status[0] < 500:
            self.limiter.failed(client)


def _with_headers(send: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    async def wrapped(message: Any) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            message = dict(message)
            message["headers"] = list(message.get("headers", [])) + [h for h in HEADERS if h[0] not in names]
        await send(message)

    return wrapped


def _japanese_page(send: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    """The page's HTML with lang="ja" and JAPANESE_FIRST at the top of <head>; other responses as they are."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def wrapped(message: Any) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            if not headers.get(b"content-type", b"").startswith(b"text/html"):
                start["pass"] = True
                await send(message)
                return
            start["message"] = message
            return
        if start.get("pass") or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        html = re.sub(rb'(<html\s+)lang="en"', rb'\1lang="ja"', b"".join(chunks), count=1)
        html = html.replace(b"<head>", b"<head>" + JAPANESE_FIRST, 1)
        head = start["message"]
        headers = [(k, v) for k, v in head.get("headers", []) if k.lower() != b"content-length"]
        await send({**head, "headers": [*headers, (b"content-length", str(len(html)).encode())]})
        await send({"type": "http.response.body", "body": html})

    return wrapped


async def _reply(send: Callable[[Any], Awaitable[None]], status: int, detail: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *HEADERS, *(extra or [])]})
    await send({"type": "http.response.body", "body": body})
