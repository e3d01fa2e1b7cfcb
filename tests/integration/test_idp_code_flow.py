"""The dev IdP's sign-in for browser apps (local/idp_code_flow.py), over real HTTP: the
authorization code flow with PKCE as RFC 6749 4.1, RFC 7636 and OIDC Core 3.1 define it,
each refusal where those documents put it, and the session it hands out being one the
gateway's authorizer accepts (the browser tests sign in through it: tests/browser)."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import urllib3

from local.idp import DevIdentityProvider
from local.idp_code_flow import CODE_LIFETIME_S, CodeFlow, PublicClient, s256

pytestmark = pytest.mark.integration

APP = "http://127.0.0.1:4012"
REDIRECT = f"{APP}/"
CLIENT = "opower-portal"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 Appendix B
CUSTOMERS = [
    {"utilityCode": "UTX", "utilityCustomerId": "UC-0001", "name": "Ada <Lovelace>",
     "accountNumbers": ["4100000001", "4100000002"]},
    {"utilityCode": "UTY", "utilityCustomerId": "UC-2002", "name": "Hedy Lamarr",
     "accountNumbers": ["5200000002"]},
]  # fmt: skip


@pytest.fixture(scope="module")
def provider() -> Iterator[DevIdentityProvider]:
    """One provider (its keys take a while to make), its registration as `make dev`'s."""
    with DevIdentityProvider(designated_claim="opowerPilot", algorithm="ES256") as started:
        started.register_client(CLIENT, [REDIRECT, "http://localhost:4012/"], name="Portal")
        yield started


@pytest.fixture
def idp(provider: DevIdentityProvider) -> DevIdentityProvider:
    provider.set_directory(CUSTOMERS)
    return provider


HTTP = urllib3.PoolManager()


def _get(url: str, **headers: str) -> urllib3.BaseHTTPResponse:
    return HTTP.request("GET", url, headers=headers, redirect=False, retries=False)


def _post(url: str, form: dict[str, str], **headers: str) -> urllib3.BaseHTTPResponse:
    return HTTP.request(
        "POST",
        url,
        body=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        redirect=False,
        retries=False,
    )


def _authorize_params(**changes: str | None) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "openid profile",
        "state": "state-1",
        "nonce": "nonce-1",
        "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256",
        **changes,
    }
    return {k: v for k, v in params.items() if v is not None}


def _request_id(page: bytes) -> str:
    found = re.search(rb'name="request" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1).decode()


def _code(idp: DevIdentityProvider, customer: str = "UTX UC-0001", **form: str) -> str:
    page = _get(f"{idp.base_url}/authorize?{urlencode(_authorize_params())}")
    assert page.status == 200
    answer = _post(
        f"{idp.base_url}/authorize",
        {
            "request": _request_id(page.data),
            "customer": customer,
            "action": "allow",
            "designated": "true",
            **form,
        },
    )
    assert answer.status == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["state-1"]
    return query["code"][0]


def _redeem(idp: DevIdentityProvider, issued: str, **changes: str) -> urllib3.BaseHTTPResponse:
    form = {
        "grant_type": "authorization_code",
        "code": issued,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT,
        "code_verifier": VERIFIER,
        **changes,
    }
    return _post(f"{idp.base_url}/token", form, Origin=APP)


def test_pkce_s256_is_rfc_7636s_own_example() -> None:
    assert s256(VERIFIER) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    digest = hashlib.sha256(VERIFIER.encode()).digest()
    assert s256(VERIFIER) == base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_discovery_lists_the_code_flows_endpoints_for_the_apps_origin(
    idp: DevIdentityProvider,
) -> None:
    answer = _get(f"{idp.base_url}/.well-known/openid-configuration", Origin=APP)
    document = answer.json()
    assert document["authorization_endpoint"] == f"{idp.base_url}/authorize"
    assert document["token_endpoint"] == f"{idp.base_url}/token"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["response_types_supported"] == ["code"]
    assert document["token_endpoint_auth_methods_supported"] == ["none"]
    assert answer.headers["Access-Control-Allow-Origin"] == APP
    # another origin gets no CORS answer: its script cannot read the provider's answers
    stranger = _get(f"{idp.base_url}/.well-known/openid-configuration", Origin="http://evil.test")
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_a_sign_in_gives_a_session_the_gateway_reads_and_an_id_token_for_the_app(
    idp: DevIdentityProvider,
) -> None:
    answer = _redeem(idp, _code(idp))
    assert answer.status == 200, answer.data
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Access-Control-Allow-Origin"] == APP
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == "openid profile"
    _, key, _ = idp.signing_key("ES256")
    session = jwt.decode(
        tokens["access_token"], key.public_key(), algorithms=["ES256"], audience=idp.audience
    )
    assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "ES256"
    assert session["utilityCustomerId"] == "UC-0001"
    assert session["accountNumbers"] == ["4100000001", "4100000002"]
    assert session["utilityCode"] == "UTX"
    assert session["opowerPilot"] is True
    assert session["exp"] - session["iat"] == 3600
    identity = jwt.decode(
        tokens["id_token"], key.public_key(), algorithms=["ES256"], audience=CLIENT
    )
    assert identity["nonce"] == "nonce-1"
    assert identity["name"] == "Ada <Lovelace>"
    assert identity["iss"] == idp.issuer
    # the leak check knows both
    assert {tokens["access_token"], tokens["id_token"]} <= set(idp.secret_values())


def test_the_page_offers_each_customer_escaped_and_the_designated_choice(
    idp: DevIdentityProvider,
) -> None:
    page = _get(f"{idp.base_url}/authorize?{urlencode(_authorize_params())}")
    text = page.data.decode()
    assert page.headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "Ada &lt;Lovelace&gt;" in text
    assert "<Lovelace>" not in text
    assert 'value="UTY UC-2002"' in text
    assert 'name="designated" value="true" checked' in text
    # left unchecked: the session says the customer is not on the list
    code = _code(idp)
    page = _get(f"{idp.base_url}/authorize?{urlencode(_authorize_params())}")
    declined = _post(
        f"{idp.base_url}/authorize",
        {"request": _request_id(page.data), "customer": "UTY UC-2002", "action": "allow"},
    )
    other = parse_qs(urlsplit(declined.headers["Location"]).query)["code"][0]
    _, key, _ = idp.signing_key("ES256")
    claims = [
        jwt.decode(_redeem(idp, c).json()["access_token"], key.public_key(), ["ES256"],
                   audience=idp.audience)
        for c in (code, other)
    ]  # fmt: skip
    assert [c["opowerPilot"] for c in claims] == [True, False]
    assert claims[1]["utilityCode"] == "UTY"


def test_without_sample_customers_the_page_asks_for_the_ids(idp: DevIdentityProvider) -> None:
    idp.set_directory([])
    page = _get(f"{idp.base_url}/authorize?{urlencode(_authorize_params())}")
    assert 'name="accountNumbers"' in page.data.decode()
    code = _code(
        idp, customer="", utilityCode="ABC", utilityCustomerId="C-77",
        accountNumbers="900001, 900002", designated="true",
    )  # fmt: skip
    tokens = _redeem(idp, code).json()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert (claims["utilityCode"], claims["utilityCustomerId"]) == ("ABC", "C-77")
    assert claims["accountNumbers"] == ["900001", "900002"]


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"client_id": "someone-else"}, "No app is registered"),
        ({"client_id": None}, "No app is registered"),
        ({"redirect_uri": "http://127.0.0.1:4012/callback"}, "registered redirect URIs"),
        ({"redirect_uri": "https://evil.test/"}, "registered redirect URIs"),
        ({"redirect_uri": None}, "No redirect_uri"),
    ],
)
def test_an_unknown_app_or_redirect_is_answered_on_the_page_never_redirected(
    idp: DevIdentityProvider, changes: dict[str, Any], text: str
) -> None:
    """RFC 6749 4.1.2.1: "the authorization server ... MUST NOT automatically redirect the
    user-agent to the invalid redirection URI"."""
    answer = _get(f"{idp.base_url}/authorize?{urlencode(_authorize_params(**changes))}")
    assert answer.status == 400
    assert "Location" not in answer.headers
    assert text in answer.data.decode()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"nonce": "\x7fbad"}, "invalid_request"),
    ],
)
def test_a_bad_request_from_a_known_app_goes_back_to_it_with_the_error(
    idp: DevIdentityProvider, changes: dict[str, Any], error: str
) -> None:
    answer = _get(f"{idp.base_url}/authorize?{urlencode(_authorize_params(**changes))}")
    assert answer.status == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["error"] == [error]
    assert query["error_description"][0]
    assert "code" not in query


def test_cancel_goes_back_as_access_denied(idp: DevIdentityProvider) -> None:
    page = _get(f"{idp.base_url}/authorize?{urlencode(_authorize_params())}")
    answer = _post(
        f"{idp.base_url}/authorize", {"request": _request_id(page.data), "action": "cancel"}
    )
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["state-1"]


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"code_verifier": "x" * 43}, 400, "invalid_grant"),
        ({"code_verifier": "too-short"}, 400, "invalid_grant"),
        ({"code_verifier": ""}, 400, "invalid_request"),
        ({"redirect_uri": "http://localhost:4012/"}, 400, "invalid_grant"),
        ({"code": "not-a-code"}, 400, "invalid_grant"),
        ({"client_id": "someone-else"}, 400, "invalid_client"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
    ],
)
def test_the_token_endpoint_refuses_as_rfc_6749_5_2_says(
    idp: DevIdentityProvider, changes: dict[str, str], status: int, error: str
) -> None:
    answer = _redeem(idp, _code(idp), **changes)
    assert answer.status == status
    assert answer.json()["error"] == error
    assert "access_token" not in answer.json()


def test_a_code_is_used_once_even_when_the_first_try_is_wrong(idp: DevIdentityProvider) -> None:
    code = _code(idp)
    assert _redeem(idp, code).status == 200
    assert _redeem(idp, code).json()["error"] == "invalid_grant"
    # a wrong verifier spends the code too: no guessing the verifier against one code
    guessed = _code(idp)
    assert _redeem(idp, guessed, code_verifier="y" * 43).status == 400
    assert _redeem(idp, guessed).json()["error"] == "invalid_grant"


def test_a_code_and_a_sign_in_page_expire() -> None:
    now = [1_000.0]
    flow = CodeFlow(clock=lambda: now[0])
    flow.register(PublicClient(CLIENT, (REDIRECT,)))
    page = flow.authorize(urlencode(_authorize_params()), "http://idp")
    request = _request_id(page.body)
    reply = flow.decide(urlencode({"request": request, "customer": "UTX UC-0001"}).encode())
    code = parse_qs(urlsplit(dict(reply.headers)["Location"]).query)["code"][0]
    now[0] += CODE_LIFETIME_S + 1
    with pytest.raises(Exception, match="unknown, used or expired"):
        flow.redeem(
            urlencode({"grant_type": "authorization_code", "code": code, "client_id": CLIENT,
                       "redirect_uri": REDIRECT, "code_verifier": VERIFIER}).encode()
        )  # fmt: skip
    # the page itself lasts ten minutes
    page = flow.authorize(urlencode(_authorize_params()), "http://idp")
    now[0] += 601
    late = flow.decide(urlencode({"request": _request_id(page.body), "customer": "a b"}).encode())
    assert late.status == 400
    assert b"no longer valid" in late.body


def test_a_repeated_parameter_counts_as_absent(idp: DevIdentityProvider) -> None:
    """RFC 6749 3.1: parameters "MUST NOT be included more than once"."""
    query = urlencode(_authorize_params()) + f"&redirect_uri={REDIRECT}"
    assert _get(f"{idp.base_url}/authorize?{query}").status == 400


def test_the_apps_preflight_is_answered_for_userinfo(idp: DevIdentityProvider) -> None:
    answer = HTTP.request(
        "OPTIONS",
        f"{idp.base_url}/userinfo",
        headers={"Origin": APP, "Access-Control-Request-Headers": "authorization"},
        retries=False,
    )
    assert answer.status == 204
    assert answer.headers["Access-Control-Allow-Origin"] == APP
    assert "authorization" in answer.headers["Access-Control-Allow-Headers"]
    stranger = HTTP.request(
        "OPTIONS", f"{idp.base_url}/userinfo", headers={"Origin": "http://evil.test"}
    )
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_a_state_the_app_could_not_have_sent_is_not_echoed(idp: DevIdentityProvider) -> None:
    params = _authorize_params(state="\x7f<script>", code_challenge_method="plain")
    answer = _get(f"{idp.base_url}/authorize?{urlencode(params)}")
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["invalid_request"]
    assert "state" not in query


def test_the_pick_is_taken_from_the_sign_in_page_only(idp: DevIdentityProvider) -> None:
    """A form another site posts (its Origin is not the provider's) signs nobody in, and
    the sign-in it named stays usable; so does one that forgot the customer."""
    page = _get(f"{idp.base_url}/authorize?{urlencode(_authorize_params())}")
    request = _request_id(page.data)
    pick = {"request": request, "customer": "UTX UC-0001", "action": "allow"}
    forged = _post(f"{idp.base_url}/authorize", pick, Origin="https://evil.test")
    assert forged.status == 403
    assert "Location" not in forged.headers
    empty = _post(f"{idp.base_url}/authorize", {**pick, "customer": ""}, Origin=idp.base_url)
    assert empty.status == 400
    taken = _post(f"{idp.base_url}/authorize", pick, Origin=idp.base_url)
    assert taken.status == 302
    assert "code=" in taken.headers["Location"]


def test_cors_is_for_what_the_apps_script_reads_never_the_sign_in_page(
    idp: DevIdentityProvider,
) -> None:
    page = _get(f"{idp.base_url}/authorize?{urlencode(_authorize_params())}", Origin=APP)
    assert "Access-Control-Allow-Origin" not in page.headers
    introspect = _post(f"{idp.base_url}/introspect", {"token": "x"}, Origin=APP)
    assert "Access-Control-Allow-Origin" not in introspect.headers
    keys = _get(f"{idp.base_url}/jwks.json", Origin=APP)
    assert keys.headers["Access-Control-Allow-Origin"] == APP


def test_the_id_token_names_the_customer_only_when_profile_is_asked(
    idp: DevIdentityProvider,
) -> None:
    page = _get(f"{idp.base_url}/authorize?{urlencode(_authorize_params(scope='openid'))}")
    answer = _post(
        f"{idp.base_url}/authorize",
        {"request": _request_id(page.data), "customer": "UTX UC-0001", "action": "allow"},
    )
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    tokens = _redeem(idp, code).json()
    identity = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert "name" not in identity
    assert identity["auth_time"] <= identity["iat"]
    assert _redeem(idp, _code(idp)).headers["Pragma"] == "no-cache"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "FOO"])
def test_any_other_method_is_a_405_never_a_server_error(
    idp: DevIdentityProvider, method: str
) -> None:
    answer = HTTP.request(method, f"{idp.base_url}/token", body=b"x", retries=False)
    assert answer.status == 405
    assert answer.headers["Allow"] == "GET, POST, OPTIONS"


@pytest.mark.parametrize(
    ("length", "status"), [("abc", 400), ("-1", 400), ("1e3", 400), (str(10**9), 413)]
)
def test_a_body_length_it_cannot_read_or_will_not_is_refused(
    idp: DevIdentityProvider, length: str, status: int
) -> None:
    """A hostile Content-Length is a 4xx, not a crash of the request's thread (nor a read
    of a gigabyte)."""
    host, port = urlsplit(idp.base_url).netloc.split(":")
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(
            f"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode()
        )
        connection.settimeout(5)
        head = connection.recv(4096).decode()
    assert head.startswith(f"HTTP/1.1 {status} ")


def test_hostile_forms_and_queries_get_answers_not_errors(idp: DevIdentityProvider) -> None:
    for query in ("%ff%fe=%00", "client_id=" + "a" * 20_000, "&&&==", "client_id=%E2%80%AE"):
        assert _get(f"{idp.base_url}/authorize?{query}").status == 400
    for body in (b"\xff\xfe\x00", b"grant_type=" + b"%" * 1000, b"code=a&code=b"):
        answer = HTTP.request(
            "POST", f"{idp.base_url}/token", body=body, retries=False,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert answer.status == 400
        assert answer.json()["error"] in {"unsupported_grant_type", "invalid_client"}
    assert _post(f"{idp.base_url}/authorize", {"request": "\x00" * 50}).status == 400
