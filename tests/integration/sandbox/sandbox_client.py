"""A thin HTTP client for the sandbox tests: real requests over 127.0.0.1, no retries."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import urllib3

from local.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, UTILITY_CODE

TOKEN_PATH = "authorization-v1/oauth2/token"
FORM = "application/x-www-form-urlencoded"
U = UTILITY_CODE


def basic(client_id: str = DEFAULT_CLIENT_ID, secret: str = DEFAULT_CLIENT_SECRET) -> str:
    """An `Authorization: Basic` value for the given credentials."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class SandboxClient:
    """Requests against one running sandbox; `retries=False` so faults are seen as they are."""

    base_url: str
    pool: urllib3.PoolManager = field(
        default_factory=lambda: urllib3.PoolManager(retries=False, timeout=5.0, maxsize=32)
    )

    def request(
        self,
        method: str,
        url_path: str,
        *,
        token: str | None = None,
        json_body: object = None,
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
        timeout: float = 5.0,
    ) -> urllib3.BaseHTTPResponse:
        """One request to `base_url + url_path`."""
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        return self.pool.request(
            method, self.base_url + url_path, body=body, headers=all_headers, timeout=timeout
        )

    def api(self, method: str, path: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        """A request below /apis/."""
        return self.request(method, "/apis/" + path, **kwargs)

    def token_request(
        self,
        *,
        authorization: str | None = None,
        body: str = "grant_type=client_credentials",
        content_type: str | None = FORM,
        method: str = "POST",
        timeout: float = 5.0,
    ) -> urllib3.BaseHTTPResponse:
        """A token request, with valid defaults for every part."""
        headers = {"Authorization": authorization or basic()}
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.api(method, TOKEN_PATH, headers=headers, body=body, timeout=timeout)

    def token(self, secret: str = DEFAULT_CLIENT_SECRET) -> str:
        """A fresh access token (asserts the token request succeeded)."""
        response = self.token_request(authorization=basic(secret=secret))
        assert response.status == 200, response.data
        token: str = response.json()["access_token"]
        return token

    def get(self, path: str, token: str, **fields: str) -> urllib3.BaseHTTPResponse:
        """An authorized GET below /apis/ with query fields."""
        query = urlencode(fields) if fields else ""
        return self.api("GET", path + ("?" + query if query else ""), token=token)

    def control(self, method: str, name: str, json_body: object = None) -> urllib3.BaseHTTPResponse:
        """A control-plane request to /_sandbox/<name>."""
        return self.request(method, "/_sandbox/" + name, json_body=json_body)


def opower_response(body: Any) -> Any:
    """What a successful answer holds under `response`, after checking that it has the
    `{"response": ...}` wrapper of Oracle's pages (a root `failureExplanation` aside, as
    Get Bill Comparison documents it)."""
    assert isinstance(body, dict), body
    assert set(body) - {"failureExplanation"} == {"response"}, body
    return body["response"]
