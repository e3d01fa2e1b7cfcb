"""Which identity provider `make dev` trusts (issue #26), without starting it: the choice
made from GATEWAY_CONFIG, INTROSPECTION_CREDENTIALS, what the banner and `make token` say,
and where the dev IdP writes the ids it signs."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import jwt
import pytest

from local.dev import BANNER_END, StartupError, banner, introspection_client, tier_banner
from local.idp import DevIdentityProvider
from local.stack import DEV_SERVER_ORIGINS, IdentityConfigError, TrustedIdp
from local.token import main, write_running

ISSUER = "https://login.utility.example/oauth2/default"
JWKS = "https://login.utility.example/oauth2/default/v1/keys"
INTROSPECT = "https://login.utility.example/oauth2/v1/introspect"
GATEWAY = "http://127.0.0.1:3000"
DEV_ISSUER = "http://127.0.0.1:4011"  # the dev IdP's, given: these tests start no server

# -- the choice ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, TrustedIdp()),
        ({"proxy_timeout_s": 8, "auth_audience": ["web", "mobile"]}, TrustedIdp()),
        ({"claim_account_numbers": "/opower/accountNumbers"}, TrustedIdp()),
        ({"auth_mode": "jwt", "auth_token_type": "at+jwt"}, TrustedIdp()),
        ({"auth_issuer": ISSUER, "auth_jwks_url": JWKS}, TrustedIdp(own=True)),
        (
            {"auth_issuer": ISSUER, "auth_jwks_url": JWKS, "auth_claims_from": "cognito"},
            TrustedIdp(own=True),
        ),
        (
            {"auth_mode": "introspection", "auth_introspection_url": INTROSPECT},
            TrustedIdp(own=True, introspection=True),
        ),
    ],
    ids=["nothing", "other-settings", "claim-pointer", "checks-only", "own-jwt",
         "own-cognito", "own-introspection"],
)  # fmt: skip
def test_an_idp_named_in_gateway_config_is_trusted_else_the_dev_idp(
    overrides: dict[str, Any], expected: TrustedIdp
) -> None:
    assert TrustedIdp.from_overrides(overrides) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"auth_issuer": ISSUER}, 'but not auth_jwks_url: add "auth_jwks_url"'),
        ({"auth_jwks_url": JWKS}, 'but not auth_issuer: add "auth_issuer"'),
        ({"auth_introspection_url": INTROSPECT}, 'used with "auth_mode": "introspection"'),
        ({"auth_mode": "introspection"}, "but not auth_introspection_url"),
        ({"auth_claims_from": "cognito"}, "name your pool's auth_issuer and auth_jwks_url"),
    ],
    ids=["issuer-only", "jwks-only", "introspection-url-only", "introspection-mode-only",
         "cognito-with-dev-idp"],
)  # fmt: skip
def test_an_idp_named_incompletely_is_refused_naming_what_to_add(
    overrides: dict[str, Any], expected: str
) -> None:
    with pytest.raises(IdentityConfigError) as refused:
        TrustedIdp.from_overrides(overrides)

    assert expected in str(refused.value)
    assert "\n" not in str(refused.value)


def test_your_introspection_client_is_read_from_the_file_named(tmp_path: Path) -> None:
    file = tmp_path / "introspection.json"
    file.write_text(json.dumps({"client_id": "gateway", "client_secret": "s3cr3t-value-1a2b"}))

    client = introspection_client(TrustedIdp(own=True, introspection=True), str(file))

    assert client is not None
    assert (client.client_id, client.client_secret) == ("gateway", "s3cr3t-value-1a2b")


@pytest.mark.parametrize(
    ("trusted", "raw", "expected"),
    [
        (TrustedIdp(own=True, introspection=True), "", "pass INTROSPECTION_CREDENTIALS=<file>"),
        (TrustedIdp(), "creds.json", "INTROSPECTION_CREDENTIALS is for your IdP's introspection"),
        (TrustedIdp(own=True), "creds.json", "INTROSPECTION_CREDENTIALS is for your IdP's"),
        (
            TrustedIdp(own=True, introspection=True),
            "missing.json",
            "INTROSPECTION_CREDENTIALS=missing.json: cannot read it",
        ),
    ],
    ids=["no-file", "dev-idp", "own-jwt", "unreadable"],
)
def test_introspection_credentials_only_with_your_introspection_endpoint(
    trusted: TrustedIdp, raw: str, expected: str
) -> None:
    with pytest.raises(StartupError) as refused:
        introspection_client(trusted, raw)

    assert expected in str(refused.value)


def test_a_file_without_a_secret_is_named_never_echoed(tmp_path: Path) -> None:
    file = tmp_path / "introspection.json"
    file.write_text(json.dumps({"client_id": "gateway-client-77", "client_secret": " "}))

    with pytest.raises(StartupError) as refused:
        introspection_client(TrustedIdp(own=True, introspection=True), str(file))

    assert str(refused.value) == (
        f'INTROSPECTION_CREDENTIALS={file} lacks "client_secret" (a non-empty string): add '
        "the one your IdP sent you"
    )


# -- what the banner says --------------------------------------------------------------------


def _summary(identity: dict[str, Any] | None, *, opower: bool = False) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "gateway": GATEWAY,
        "aws": "http://127.0.0.1:4566",
        "idp": "http://127.0.0.1:4011",
        "portal": "http://127.0.0.1:4012/",
        "portal_client_id": "opower-portal",
        "openapi": f"{GATEWAY}/v1/openapi.json",
        "opower_secret": "OpowerGateway/opower",
    }
    if opower:
        summary |= {
            "opower": {"url": "https://cxapi-stage.opower.com", "utility_code": "ABC"},
            "companies": ["ABC"],
            "customers": [],
        }
    else:
        summary |= {
            "sandbox": "http://127.0.0.1:4010",
            "companies": ["UTX", "UTY"],
            "customers": [
                {
                    "utilityCode": "UTX",
                    "utilityCustomerId": "UC-0001",
                    "name": "Ada Lovelace",
                    "accountNumbers": ["4100000001", "4100000002"],
                    "fuels": ["ELECTRICITY"],
                    "token": "eyJhbGciOiJSUzI1NiJ9.dev.session",
                }
            ],
        }
    if identity is not None:
        summary["identity"] = identity
    return summary


def _own(**changes: Any) -> dict[str, Any]:
    return {
        "issuer": ISSUER,
        "dev_idp_trusted": False,
        "mode": "jwt",
        "jwks_url": JWKS,
        "introspection_url": "",
        "audience": ["web", "mobile"],
        "claims_from": "token",
        "claims": {
            "utility_customer_id": "custom:utilityCustomerId",
            "account_numbers": "/opower/accountNumbers",
            "utility_code": "utilityCode",
        },
        **changes,
    }


def test_the_banner_trusting_your_idp_names_it_and_shows_no_dev_session() -> None:
    text = banner(_summary(_own()))

    assert (
        f"  Identity        your IdP {ISSUER} (JWKS {JWKS}); the dev IdP's tokens are refused"
        in text
    )
    assert "Bearer eyJ" not in text
    assert f'curl -s -H "Authorization: Bearer $TOKEN" {GATEWAY}/v1/me/accounts' in text
    assert "custom:utilityCustomerId, /opower/accountNumbers, utilityCode" in text
    assert "UC-0001  Ada Lovelace" in text


def test_the_banner_trusting_the_dev_idp_shows_one_request_to_try() -> None:
    for identity in (None, {"dev_idp_trusted": True, "claims_from": "token"}):
        text = banner(_summary(identity))

        assert "  Identity (dev)  http://127.0.0.1:4011/.well-known/openid-configuration" in text
        assert "  TOKEN=$(make -s token CUSTOMER=UC-0001)\n" in text
        assert f'  curl -s -H "Authorization: Bearer $TOKEN" {GATEWAY}/v1/me/accounts' in text
        # the session itself is make token's: no 1,000-character line
        assert "eyJhbGciOiJSUzI1NiJ9.dev.session" not in text


def test_the_banner_fits_an_80_by_24_terminal_with_every_sample_customer() -> None:
    summary = _summary(None)
    names = ["Grace Hopper", "Alan Turing", "Katherine Johnson", "Edsger Dijkstra"]
    summary["customers"] += [
        {**summary["customers"][0], "utilityCustomerId": f"UC-000{n}", "name": name}
        for n, name in enumerate(names, start=2)
    ]
    summary["customers"] += [
        {**summary["customers"][0], "utilityCode": "UTY", "name": "Nikola Tesla"},
        {**summary["customers"][0], "utilityCode": "UTY", "utilityCustomerId": "UC-2002"},
    ]
    summary["cors_allow_origins"] = list(DEV_SERVER_ORIGINS)

    lines = banner(summary).splitlines()

    assert len(lines) <= 24
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert lines[-1] == BANNER_END
    assert "  Browsers        http://localhost:5173 and 9 more origins (CORS)" in lines
    assert "  UTY UC-2002  Ada Lovelace       4100000001, 4100000002" in lines
    assert "  Portal          http://127.0.0.1:4012/  sign in as a sample customer" in lines


@pytest.mark.parametrize(
    ("own_idp", "client", "says"),
    [
        (False, "opower-portal", "sign in as a sample customer"),
        (True, "0oa1", "at your IdP"),
        (True, "", "PORTAL_CLIENT_ID"),
    ],
)
def test_the_banner_names_the_portal_and_where_its_customers_sign_in(
    own_idp: bool, client: str, says: str
) -> None:
    summary = _summary(_own() if own_idp else None) | {"portal_client_id": client}
    portal = next(line for line in banner(summary).splitlines() if "Portal" in line)
    assert portal.startswith("  Portal          http://127.0.0.1:4012/  ")
    assert says in portal


def test_the_banner_names_your_introspection_endpoint() -> None:
    text = banner(_summary(_own(mode="introspection", jwks_url="", introspection_url=INTROSPECT)))

    assert f"your IdP {ISSUER} (introspection {INTROSPECT}); the dev IdP's tokens are refused" in (
        text
    )


def test_the_banner_says_when_claims_are_fetched_from_aws_itself() -> None:
    cognito = "https://cognito-idp.us-east-1.amazonaws.com"
    identity = _own(claims_from="cognito", cognito_endpoint=cognito, cognito_is_aws=True)

    text = banner(_summary(identity))

    assert f"Claims          from Cognito's GetUser at {cognito}" in text
    assert "AWS itself, not the embedded AWS" in text


def test_the_real_opower_banner_trusting_your_idp_asks_for_your_token() -> None:
    text = tier_banner(_summary(_own(), opower=True))

    assert f"your IdP {ISSUER} (JWKS {JWKS}); the dev IdP's tokens are refused" in text
    assert "make -s token" not in text
    assert f'curl -s -H "Authorization: Bearer $TOKEN" {GATEWAY}/v1/me/accounts' in text
    assert "    custom:utilityCustomerId, /opower/accountNumbers\n(the dev IdP's" in text
    assert text.endswith(BANNER_END)


# -- what `make token` says ------------------------------------------------------------------


def _running(state_dir: Path, **identity: Any) -> None:
    write_running(
        state_dir,
        {
            "gateway": GATEWAY,
            "issuer": "http://127.0.0.1:4011",
            "audience": "opower-gateway",
            "customer_claim": "utilityCustomerId",
            "accounts_claim": "accountNumbers",
            "utility_code_claim": "utilityCode",
            "companies": ["UTX"],
            "customers": [_summary(None)["customers"][0]],
            "region": "us-east-1",
            **identity,
        },
    )


def test_make_token_warns_that_a_gateway_trusting_your_idp_refuses_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _running(tmp_path, dev_idp_trusted=False, trusted_issuer=ISSUER)
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))

    status = main(["UC-0001"])

    out, err = capsys.readouterr()
    assert status == 0
    assert jwt.decode(out.strip(), options={"verify_signature": False})["iss"] == (
        "http://127.0.0.1:4011"
    )
    assert err == (
        f"make token: the running gateway trusts {ISSUER}, not the dev IdP: it will refuse "
        "this token (GATEWAY_CONFIG named your IdP; use a token it issued)\n"
    )


@pytest.mark.parametrize("identity", [{}, {"dev_idp_trusted": True, "trusted_issuer": "x"}])
def test_make_token_says_nothing_more_when_the_dev_idp_is_trusted(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    identity: dict[str, Any],
) -> None:
    _running(tmp_path, **identity)  # {}: a running.json of before (no dev_idp_trusted)
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))

    status = main(["UC-0001"])

    out, err = capsys.readouterr()
    assert (status, err, out.count("\n")) == (0, "", 1)


@pytest.mark.parametrize(("terminal", "status"), [(True, 0), (False, 2)])
def test_make_token_without_a_customer_lists_them_and_fails_only_when_captured(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    terminal: bool,
    status: int,
) -> None:
    """At a terminal the list is the answer (no `make: *** Error 2`); in TOKEN=$(...) it
    goes to stderr and fails, so that a script never carries on with an empty token."""
    _running(tmp_path)
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdout.isatty", lambda: terminal)

    assert main([]) == status

    out, err = capsys.readouterr()
    listed = out if terminal else err
    assert "CUSTOMER=UC-0001" in listed
    assert (out if not terminal else err) == ""


@pytest.mark.parametrize(
    ("module", "command"),
    [("local.token", "make token"), ("local.opower_check", "make opower-check"),
     ("local.service_call", "make service-call")],
)  # fmt: skip
def test_each_command_without_a_running_gateway_says_to_run_itself_again(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    module: str,
    command: str,
) -> None:
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))

    status = importlib.import_module(module).main(["UC-0001"])

    assert status in (1, 2)
    err = capsys.readouterr().err
    assert "no local gateway is running" in err
    assert f"then run `{command}` again" in err


# -- where the dev IdP writes the ids -------------------------------------------------------


def test_claim_names_as_json_pointers_nest_the_ids_in_one_object() -> None:
    idp = DevIdentityProvider(
        customer_claim="/opower/utilityCustomerId",
        accounts_claim="/opower/accountNumbers",
        utility_code_claim="/opower/company~1code",
        issuer=DEV_ISSUER,
    )

    token = idp.mint("UC-0001", ["4100000001"], company="UTX")

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["opower"] == {
        "utilityCustomerId": "UC-0001",
        "accountNumbers": ["4100000001"],
        "company/code": "UTX",
    }


def test_plain_claim_names_are_top_level_even_with_dots_and_colons() -> None:
    idp = DevIdentityProvider(
        customer_claim="custom:utilityCustomerId", accounts_claim="extn.a", issuer=DEV_ISSUER
    )

    claims = idp.claims_for("UC-0001", "4100000001,4100000002")

    assert claims["custom:utilityCustomerId"] == "UC-0001"
    assert claims["extn.a"] == "4100000001,4100000002"


def test_the_dev_idp_writes_the_token_type_and_use_the_gateway_requires() -> None:
    idp = DevIdentityProvider(token_type="at+jwt", token_use="access", issuer=DEV_ISSUER)

    token = idp.mint("UC-0001", ["4100000001"])

    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    assert jwt.decode(token, options={"verify_signature": False})["token_use"] == "access"


def test_userinfo_answers_the_claims_of_its_own_sessions_only() -> None:
    idp = DevIdentityProvider(issuer=DEV_ISSUER, accounts_claim="/opower/accounts")
    token = idp.mint("UC-0001", ["4100000001"], company="UTX")
    stranger = DevIdentityProvider(issuer=DEV_ISSUER).mint("UC-0001", ["1"])

    status, claims = idp._answer("GET", "/userinfo", {"authorization": f"Bearer {token}"}, b"")
    refused = [
        idp._answer("GET", "/userinfo", {"authorization": value}, b"")[0]
        for value in (f"Bearer {stranger}", "Bearer not-a-jwt", "", f"Basic {token}")
    ]

    assert status == 200
    assert (claims["sub"], claims["opower"], claims["utilityCode"]) == (
        "user-UC-0001",
        {"accounts": ["4100000001"]},
        "UTX",
    )
    assert refused == [401, 401, 401, 401]


def test_the_dev_idp_puts_its_customers_on_the_designated_list_when_the_gateway_keeps_one() -> None:
    """With designated_claim set (gateway.designated), the dev IdP's sessions say true,
    as a pilot's test users would; without it they carry no such claim."""
    listed = DevIdentityProvider(designated_claim="/opower/pilot", issuer="https://idp.test")
    assert listed.claims_for("UC-0001", ["4100000001"])["opower"]["pilot"] is True
    unlisted = DevIdentityProvider(issuer="https://idp.test")
    assert "opower" not in unlisted.claims_for("UC-0001", ["4100000001"])
