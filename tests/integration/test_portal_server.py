"""`make dev`'s host of the customer portal (local/portal.py): the files of portal/ and
nothing else, the headers a utility's host should send with them, and the one file a
deployment writes itself, config.json (docs/portal.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import urllib3

from local.portal import PORTAL_DIR, PortalServer

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
