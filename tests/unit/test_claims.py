"""Reading identity providers' claims: audiences, claim names and pointers, account
numbers as strings, and claims fetched beside the token (fast, no network)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from gateway.auth.claims import account_numbers, audience_matches, claim_value
from gateway.auth.errors import AuthenticationError, IdentityUnavailableError
from gateway.auth.fetched_claims import FetchedClaims
from gateway.auth.session import identity_from_claims
from gateway.errors import ConfigurationError
from gateway.settings import RuntimeSettings, claim_path, cognito_region


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"aud": "web"}, True),
        ({"aud": ["https://tenant.auth0.com/userinfo", "mobile"]}, True),
        ({"aud": "another"}, False),
        ({"aud": []}, False),
        ({"aud": [1, None, {"web": 1}]}, False),
        ({"aud": 7}, False),
        # Cognito access tokens: no aud, client_id names the app client.
        ({"client_id": "mobile"}, True),
        ({"client_id": "another"}, False),
        ({"client_id": ["web"]}, False),
        # A token with an aud is judged by it alone, never by its client_id.
        ({"aud": "another", "client_id": "web"}, False),
        ({"aud": None, "client_id": "web"}, False),
        ({}, False),
    ],
)
def test_the_audience_is_aud_or_for_a_token_without_one_client_id(
    claims: dict[str, Any], accepted: bool
) -> None:
    assert audience_matches(claims, {"web", "mobile"}) is accepted


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("accountNumbers", ("accountNumbers",)),
        ("custom:accountNumbers", ("custom:accountNumbers",)),
        ("extn.accountNumbers", ("extn.accountNumbers",)),
        (
            "https://utility.example.com/accountNumbers",
            ("https://utility.example.com/accountNumbers",),
        ),
        ("/opower/accountNumbers", ("opower", "accountNumbers")),
        (
            "/https:~1~1utility.example.com~1ids/accounts",
            ("https://utility.example.com/ids", "accounts"),
        ),
        ("/a~0b", ("a~b",)),
        ("/~01", ("~1",)),
    ],
)
def test_a_claim_name_is_literal_unless_it_is_a_json_pointer(
    name: str, path: tuple[str, ...]
) -> None:
    assert claim_path(name) == path


@pytest.mark.parametrize("name", ["", "/", "/a//b", "/a~2", "/a~", "a\nb", "x" * 257])
def test_a_claim_name_that_says_nothing_unambiguous_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=r"claim name|JSON Pointer"):
        claim_path(name)
    with pytest.raises(ConfigurationError, match="CLAIM_ACCOUNT_NUMBERS"):
        RuntimeSettings.from_mapping({"claim_account_numbers": name})


def test_a_pointer_reads_nested_objects_and_list_positions() -> None:
    claims = {"opower": {"ids": [{"n": "4100000001"}]}, "flat": "x"}

    assert claim_value(claims, ("opower", "ids", "0", "n")) == "4100000001"
    assert claim_value(claims, ("opower", "ids", "1", "n")) is None
    assert claim_value(claims, ("flat", "deeper")) is None
    assert claim_value(claims, ("opower", "ids", "-1")) is None
    assert claim_value(claims, ("missing",)) is None


@pytest.mark.parametrize(
    ("value", "numbers"),
    [
        ("4100000001", ["4100000001"]),
        ("4100000001,4100000002", ["4100000001", "4100000002"]),
        (" 4100000001 , 4100000002 ", ["4100000001", "4100000002"]),
        ("4100000001 4100000002\t4100000003", ["4100000001", "4100000002", "4100000003"]),
        (["4100000001", "4100000002"], ["4100000001", "4100000002"]),
        (" , ", None),
        ("", None),
        ([], None),
        (None, None),
        (4100000001, None),
        ({"a": "4100000001"}, None),
    ],
)
def test_account_numbers_are_a_list_or_one_string_of_them(value: Any, numbers: Any) -> None:
    assert account_numbers(value) == numbers


def _identity(claims: Mapping[str, Any], accounts_claim: str = "accountNumbers") -> Any:
    base = {"utilityCustomerId": "UC-1", "exp": 2_000_000_000, "sub": "s"}
    return identity_from_claims(
        {**base, **claims}, customer_claim="utilityCustomerId", accounts_claim=accounts_claim
    )


def test_a_string_of_numbers_counts_each_number_against_the_cap() -> None:
    assert _identity({"accountNumbers": "2,1,2"}).account_numbers == ("1", "2")
    with pytest.raises(AuthenticationError) as refused:
        _identity({"accountNumbers": ",".join(str(n) for n in range(11))})
    assert refused.value.reason == "too_many_account_numbers"


def test_account_numbers_in_a_list_must_be_text() -> None:
    with pytest.raises(AuthenticationError) as refused:
        _identity({"accountNumbers": ["4100000001", 4100000002]})
    assert refused.value.reason == "missing_account_claim"


def test_nested_claims_are_read_through_a_pointer() -> None:
    identity = _identity(
        {"opower": {"accountNumbers": ["4100000001"]}}, accounts_claim="/opower/accountNumbers"
    )
    assert identity.account_numbers == ("4100000001",)


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "audiences"),
    [
        ("web", ("web",)),
        ("web,mobile", ("web", "mobile")),
        (["web", "mobile"], ("web", "mobile")),
        (["https://example.com/health-api"], ("https://example.com/health-api",)),
    ],
)
def test_auth_audience_takes_one_or_a_list(given: Any, audiences: tuple[str, ...]) -> None:
    settings = RuntimeSettings.from_mapping({"auth_audience": given})
    assert settings.auth_audience == audiences
    assert RuntimeSettings.from_env(settings.to_env()).auth_audience == audiences


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"auth_token_use": "refresh"}, "AUTH_TOKEN_USE"),
        ({"auth_claims_from": "ldap"}, "AUTH_CLAIMS_FROM"),
        (
            {"auth_claims_from": "cognito", "auth_issuer": "https://example.okta.com"},
            "AUTH_CLAIMS_FROM 'cognito' needs a Cognito issuer",
        ),
        ({"auth_userinfo_url": "http://idp.example.com/userinfo"}, "AUTH_USERINFO_URL"),
        ({"auth_cognito_endpoint": "http://cognito.example.com"}, "AUTH_COGNITO_ENDPOINT"),
        ({"auth_audience": ["we\tb"]}, "AUTH_AUDIENCE"),
    ],
)
def test_identity_settings_that_cannot_work_are_refused_by_name(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RuntimeSettings.from_mapping(values)


def test_the_cognito_region_comes_from_the_issuer() -> None:
    assert cognito_region("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123") == (
        "eu-west-1"
    )
    assert cognito_region("https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_x1") == (
        "us-gov-west-1"
    )
    assert cognito_region("https://cognito-idp.eu-west-1.amazonaws.com.evil.example/p_1") is None
    assert cognito_region("https://example.okta.com/oauth2/default") is None


# -- claims fetched beside the token ---------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def _fetched(answers: list[Mapping[str, Any]], clock: _Clock) -> tuple[FetchedClaims, list[str]]:
    asked: list[str] = []

    def fetch(token: str, deadline: float) -> Mapping[str, Any]:
        asked.append(token)
        return answers.pop(0)

    return (
        FetchedClaims(
            fetch,
            kept={"utilityCustomerId", "accountNumbers", "exp", "sub"},
            store=None,
            clock=clock,
            ttl_s=3600,
            issuer="https://idp.example.com",
        ),
        asked,
    )


VERIFIED = {"iss": "https://idp.example.com", "sub": "s-1", "exp": 5_000.0, "aud": "web"}


def test_only_the_claims_read_are_kept_and_the_tokens_own_are_never_replaced() -> None:
    clock = _Clock()
    answer = {
        "sub": "s-1",
        "exp": 9_999_999_999,
        "utilityCustomerId": "UC-1",
        "accountNumbers": "1,2",
        "email": "kept-nowhere@example.com",
    }
    fetched, _ = _fetched([answer], clock)

    merged = fetched("token-1", VERIFIED, deadline=clock.now() + 5)

    assert merged == {**VERIFIED, "utilityCustomerId": "UC-1", "accountNumbers": "1,2"}


def test_fetched_claims_are_kept_per_subject_for_their_lifetime() -> None:
    clock = _Clock()
    answer = {"sub": "s-1", "utilityCustomerId": "UC-1", "accountNumbers": "1"}
    fetched, asked = _fetched([answer, dict(answer)], clock)

    fetched("token-1", VERIFIED, deadline=clock.now() + 5)
    fetched("token-2", VERIFIED, deadline=clock.now() + 5)
    assert asked == ["token-1"]
    clock.t += 3601
    fetched("token-3", VERIFIED, deadline=clock.now() + 5)
    assert asked == ["token-1", "token-3"]


def test_an_answer_about_another_subject_is_not_used_nor_kept() -> None:
    clock = _Clock()
    fetched, asked = _fetched(
        [{"sub": "s-2", "utilityCustomerId": "UC-2"}, {"sub": "s-1", "utilityCustomerId": "UC-1"}],
        clock,
    )

    with pytest.raises(AuthenticationError) as refused:
        fetched("token-1", VERIFIED, deadline=clock.now() + 5)
    assert refused.value.reason == "claims_subject_mismatch"
    assert fetched("token-1", VERIFIED, deadline=clock.now() + 5)["utilityCustomerId"] == "UC-1"
    assert len(asked) == 2


def test_a_failed_fetch_is_not_kept() -> None:
    clock = _Clock()
    calls: list[int] = []

    def fetch(token: str, deadline: float) -> Mapping[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise IdentityUnavailableError("userinfo_unavailable")
        return {"sub": "s-1", "utilityCustomerId": "UC-1"}

    fetched = FetchedClaims(fetch, kept={"utilityCustomerId"}, store=None, clock=clock, ttl_s=60)
    with pytest.raises(IdentityUnavailableError):
        fetched("t", VERIFIED, deadline=clock.now() + 5)
    assert fetched("t", VERIFIED, deadline=clock.now() + 5)["utilityCustomerId"] == "UC-1"


def test_an_issuer_is_an_https_url_where_discovery_may_look() -> None:
    """Discovery (OpenID Connect Discovery 1.0, 4) reads {issuer}/.well-known/...: a
    plain-http issuer would let the network name the endpoint given every token."""
    with pytest.raises(ConfigurationError, match="AUTH_ISSUER must use https"):
        RuntimeSettings.from_mapping({"auth_issuer": "http://idp.example.com"})
    assert RuntimeSettings.from_mapping({"auth_issuer": "http://127.0.0.1:4011"}).auth_issuer


@pytest.mark.parametrize(
    ("endpoint", "issuer", "trusted"),
    [
        ("https://idp.example.com/userinfo", "https://idp.example.com", True),
        ("https://graph.microsoft.com/oidc/userinfo", "https://login.example.com/t/v2.0", True),
        ("http://idp.example.com/userinfo", "https://idp.example.com", False),
        ("http://127.0.0.1:9001/latest", "https://idp.example.com", False),  # the Lambda's own
        ("http://127.0.0.1:4011/userinfo", "http://127.0.0.1:4011", True),  # a local IdP
        ("https://user:pw@idp.example.com/userinfo", "https://idp.example.com", False),
        ("file:///etc/passwd", "https://idp.example.com", False),
    ],
)
def test_a_discovered_userinfo_endpoint_must_be_https_or_a_local_ones(
    endpoint: str, issuer: str, trusted: bool
) -> None:
    from gateway.auth.fetched_claims import _trusted_endpoint

    assert _trusted_endpoint(endpoint, issuer) is trusted
