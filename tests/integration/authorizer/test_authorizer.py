"""The authorizer handler with real REQUEST-authorizer events, a JWKS served over HTTP by
the dev identity provider, the sandbox over HTTP and moto server's DynamoDB."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, cast

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway import wiring
from gateway.auth.entry import AuthorizerUnavailable, Unauthorized
from gateway.settings import RuntimeSettings
from handlers.authorizer import handler
from local.idp import DevIdentityProvider
from local.sandbox import OpowerSandbox
from tests.events import API_ID, LambdaContext, authorizer_event

pytestmark = pytest.mark.integration

Invoke = Callable[..., dict[str, Any]]

# Sample customers of the sandbox: (utilityCustomerId, account numbers, Opower id, accounts)
CUSTOMERS = [
    ("UC-0001", ["4100000001", "4100000002"], "1000001", "2000001,2000002"),
    ("UC-0002", ["4100000003"], "1000002", "2000003,2000004"),
    ("UC-0003", ["4100000004"], "1000003", "2000005"),
    ("UC-0004", ["4100000005"], "1000004", ""),
    ("UC-0005", ["4100000004"], "1000005", "2000006"),
]


@pytest.fixture
def invoke(gateway_env: RuntimeSettings) -> Invoke:
    def call(token: str | None, **event_options: Any) -> dict[str, Any]:
        return handler(authorizer_event(token, **event_options), LambdaContext())  # type: ignore[arg-type]

    return call


def customers_lookups(sandbox: OpowerSandbox) -> int:
    requests = cast(dict[str, dict[str, int]], sandbox.stats()["requests"])
    return sum(requests.get("customers", {}).values())


@pytest.mark.parametrize(("customer", "accounts", "opower_id", "account_ids"), CUSTOMERS)
def test_each_sample_customer_is_bound_to_exactly_their_own_ids(
    invoke: Invoke,
    idp: DevIdentityProvider,
    customer: str,
    accounts: list[str],
    opower_id: str,
    account_ids: str,
) -> None:
    token = idp.mint(customer, accounts)

    answer = invoke(token)

    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"].endswith(f":{API_ID}/prod/*/v1/me/*")
    context = answer["context"]
    assert context["customerId"] == opower_id
    assert context["utilityCustomerId"] == customer
    assert context["accountIds"] == account_ids
    assert all(isinstance(v, (str, int, float, bool)) for v in context.values())
    assert customer not in answer["principalId"]


def test_es256_tokens_are_accepted_too(invoke: Invoke, idp: DevIdentityProvider) -> None:
    answer = invoke(idp.mint("UC-0003", "4100000004", alg="ES256"))

    assert answer["context"]["customerId"] == "1000003"


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda idp: idp.mint("UC-0001", ["4100000001"], lifetime_s=-120), "expired"),
        (
            lambda idp: idp.mint(
                "UC-0001", ["4100000001"], overrides={"nbf": int(time.time()) + 300}
            ),
            "not yet valid",
        ),
        (
            lambda idp: idp.mint(
                "UC-0001", ["4100000001"], overrides={"iat": int(time.time()) + 300}
            ),
            "issued in the future",
        ),
        (
            lambda idp: idp.mint("UC-0001", ["4100000001"], overrides={"iss": "https://evil"}),
            "wrong issuer",
        ),
        (
            lambda idp: idp.mint("UC-0001", ["4100000001"], overrides={"aud": "another-api"}),
            "wrong audience",
        ),
        (lambda idp: idp.mint("UC-0001", ["4100000001"], omit=["utilityCustomerId"]), "no uc"),
        (lambda idp: idp.mint("UC-0001", ["4100000001"], omit=["accountNumbers"]), "no accts"),
        (lambda idp: idp.mint("UC-0001", ["4100000001"], omit=["exp"]), "no exp"),
        (lambda idp: idp.mint("UC-0001", ["4100000001"], omit=["sub"]), "no sub"),
        (lambda idp: idp.mint("UC-0001", [], overrides={}), "empty account list"),
        (
            lambda idp: idp.mint("UC-0001", ["4100000001"], overrides={"utilityCustomerId": 7}),
            "uc type",
        ),
        (lambda idp: "not-a-jwt", "malformed"),
        (lambda idp: idp.mint("UC-0001", ["4100000001"])[:-4] + "AAAA", "tampered signature"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_invalid_tokens_are_unauthorized(
    invoke: Invoke,
    idp: DevIdentityProvider,
    build: Callable[[DevIdentityProvider], str],
    reason: str,
) -> None:
    with pytest.raises(Unauthorized, match=r"^Unauthorized$"):
        invoke(build(idp))


def test_leeway_accepts_a_token_that_expired_a_few_seconds_ago(
    invoke: Invoke, idp: DevIdentityProvider
) -> None:
    # exp 10 s ago, within the 30 s leeway of the signature check, but the session is over:
    # the gateway still refuses it because it never hands out a context past exp.
    with pytest.raises(Unauthorized):
        invoke(idp.mint("UC-0001", ["4100000001"], lifetime_s=-10))


def test_a_token_signed_by_another_key_with_a_known_kid_is_refused(
    invoke: Invoke, idp: DevIdentityProvider
) -> None:
    kid, _, _ = idp.signing_key("RS256")
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = idp.claims_for("UC-0001", ["4100000001"])

    with pytest.raises(Unauthorized):
        invoke(idp.sign_with(claims, attacker, "RS256", kid))


def test_alg_none_is_refused(invoke: Invoke, idp: DevIdentityProvider) -> None:
    claims = idp.claims_for("UC-0001", ["4100000001"])
    kid, _, _ = idp.signing_key("RS256")
    unsigned = jwt.encode(claims, key=None, algorithm="none", headers={"kid": kid})

    with pytest.raises(Unauthorized):
        invoke(unsigned)


def test_hs256_signed_with_the_public_key_is_refused(
    invoke: Invoke, idp: DevIdentityProvider
) -> None:
    kid, private, _ = idp.signing_key("RS256")
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = idp.claims_for("UC-0001", ["4100000001"])
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    # PyJWT refuses to HMAC with a PEM key, which is the point of the attack: sign by hand.
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    with pytest.raises(Unauthorized):
        invoke(f"{signing_input}.{b64(signature)}")


def test_an_unknown_kid_refreshes_the_jwks_at_most_once_per_interval(
    invoke: Invoke, idp: DevIdentityProvider
) -> None:
    invoke(idp.mint("UC-0001", ["4100000001"]))  # the JWKS is fetched and cached
    before = idp.jwks_requests
    _, key, _ = idp.signing_key("RS256")
    claims = idp.claims_for("UC-0001", ["4100000001"])

    for n in range(5):
        with pytest.raises(Unauthorized):
            invoke(idp.sign_with(claims, key, "RS256", f"made-up-kid-{n}"))

    assert idp.jwks_requests == before  # fetched less than AUTH_JWKS_MIN_REFRESH_S ago


def test_rotated_signing_keys_are_picked_up(
    idp: DevIdentityProvider, gateway_settings: RuntimeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_JWKS_MIN_REFRESH_S", "0")
    for name, value in gateway_settings.to_env().items():
        if name != "AUTH_JWKS_MIN_REFRESH_S":
            monkeypatch.setenv(name, value)
    wiring.reset()
    handler(authorizer_event(idp.mint("UC-0002", "4100000003")), LambdaContext())  # type: ignore[arg-type]
    idp.rotate_keys()

    answer = handler(authorizer_event(idp.mint("UC-0002", "4100000003")), LambdaContext())  # type: ignore[arg-type]

    assert answer["context"]["customerId"] == "1000002"
    wiring.reset()


def test_a_claim_naming_another_customers_account_is_denied(
    invoke: Invoke, idp: DevIdentityProvider
) -> None:
    # UC-0001 claims UC-0002's account: Opower's answer names UC-0002, not UC-0001.
    answer = invoke(idp.mint("UC-0001", ["4100000003"]))

    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert "context" not in answer


def test_only_the_matching_customer_of_a_shared_account_number_is_bound(
    invoke: Invoke, idp: DevIdentityProvider
) -> None:
    # 4100000004 belongs to UC-0003 now and to UC-0005 before: each gets only their own.
    current = invoke(idp.mint("UC-0003", ["4100000004"]))["context"]
    previous = invoke(idp.mint("UC-0005", ["4100000004"]))["context"]

    assert (current["customerId"], current["accountIds"]) == ("1000003", "2000005")
    assert (previous["customerId"], previous["accountIds"]) == ("1000005", "2000006")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer a b"},
        {"Authorization": "Bearer " + "a" * 9000},
    ],
    ids=["none", "basic", "empty bearer", "space", "huge"],
)
def test_missing_or_malformed_authorization_is_unauthorized(
    invoke: Invoke, headers: dict[str, str]
) -> None:
    with pytest.raises(Unauthorized):
        invoke(None, headers=headers)


def test_the_header_name_is_case_insensitive(invoke: Invoke, idp: DevIdentityProvider) -> None:
    token = idp.mint("UC-0003", ["4100000004"])

    answer = invoke(None, headers={"authorization": f"bearer {token}"})

    assert answer["context"]["customerId"] == "1000003"


def test_the_binding_is_cached_in_dynamodb_for_other_containers(
    invoke: Invoke, idp: DevIdentityProvider, sandbox: OpowerSandbox
) -> None:
    invoke(idp.mint("UC-0001", ["4100000001", "4100000002"]))
    lookups = customers_lookups(sandbox)
    wiring.reset()  # another container: empty memory, same table

    answer = invoke(idp.mint("UC-0001", ["4100000002", "4100000001"]))

    assert answer["context"]["customerId"] == "1000001"
    assert customers_lookups(sandbox) == lookups


def test_an_expired_binding_is_resolved_again(
    idp: DevIdentityProvider,
    sandbox: OpowerSandbox,
    gateway_settings: RuntimeSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in gateway_settings.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BINDING_TTL_S", "1")
    wiring.reset()
    token = idp.mint("UC-0003", ["4100000004"])
    handler(authorizer_event(token), LambdaContext())  # type: ignore[arg-type]
    lookups = customers_lookups(sandbox)

    handler(authorizer_event(token), LambdaContext())  # type: ignore[arg-type]
    assert customers_lookups(sandbox) == lookups
    time.sleep(1.1)
    handler(authorizer_event(token), LambdaContext())  # type: ignore[arg-type]

    assert customers_lookups(sandbox) == lookups + 1
    wiring.reset()


def test_opower_unavailable_while_binding_fails_clearly_never_an_empty_allow(
    invoke: Invoke, idp: DevIdentityProvider, sandbox: OpowerSandbox
) -> None:
    sandbox.set_faults(data_endpoints="5xx")

    with pytest.raises(AuthorizerUnavailable):
        invoke(idp.mint("UC-0001", ["4100000001"]))


def test_the_token_endpoint_down_with_no_token_fails_clearly(
    invoke: Invoke, idp: DevIdentityProvider, sandbox: OpowerSandbox
) -> None:
    sandbox.set_faults(token_endpoint="5xx")

    with pytest.raises(AuthorizerUnavailable):
        invoke(idp.mint("UC-0001", ["4100000001"]))


def test_jwks_unreachable_at_first_use_fails_clearly(
    invoke: Invoke, idp: DevIdentityProvider
) -> None:
    idp.set_down(jwks=True)
    try:
        with pytest.raises(AuthorizerUnavailable):
            invoke(idp.mint("UC-0001", ["4100000001"]))
    finally:
        idp.set_down(jwks=False)


def test_no_token_and_no_customer_data_reach_the_logs(
    invoke: Invoke, idp: DevIdentityProvider, caplog: pytest.LogCaptureFixture
) -> None:
    allowed = idp.mint("UC-0001", ["4100000001", "4100000002"])
    denied = idp.mint("UC-0001", ["4100000003"])
    expired = idp.mint("UC-0001", ["4100000001"], lifetime_s=-300)

    invoke(allowed)
    invoke(denied)
    with pytest.raises(Unauthorized):
        invoke(expired)

    # Every attribute of every record: Powertools writes `extra` fields into the JSON line.
    output = "\n".join(repr(vars(record)) for record in caplog.records)
    assert "no_matching_customer" in output  # the denials were logged by reason ...
    assert "token_expired" in output
    for secret in (allowed, denied, expired, "UC-0001", "4100000001", "4100000003", "1000001"):
        assert secret not in output  # ... without the token or the customer's ids
