"""Real HTTP receivers on loopback ports for the delivery tests: a webhook receiver that checks
signatures and remembers idempotency keys (as a real receiver must), and servers that answer like
WeChat's official-account API and JPush's push API. No mocks: the adapters talk HTTP to these."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every request; `respond(received) -> (status, body)` decides the answer."""

    respond: Callable[[Received], tuple[int, Any]] | None = None
    delay_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    processed: dict[str, int] = field(default_factory=dict)   # idempotency key → times processed (a receiver's job: once)
    repeats: int = 0                                          # requests whose key was already processed
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)  # a slow receiver, so deliveries are in flight when the sender dies
                with receiver.lock:
                    receiver.requests.append(got)
                    status, answer = receiver.respond(got) if receiver.respond else (200, {"ok": True})
                    key = got.headers.get("idempotency-key")
                    if key and 200 <= status < 300 and key not in receiver.processed:
                        receiver.processed[key] = 1
                    elif key and 200 <= status < 300:
                        receiver.repeats += 1  # a repeat: acknowledged again, not processed again
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender died while we answered (the crash test does that on purpose)

            do_POST = _handle
            do_GET = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True, name="receiver").start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def bodies(self, path_prefix: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]


def signature_ok(secret: str, received: Received) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received.headers.get("x-riskgraph-signature", ""))


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition", interval: float = 0.05) -> Any:
    """Poll until `condition()` is truthy (returns it); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class WeChatLike:
    """Answers like api.weixin.qq.com: /cgi-bin/stable_token and /cgi-bin/message/template/send."""

    def __init__(self, app_id: str, secret: str, *, expire_first_token: bool = False, busy_sends: int = 0) -> None:
        self.app_id, self.secret = app_id, secret
        self.tokens: list[str] = []
        self.expire_first_token = expire_first_token
        self.busy_sends = busy_sends
        self.sent: list[dict[str, Any]] = []
        self.receiver = Receiver(respond=self._respond)

    def _respond(self, r: Received) -> tuple[int, Any]:
        url = urlparse(r.path)
        if url.path == "/cgi-bin/stable_token":
            body = r.json()
            if body.get("appid") != self.app_id or body.get("secret") != self.secret:
                return 200, {"errcode": 40013, "errmsg": "invalid appid"}
            token = f"TOKEN{len(self.tokens) + 1}"
            self.tokens.append(token)
            return 200, {"access_token": token, "expires_in": 7200}
        if url.path == "/cgi-bin/message/template/send":
            token = parse_qs(url.query).get("access_token", [""])[0]
            if token not in self.tokens or (self.expire_first_token and token == "TOKEN1"):
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            if self.busy_sends > 0:
                self.busy_sends -= 1
                return 200, {"errcode": -1, "errmsg": "system error"}
            message = r.json()
            if message.get("touser", "").startswith("unfollowed"):
                return 200, {"errcode": 43004, "errmsg": "require subscribe"}
            self.sent.append(message)
            return 200, {"errcode": 0, "errmsg": "ok", "msgid": 200228332 + len(self.sent)}
        return 404, {"errcode": 404, "errmsg": "not found"}


class JPushLike:
    """Answers like api.jpush.cn: POST /v3/push with Basic auth."""

    def __init__(self, app_key: str, master_secret: str, *, unavailable: int = 0) -> None:
        self.auth = "Basic " + base64.b64encode(f"{app_key}:{master_secret}".encode()).decode()
        self.unavailable = unavailable
        self.pushed: list[dict[str, Any]] = []
        self.receiver = Receiver(respond=self._respond)

    def _respond(self, r: Received) -> tuple[int, Any]:
        if urlparse(r.path).path != "/v3/push":
            return 404, {"error": {"code": 404, "message": "not found"}}
        if r.headers.get("authorization") != self.auth:
            return 401, {"error": {"code": 1004, "message": "Authentication failed"}}
        if self.unavailable > 0:
            self.unavailable -= 1
            return 503, {"error": {"code": 1030, "message": "internal service timeout"}}
        body = r.json()
        if body["audience"]["alias"] == ["nobody"]:
            return 400, {"error": {"code": 1011, "message": "cannot find user by this audience"}}
        self.pushed.append(body)
        return 200, {"sendno": str(body["options"]["sendno"]), "msg_id": str(54043195528453000 + len(self.pushed))}
