"""The dev IdP's sign-in for browser apps: OpenID Connect's authorization code flow with
PKCE (RFC 6749 section 4.1, RFC 7636 with S256 only, OIDC Core 3.1), for public clients
(an app in a browser holds no secret).

* ``GET /authorize``: checks the request as RFC 6749 4.1.2.1 says (an unknown client or a
  redirect URI not registered exactly is answered here, never redirected to; anything
  else wrong goes back to the app as ``error``), then shows a page to pick a sample
  customer, since the dev IdP has no passwords.
* ``POST /authorize``: the pick; redirects to the app with a one-time ``code`` (60 s).
* ``POST /token``: the code, the same ``redirect_uri`` and the PKCE ``code_verifier`` for
  the session the gateway accepts (``access_token``) and an ``id_token`` for the app.

What is checked, and how each refusal reads, is this module's; the tokens are the
provider's (local/idp.py mints them as it does for `make token`).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CODE_LIFETIME_S = 60  # RFC 6749 4.1.2: "a maximum authorization code lifetime of 10 minutes"
PENDING_LIFETIME_S = 600  # a sign-in page left open this long must start again
# RFC 7636 4.1: 43-128 characters of the unreserved set; S256's challenge is 43.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
_STATE_OR_NONCE = re.compile(r"[\x21-\x7e]{1,512}")


@dataclass(frozen=True)
class PublicClient:
    """An app registered for the code flow: its id and the exact redirect URIs."""

    client_id: str
    redirect_uris: tuple[str, ...]
    name: str = ""

    @property
    def origins(self) -> frozenset[str]:
        """The origins its pages are served from: the ones the IdP answers CORS for."""
        return frozenset(_origin(uri) for uri in self.redirect_uris)


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Reply:
    """An answer other than JSON: a page or a redirect."""

    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Request:
    client: PublicClient
    redirect_uri: str
    state: str
    nonce: str
    challenge: str
    scope: str
    created: float


@dataclass(frozen=True)
class Grant:
    """What a code stands for: who signed in, for which app, under which challenge."""

    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    scope: str
    utility_code: str
    utility_customer_id: str
    designated: bool
    expires: float
    account_numbers: tuple[str, ...] = ()  # as typed, where the page asked for them
    authenticated: float = 0.0  # when the customer signed in (the ID token's auth_time)


class AuthorizationError(Exception):
    """A refusal of the token endpoint (RFC 6749 5.2): ``error`` and its description."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class CodeFlow:
    """The provider's registered apps, the sign-ins under way and the codes not yet used.

    ``directory`` lists whom the picker offers (the sandbox's sample customers: each a
    mapping with utilityCode, utilityCustomerId, name, accountNumbers); with none (a real
    Opower's customers are the utility's), the page asks for the ids instead.
    ``designated_claim``: the gateway reads one, so the page offers to leave it false."""

    directory: Callable[[], Sequence[Mapping[str, Any]]] = lambda: ()
    designated_claim: str = ""
    clock: Callable[[], float] = time.time
    clients: dict[str, PublicClient] = field(default_factory=dict)
    _pending: dict[str, _Request] = field(default_factory=dict)
    _codes: dict[str, Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, client: PublicClient) -> None:
        with self._lock:
            self.clients[client.client_id] = client

    def allowed_origins(self) -> frozenset[str]:
        with self._lock:
            return frozenset(o for c in self.clients.values() for o in c.origins)

    # -- GET /authorize ------------------------------------------------------------------
    def authorize(self, query: str, issuer: str) -> Reply:
        params = _single(parse_qs(query, keep_blank_values=True))
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            return _page(400, "Unknown app", "No app is registered with this client_id.")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            return _page(
                400,
                "Redirect not registered",
                f"{redirect_uri or 'No redirect_uri'} is not one of {client.client_id}'s "
                f"registered redirect URIs: {', '.join(client.redirect_uris)}.",
            )
        state = params.get("state", "")
        if not _STATE_OR_NONCE.fullmatch(state):
            state = ""  # not echoed back: only a state the app could have sent
        error = _request_error(params)
        if error is not None:
            return _redirect(
                redirect_uri, {"error": error[0], "error_description": error[1]}, state
            )
        request_id = secrets.token_urlsafe(16)
        now = self.clock()
        with self._lock:
            self._expire(now)
            self._pending[request_id] = _Request(
                client=client,
                redirect_uri=redirect_uri,
                state=state,
                nonce=params.get("nonce", ""),
                challenge=params["code_challenge"],
                scope=params.get("scope", ""),
                created=now,
            )
        return self._picker(request_id, client, issuer)

    # -- POST /authorize -----------------------------------------------------------------
    def decide(self, body: bytes, origin: str = "", own_origin: str = "") -> Reply:
        """The customer's pick on the page. Only from the page itself: a browser sends
        the form's Origin, and one of another site (a forged submission) is refused. What
        is missing from the form is said before the sign-in is spent."""
        if origin and own_origin and origin != own_origin:
            return _page(403, "Not from this page", "Sign in from the sign-in page itself.")
        form = _single(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        company, _, customer = form.get("customer", "").partition(" ")
        if not company or not customer:
            company, customer = form.get("utilityCode", ""), form.get("utilityCustomerId", "")
        allow = form.get("action") != "cancel"
        if allow and (not company.strip() or not customer.strip()):
            return _page(400, "No customer chosen", "Go back and choose a customer.")
        now = self.clock()
        with self._lock:
            self._expire(now)
            request = self._pending.pop(form.get("request", ""), None)
        if request is None:
            return _page(
                400,
                "Sign-in expired",
                "This sign-in page is no longer valid (it is used once, for 10 minutes). "
                "Go back to the app and sign in again.",
            )
        if not allow:
            return _redirect(
                request.redirect_uri,
                {"error": "access_denied", "error_description": "the customer cancelled"},
                request.state,
            )
        typed = tuple(n.strip() for n in form.get("accountNumbers", "").split(",") if n.strip())
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = Grant(
                client_id=request.client.client_id,
                redirect_uri=request.redirect_uri,
                challenge=request.challenge,
                nonce=request.nonce,
                scope=request.scope,
                utility_code=company.strip(),
                utility_customer_id=customer.strip(),
                designated=form.get("designated", "") == "true" or not self.designated_claim,
                expires=now + CODE_LIFETIME_S,
                account_numbers=typed,
                authenticated=now,
            )
        return _redirect(request.redirect_uri, {"code": code}, request.state)

    # -- POST /token ---------------------------------------------------------------------
    def redeem(self, body: bytes) -> Grant:
        """The grant a token request redeems (once), or AuthorizationError."""
        form = _single(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "authorization_code":
            raise AuthorizationError(
                "unsupported_grant_type", "grant_type must be authorization_code"
            )
        client_id = form.get("client_id", "")
        if client_id not in self.clients:
            # 400, not 401: a public client sends no credentials to challenge (RFC 6749 5.2)
            raise AuthorizationError("invalid_client", "unknown client_id")
        with self._lock:
            self._expire(self.clock())
            grant = self._codes.pop(form.get("code", ""), None)  # used once, right or wrong
        if grant is None:
            raise AuthorizationError("invalid_grant", "the code is unknown, used or expired")
        if grant.client_id != client_id:
            raise AuthorizationError("invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri", "") != grant.redirect_uri:
            raise AuthorizationError(
                "invalid_grant", "redirect_uri differs from the authorization request's"
            )
        verifier = form.get("code_verifier", "")
        if not verifier:
            raise AuthorizationError("invalid_request", "code_verifier is required (PKCE)")
        if not _VERIFIER.fullmatch(verifier):
            raise AuthorizationError(
                "invalid_grant", "code_verifier must be 43-128 unreserved characters (RFC 7636)"
            )
        if not secrets.compare_digest(s256(verifier), grant.challenge):
            raise AuthorizationError("invalid_grant", "code_verifier does not match the challenge")
        return grant

    def secret_values(self) -> list[str]:
        with self._lock:
            return list(self._codes)

    def _expire(self, now: float) -> None:
        for request_id in [
            k for k, r in self._pending.items() if r.created + PENDING_LIFETIME_S < now
        ]:
            del self._pending[request_id]
        for code in [k for k, g in self._codes.items() if g.expires < now]:
            del self._codes[code]

    # -- the page ------------------------------------------------------------------------
    def _picker(self, request_id: str, client: PublicClient, issuer: str) -> Reply:
        customers = list(self.directory())
        app = html.escape(client.name or client.client_id)
        if customers:
            choices = "\n".join(
                f'<li><label><input type="radio" name="customer" required '
                f'value="{html.escape(c["utilityCode"])} {html.escape(c["utilityCustomerId"])}"'
                f"{' checked' if i == 0 else ''}> <strong>{html.escape(str(c.get('name', '')))}"
                f"</strong> {html.escape(c['utilityCustomerId'])} ({html.escape(c['utilityCode'])})"
                f"<span>accounts {html.escape(', '.join(c.get('accountNumbers', [])))}</span>"
                "</label></li>"
                for i, c in enumerate(customers)
            )
            who = (
                f"<fieldset><legend>Sign in as a sample customer</legend><ul>{choices}</ul>"
                "</fieldset>"
            )
        else:
            who = (
                "<fieldset><legend>Sign in as the utility's customer</legend>"
                '<label>Utility code <input name="utilityCode" required '
                'autocomplete="off"></label>'
                '<label>Utility customer id <input name="utilityCustomerId" required '
                'autocomplete="off"></label>'
                '<label>Utility account numbers (comma-separated) <input name="accountNumbers" '
                'required autocomplete="off"></label></fieldset>'
            )
        designated = (
            '<label class="check"><input type="checkbox" name="designated" value="true" checked> '
            f"On the utility's designated list (<code>{html.escape(self.designated_claim)}"
            "</code>: true)</label>"
            if self.designated_claim
            else ""
        )
        body = f"""<main>
<h1>Development identity provider</h1>
<p><strong>{app}</strong> asks you to sign in. This provider has no passwords: it is
<code>make dev</code>'s stand-in for the utility's ({html.escape(issuer)}).</p>
<form method="post" action="/authorize">
<input type="hidden" name="request" value="{html.escape(request_id)}">
{who}
{designated}
<p class="actions"><button type="submit" name="action" value="allow">Sign in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button></p>
</form>
</main>"""
        return _page(200, "Sign in", body, raw=True)


def s256(verifier: str) -> str:
    """RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _request_error(params: Mapping[str, str]) -> tuple[str, str] | None:
    """What is wrong with an authorization request from a known app, as RFC 6749 4.1.2.1
    and RFC 7636 4.4.1 name it, or None."""
    if params.get("response_type") != "code":
        return "unsupported_response_type", "response_type must be code"
    if "openid" not in params.get("scope", "").split():
        return "invalid_scope", "scope must include openid"
    if params.get("code_challenge_method") != "S256":
        return "invalid_request", "PKCE is required, with code_challenge_method S256"
    if not _CHALLENGE.fullmatch(params.get("code_challenge", "")):
        return (
            "invalid_request",
            "code_challenge must be BASE64URL(SHA256(verifier)), 43 characters",
        )
    for name in ("state", "nonce"):
        if name in params and not _STATE_OR_NONCE.fullmatch(params[name]):
            return "invalid_request", f"{name} must be 1-512 printable characters"
    return None


def _single(params: dict[str, list[str]]) -> dict[str, str]:
    """Each parameter's value; one given twice counts as absent (RFC 6749 3.1: "MUST NOT
    be included more than once")."""
    return {k: v[0] for k, v in params.items() if len(v) == 1}


def _redirect(uri: str, params: Mapping[str, str], state: str) -> Reply:
    query = dict(params)
    if state:
        query["state"] = state
    separator = "&" if urlsplit(uri).query else "?"
    return Reply(302, headers=(("Location", f"{uri}{separator}{urlencode(query)}"),))


_STYLE = """body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1b2733}
main{max-width:34rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px}
ul{list-style:none;padding:0}li{margin:.4rem 0}li span{display:block;color:#4a5a6a;
margin-left:1.6rem;font-size:.9rem}fieldset{border:1px solid #c8d0d8;border-radius:6px}
label{display:block}button{font:inherit;padding:.5rem 1rem;margin-right:.5rem}
:focus-visible{outline:3px solid #1565c0;outline-offset:2px}"""


def _page(status: int, title: str, body: str, *, raw: bool = False) -> Reply:
    content = (
        body if raw else f"<main><h1>{html.escape(title)}</h1><p>{html.escape(body)}</p></main>"
    )
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · dev identity provider</title>"
        f"<style>{_STYLE}</style></head><body>{content}</body></html>"
    )
    return Reply(
        status,
        document.encode(),
        headers=(
            # The page's own style only; it is never framed (a picker in a frame would be
            # a click away from a sign-in the customer did not mean). No form-action: Chrome
            # applies it to the redirect back to the app too.
            ("Content-Security-Policy",
             "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
             "base-uri 'none'"),
            ("X-Frame-Options", "DENY"),
            # same-origin: the form's POST carries the page's Origin (no-referrer would send
            # "null"), and the app it returns to gets no referrer
            ("Referrer-Policy", "same-origin"),
        ),
    )  # fmt: skip
