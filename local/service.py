"""What every local server shares: start, stop, and a `with` block around them."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class Service:
    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class HttpService(Service):
    """A ThreadingHTTPServer served on a daemon thread: start, stop, base URL."""

    def __init__(self, address: tuple[str, int], *, name: str) -> None:
        self._address = address
        self._name = name
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def start(self) -> Self:
        self._server = self._make_server()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"the {self._name} is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"


class KnownMethodsHandler(BaseHTTPRequestHandler):
    """A handler that answers a method it has no ``do_`` for (PUT, FOO...) with 405 and
    ``Allow``, where the standard library answers 501, a server error. ``ALLOW``: the
    methods it has, as the header lists them."""

    ALLOW = "GET"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._refuse_method
        raise AttributeError(name)

    def _refuse_method(self) -> None:
        self.close_connection = True  # its body, if any, is not read
        self.send_response(405)
        self.send_header("Allow", self.ALLOW)
        self.send_header("Connection", "close")
        self.send_header("Content-Length", "0")
        self.end_headers()
