"""A Lambda handler behind a local HTTP server, as a Lambda Function URL would call it (payload format 2.0).

Used to put the real webhook handler where the Telegent sandbox (or anything else) can call it
over HTTP, in tests and demos that run the handlers in-process:

    with FunctionUrlServer(webhook_handler.handler, function_name="webhook") as server:
        sandbox.set_route(..., CallbackMessageUrl=server.url)

What it does like AWS: header names lower-cased and repeated headers comma-joined, cookies apart,
`rawQueryString` as sent and `queryStringParameters` (comma-joined repeats), the body as text for
text types (text/*, JSON, XML, JavaScript) and base64 (`isBase64Encoded`) for everything else,
form-encoded bodies included; the answer read as a Function URL reads it (a dict with
`statusCode`, or any other JSON value as a 200 application/json), and 502 when the handler
raises. A new FakeLambdaContext per call. The request body is capped at 6 MB like Lambda's.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from infra.local.lambda_context import DEFAULT_ACCOUNT_ID, FakeLambdaContext
from infra.local.ports import LOOPBACK

MAX_REQUEST_BYTES = 6 * 1024 * 1024
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/ld+json")

Handler = Callable[[dict[str, Any], Any], Any]


def is_text(content_type: str | None) -> bool:
    mime = (content_type or "").split(";")[0].strip().lower()
    return mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml"))


def function_url_event(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    source_ip: str = LOOPBACK,
    url_id: str = "local",
    region: str = "us-east-1",
) -> dict[str, Any]:
    """The event a Function URL hands the function for one HTTP request (`target` = path?query)."""
    parts = urllib.parse.urlsplit(target)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    domain = f"{url_id}.lambda-url.{region}.on.aws"
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": joined,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": url_id,
            "domainName": domain,
            "domainPrefix": url_id,
            "http": {
                "method": method.upper(),
                "path": parts.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if parts.query:
        params: dict[str, str] = {}
        for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            params[name] = f"{params[name]},{value}" if name in params else value
        event["queryStringParameters"] = params
    if body:
        if is_text(joined.get("content-type")):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
    return event


def http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for what the handler returned, read as a Function URL reads it."""
    if isinstance(result, Mapping) and "statusCode" in result:
        status = int(result["statusCode"])
        headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
        headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or []]
        raw = result.get("body")
        if raw is None:
            body = b""
        elif result.get("isBase64Encoded"):
            body = base64.b64decode(str(raw))
        else:
            body = raw.encode() if isinstance(raw, str) else json.dumps(raw).encode()
        return status, headers, body
    if result is None:
        return 200, [], b""
    return 200, [("Content-Type", "application/json")], json.dumps(result).encode()


class FunctionUrlServer:
    """Serves `handler` on http://127.0.0.1:<port>/ from a daemon thread; a context manager."""

    def __init__(
        self,
        handler: Handler,
        *,
        function_name: str = "function",
        host: str = LOOPBACK,
        port: int = 0,
        timeout_seconds: float = 30,
        url_id: str | None = None,
    ) -> None:
        self._handler = handler
        self.function_name = function_name
        self._host = host
        self._port = port
        self._timeout_seconds = timeout_seconds
        self.url_id = url_id or uuid.uuid4().hex[:32]
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.invocations: list[dict[str, Any]] = []  # method, path, status, error, ms (no bodies, no headers)

    def start(self) -> FunctionUrlServer:
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = _Server((self._host, self._port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"function-url-{self.function_name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FunctionUrlServer:
        return self if self._server is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>/ (the Function URL's root)."""
        if self._server is None:
            raise RuntimeError("not running")
        host = LOOPBACK if self._host in ("", "0.0.0.0") else self._host
        return f"http://{host}:{self._server.server_address[1]}/"

    def invoke(self, event: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        started = time.monotonic()
        error: str | None = None
        try:
            context = FakeLambdaContext(
                self.function_name, timeout_seconds=self._timeout_seconds, account_id=DEFAULT_ACCOUNT_ID
            )
            status, headers, body = http_response(self._handler(event, context))
        except Exception as exc:  # a failed invocation is a 502, like the real Function URL
            error = type(exc).__name__
            status, headers = 502, [("Content-Type", "application/json")]
            body = b'{"Message":"Internal Server Error"}'
        with self._lock:
            self.invocations.append(
                {
                    "method": event["requestContext"]["http"]["method"],
                    "path": event["rawPath"],
                    "status": status,
                    "error": error,
                    "ms": round((time.monotonic() - started) * 1000, 1),
                }
            )
        return status, headers, body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], owner: FunctionUrlServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "LocalFunctionUrl/1.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_REQUEST_BYTES:
            self.close_connection = True
            self._write(413, [("Content-Type", "application/json")], b'{"Message":"Request Entity Too Large"}')
            return
        body = self.rfile.read(length) if length else b""
        event = function_url_event(
            self.command,
            self.path,
            list(self.headers.items()),
            body,
            source_ip=self.client_address[0],
            url_id=self.server.owner.url_id,
        )
        self._write(*self.server.owner.invoke(event))

    def _write(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests carry credentials and receipts."""
