"""`make dev`'s host of the customer portal (local/portal.py): the files of portal/ and
nothing else, the headers a utility's host should send with them, and the one file a
deployment writes itself, config.json (docs/portal.md)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3

from local.portal import PORTAL_DIR, PortalServer, discovered_origins

pytestmark = pytest.mark.integration
HTTP = urllib3.PoolManager()


@pytest.fixture(scope="module")
def portal() -> Iterator[PortalServer]:
    with PortalServer() as server:
        yield server


def _get(url: str, method: str = "GET") -> urllib3.BaseHTTPResponse:
    return HTTP.request(method, url, retries=False, redirect=False)


def test_config_json_waits_for_the_stack_then_names_gateway_issuer_and_client() -> None:
    with PortalServer() as server:
        assert _get(f"{server.base_url}/config.json").status == 503
        # the files are already served with their headers, talking to their origin only
        early = _get(f"{server.base_url}/")
        assert "connect-src 'self'; " in early.headers["Content-Security-Policy"]
        assert early.headers["Referrer-Policy"] == "no-referrer"
        server.configure(gateway="http://127.0.0.1:3000/", issuer="http://127.0.0.1:4011")
        config = _get(f"{server.base_url}/config.json").json()
    assert config == {
        "gateway": "http://127.0.0.1:3000",
        "issuer": "http://127.0.0.1:4011",
        "clientId": "opower-portal",
        "scope": "openid profile",
        "sessionToken": "access_token",
        "authorizationParams": {},
    }
    # the example a deployment copies has the same fields
    example = json.loads((PORTAL_DIR / "config.example.json").read_text())
    assert set(example) == set(config)


def test_every_file_comes_with_a_policy_that_lets_it_talk_to_the_gateway_and_idp_only(
    portal: PortalServer,
) -> None:
    portal.configure(gateway="http://127.0.0.1:3000", issuer="https://login.example/oauth2")
    for path in ("/", "/js/app.js", "/portal.css"):
        answer = _get(portal.base_url + path)
        assert answer.status == 200, path
        policy = answer.headers["Content-Security-Policy"]
        assert "connect-src 'self' http://127.0.0.1:3000 https://login.example;" in policy
        assert "script-src 'self';" in policy
        assert "'unsafe-inline'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["Referrer-Policy"] == "no-referrer"  # the code is in the URL
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert (
        _get(f"{portal.base_url}/js/app.js").headers["Content-Type"].startswith("text/javascript")
    )
    page = _get(f"{portal.base_url}/?code=abc&state=def")  # the page the IdP sends back to
    assert page.data == (PORTAL_DIR / "index.html").read_bytes()
    head = _get(f"{portal.base_url}/portal.css", "HEAD")
    assert head.status == 200
    assert head.data == b""


@pytest.mark.parametrize(
    "path",
    [
        "/../local/portal.py",
        "/%2e%2e/cdk.json",
        "/js/../../cdk.json",
        "/js/%2e%2e/%2e%2e/cdk.json",
        "//etc/passwd",
        "/README.md",
        "/js/app.js.map",
        "/a/b/c.js",
        "/.env",
        "/missing.js",
    ],
)
def test_nothing_outside_the_portals_files_is_served(portal: PortalServer, path: str) -> None:
    answer = _get(portal.base_url + path)
    assert answer.status == 404
    assert answer.data == b"not found\n"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE", "FOO"])
def test_only_get_and_head_are_answered_and_any_other_method_is_a_405(
    portal: PortalServer, method: str
) -> None:
    answer = HTTP.request(method, f"{portal.base_url}/", body=b"x", retries=False)
    assert answer.status == 405
    assert answer.headers["Allow"] == "GET, HEAD"


class _Discovery(BaseHTTPRequestHandler):
    """An identity provider's discovery document, as Cognito's reads: the token endpoint
    on the user pool's domain, not the issuer's host."""

    document = b""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/.well-known/openid-configuration" else 404)
        self.send_header("Content-Length", str(len(self.document)))
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {
                "token_endpoint": "https://pool.auth.eu-west-1.amazoncognito.com/oauth2/token",
                "userinfo_endpoint": "https://pool.auth.eu-west-1.amazoncognito.com/oauth2/userInfo",
            },
            ["https://pool.auth.eu-west-1.amazoncognito.com"],
        ),
        ({"token_endpoint": "SELF/token"}, []),  # the issuer's own origin: nothing to add
        ({"token_endpoint": "http://elsewhere.example/token"}, []),  # not https, not loopback
        ({"token_endpoint": 7}, []),
        ([], []),
    ],
)
def test_an_idps_token_endpoint_on_another_origin_is_one_the_page_may_call(
    document: object, expected: list[str]
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discovery)
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    _Discovery.document = json.dumps(document).replace("SELF", issuer).encode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert discovered_origins(issuer) == expected
    finally:
        server.shutdown()
        server.server_close()
    with PortalServer() as portal:
        portal.configure(gateway="http://127.0.0.1:3000", issuer=issuer, connect=expected)
        policy = _get(f"{portal.base_url}/").headers["Content-Security-Policy"]
        assert all(f" {origin}" in policy for origin in expected)
        assert "connect" not in _get(f"{portal.base_url}/config.json").json()


def test_an_idp_that_cannot_be_reached_adds_nothing() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), _Discovery) as closed:
        port = closed.server_address[1]
    assert discovered_origins(f"http://127.0.0.1:{port}", timeout_s=1) == []
