"""HTTP transport of the sandbox and `OpowerSandbox`, the handle tests and scripts hold.

A `ThreadingHTTPServer` answers each connection on its own daemon thread (HTTP/1.1
keep-alive, as a real client pool expects) and hands every request to `SandboxApp`.
Stopping first releases requests held by the `slow` / `hanging` faults, so `stop()`
returns promptly even while a client is waiting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.sandbox.app import SandboxApp
from local.sandbox.config import SandboxConfig
from local.sandbox.errors import ApiError
from local.sandbox.messages import Request, Response
from local.sandbox.stats import ReceivedRequest

logger = logging.getLogger(__name__)

_STOP_TIMEOUT_S = 2.0
_MAX_BODY = 1_000_000
_CLOSE = ("Connection", "close")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many concurrent test clients must not hit a full backlog

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        super().__init__(address, _Handler)
        self.app = app


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "OpowerSandbox/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _serve(self) -> None:
        assert isinstance(self.server, _Server)
        body = self._read_body()
        if isinstance(body, ApiError):
            self._send(body.to_response(nested=False))
            return
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        try:
            answer = self.server.app.handle(request)
        except Exception:
            logger.exception("sandbox failed on %s %s", request.method, request.path)
            answer = ApiError(500, "Sandbox error").to_response(nested=False)
        if answer is None:
            self.close_connection = True  # the fault says: no answer at all
            return
        self._send(answer)

    def _read_body(self) -> bytes | ApiError:
        """The body by Content-Length (all clients of Opower send one; chunked is refused).

        Refusals close the connection, since the rest of the stream cannot be parsed.
        """
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return ApiError(411, "Send the body with a Content-Length", _CLOSE)
        raw_length = self.headers.get("Content-Length") or "0"
        if not raw_length.isdecimal():
            return ApiError(400, "Invalid Content-Length", _CLOSE)
        length = int(raw_length)
        if length > _MAX_BODY:
            return ApiError(413, "Body too large", _CLOSE)
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        try:
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its read timeout during a `slow` fault): nothing to do.
            logger.debug("client went away before the %s answer", response.status)
            self.close_connection = True


class OpowerSandbox:
    """A local imitation of Opower's REST APIs for one utility, on a background thread.

    Use as a context manager or call `start()` / `stop()`. State (tokens, faults, data
    changes) lives as long as the object; `reset()` restores the state at start. The
    JSON-returning methods are typed `Any` inside, like any decoded JSON.
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, now: Callable[[], datetime] | None = None
    ) -> None:
        """``now``: the clock its data is answered as of (default: the system's)."""
        self._config = config or SandboxConfig()
        self._app = SandboxApp(self._config, now=now)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> OpowerSandbox:
        """Bind and serve in a daemon thread; returns self for chaining."""
        if self._server is not None:
            raise RuntimeError("sandbox is already running")
        self._app.faults.reopen()
        server = _Server((self._config.host, self._config.port), self._app)
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"opower-sandbox-{server.server_address[1]}",
            daemon=True,
        )
        self._server = server
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release waiting requests, stop accepting, close the socket and join the thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._app.faults.close()
        server.shutdown()
        server.server_close()
        thread.join(_STOP_TIMEOUT_S)
        self._server = self._thread = None

    def __enter__(self) -> OpowerSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (useful with `port=0`)."""
        if self._server is None:
            raise RuntimeError("sandbox is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """`http://host:port`, without a trailing slash or `/apis`."""
        return f"http://{self._config.host}:{self.port}"

    @property
    def config(self) -> SandboxConfig:
        """The configuration the sandbox was created with."""
        return self._config

    @property
    def current_client_secret(self) -> str:
        """The secret accepted now (changes with the `rotate_client_secret` switch)."""
        return self._app.credentials.secret

    def reset(self) -> None:
        """Same as `POST /_sandbox/reset`."""
        self._app.reset()

    def set_faults(self, **switches: object) -> dict[str, Any]:
        """Same as `POST /_sandbox/faults` with these switches; ValueError when invalid."""
        return self._app.set_faults(switches)

    def set_answers(self, **answers: object) -> list[str]:
        """Serve recorded answers by route name (see ``SandboxApp.set_answers``)."""
        return self._app.set_answers(answers)

    def set_limits(self, *, per_second: int | None = None, per_day: int | None = None) -> None:
        """Same as `POST /_sandbox/limits`; a limit left as None is kept."""
        self._app.set_limits(per_second, per_day)

    def stats(self) -> dict[str, Any]:
        """Same JSON as `GET /_sandbox/stats`."""
        return self._app.stats_json()

    def customers(self) -> list[dict[str, Any]]:
        """Same JSON as `GET /_sandbox/customers`."""
        return self._app.customers_json()

    def received(self) -> list[ReceivedRequest]:
        """The last (at most 1000) requests received below /apis/, oldest first."""
        return self._app.stats.received()

    def issued_tokens(self) -> list[str]:
        """Every access token issued since the sandbox was created, for leak checks."""
        return self._app.tokens.history()  # one history for every utility, in order

    def client_secrets(self) -> list[tuple[str, str]]:
        """(client_id, secret accepted now) of each utility's client, for leak checks."""
        return [
            (tenant.credentials.client_id, tenant.credentials.secret)
            for tenant in self._app.tenants.values()
        ]

    def faults(self) -> dict[str, Any]:
        """Same JSON as `GET /_sandbox/faults`."""
        return self._app.faults_json()
