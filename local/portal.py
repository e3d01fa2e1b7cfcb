"""The customer portal's static files (portal/), served by `make dev` on an origin of
their own, as a utility's web host would serve them, with the headers it should send.

``/config.json`` is the one file a deployment writes itself (portal/config.example.json):
here it is made from the running stack, naming the gateway, the identity provider that
signs customers in and the portal's client there. The page's Content-Security-Policy
allows connections to those two origins only.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Mapping, Sequence
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local.service import HttpService, KnownMethodsHandler

PORTAL_DIR = Path(__file__).resolve().parents[1] / "portal"
PORTAL_CLIENT_ID = "opower-portal"
# What may be served: files of these kinds, by plain names, in the folder or one below it.
_SERVABLE = re.compile(r"/(?:[a-z0-9-]+/)?[a-z0-9-]+\.(?:html|js|css|svg|png|ico|json)")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".json": "application/json",
          ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}  # fmt: skip


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def discovered_origins(issuer: str, *, timeout_s: float = 3.0) -> list[str]:
    """The origins the page calls at an identity provider besides its issuer's: its token
    and userinfo endpoints', from its discovery document (Cognito's token endpoint is the
    user pool's domain, not the issuer's host). None when the document cannot be had: the
    page then says the sign-in service could not be reached."""
    import urllib3

    try:
        answer = urllib3.PoolManager().request(
            "GET",
            f"{issuer.rstrip('/')}/.well-known/openid-configuration",
            timeout=timeout_s,
            retries=False,
        )
        document = json.loads(answer.data) if answer.status == 200 else {}
    except (urllib3.exceptions.HTTPError, ValueError):
        return []
    if not isinstance(document, dict):
        return []
    endpoints = [document.get(k) for k in ("token_endpoint", "userinfo_endpoint")]
    found = {
        _origin(e)
        for e in endpoints
        if isinstance(e, str) and e.startswith(("https://", "http://127.0.0.1", "http://localhost"))
    }
    return sorted(found - {_origin(issuer)})


def security_headers(config: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """What the portal's host sends with every file: scripts and styles of its own origin
    only, connections to the gateway and the identity provider only (the session token
    never leaves for anywhere else), never framed, no referrer (the sign-in's code is in
    the address when the page loads). Before the stack has configured it: connections to
    its own origin only."""
    origins = (
        {_origin(config["gateway"]), _origin(config["issuer"]), *config.get("connect", ())}
        if config
        else set()
    )
    connect = "".join(f" {origin}" for origin in sorted(origins - {""}))
    return [
        (
            "Content-Security-Policy",
            f"default-src 'self'; connect-src 'self'{connect}; img-src 'self' data:; "
            "script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'; object-src 'none'",
        ),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
    ]


class PortalServer(HttpService):
    """The portal on 127.0.0.1:``port``; :meth:`configure` once the gateway and the
    identity provider run (until then /config.json is 503)."""

    def __init__(self, *, port: int = 0, directory: Path = PORTAL_DIR) -> None:
        super().__init__(("127.0.0.1", port), name="portal")
        self.directory = directory
        self.config: dict[str, Any] | None = None
        self._connect: list[str] = []

    def _make_server(self) -> ThreadingHTTPServer:
        return _Server(self._address, self)

    @property
    def origins(self) -> list[str]:
        """Both loopback names of the portal's origin, the banner's first."""
        port = self.base_url.rsplit(":", 1)[1]
        return [self.base_url, f"http://localhost:{port}"]

    @property
    def redirect_uris(self) -> list[str]:
        """Where the identity provider sends the customer back: the portal's page."""
        return [f"{origin}/" for origin in self.origins]

    def configure(
        self,
        *,
        gateway: str,
        issuer: str,
        client_id: str = PORTAL_CLIENT_ID,
        scope: str = "openid profile",
        session_token: str = "access_token",
        authorization_params: Mapping[str, str] | None = None,
        connect: Sequence[str] = (),
    ) -> None:
        """portal/config.example.json's fields (docs/portal.md); ``connect``: more origins
        the page may call (discovered_origins), in its policy only."""
        self._connect = list(connect)
        self.config = {
            "gateway": gateway.rstrip("/"),
            "issuer": issuer.rstrip("/"),
            "clientId": client_id,
            "scope": scope,
            "sessionToken": session_token,
            "authorizationParams": dict(authorization_params or {}),
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], portal: PortalServer) -> None:
        super().__init__(address, _Handler)
        self.portal = portal


class _Handler(KnownMethodsHandler):
    ALLOW = "GET, HEAD"
    protocol_version = "HTTP/1.1"
    server_version = "OpowerPortal/1.0"

    def log_message(self, format: str, *args: object) -> None:
        return None  # the sign-in's code arrives in the address: request lines are not logged

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, *, body: bool) -> None:
        assert isinstance(self.server, _Server)
        portal = self.server.portal
        path = urlsplit(self.path).path
        config = portal.config
        if path == "/config.json":
            if config is None:
                self._send(503, b'{"error": "starting"}', "application/json", [], body)
            else:
                self._send(200, json.dumps(config, indent=2).encode(), "application/json", [], body)
            return
        name = "/index.html" if path == "/" else path
        file = portal.directory / name.lstrip("/")
        if not _SERVABLE.fullmatch(name) or not file.is_file():
            self._send(404, b"not found\n", "text/plain; charset=utf-8", [], body)
            return
        content_type = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or ""
        policy = {**config, "connect": portal._connect} if config is not None else None
        self._send(200, file.read_bytes(), content_type, security_headers(policy), body)

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: list[tuple[str, str]],
        body: bool,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        # Every file anew: a developer's edit shows on reload; a CDN would version them.
        self.send_header("Cache-Control", "no-cache")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(payload)
