"""Attacks on the authorizer, each kept as a regression test: tokens binding to nobody
repeated under many spellings, too many account numbers, two Authorization headers,
control characters in claims, old sessions, ID tokens posing as access tokens, and the
binding's lookups spending the customer's share of the budget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from gateway import wiring
from gateway.auth.entry import AuthorizerUnavailable, Unauthorized
from gateway.clock import SYSTEM_CLOCK
from gateway.settings import RuntimeSettings
from handlers.authorizer import handler
from local.idp import DevIdentityProvider
from local.sandbox import OpowerSandbox
from tests.events import LambdaContext, authorizer_event
from tests.fakes import Later

pytestmark = pytest.mark.integration

Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke(gateway_env: RuntimeSettings) -> Invoke:
    def call(token: str | None, **event_options: Any) -> dict[str, Any]:
        return handler(authorizer_event(token, **event_options), LambdaContext())  # type: ignore[arg-type]

    return call


def lookups(sandbox: OpowerSandbox) -> int:
    requests = cast(dict[str, dict[str, int]], sandbox.stats()["requests"])
    return sum(requests.get("customers", {}).values()) + sum(
        requests.get("utility_accounts", {}).values()
    )


def effect(answer: dict[str, Any]) -> str:
    return str(answer["policyDocument"]["Statement"][0]["Effect"])


def test_a_token_binding_to_nobody_costs_its_lookups_once_whatever_the_spelling(
    invoke: Invoke, idp: DevIdentityProvider, sandbox: OpowerSandbox
) -> None:
    numbers = [f"99000000{i:02d}" for i in range(10)]  # no customer holds these
    token = idp.mint("UC-NOBODY", numbers)
    spellings = ["Bearer", "bearer", "BEARER", "bEaReR", "BeArEr"]

    answers = [
        handler(
            authorizer_event(headers={"Authorization": f"{s} {token}"}),
            LambdaContext(),  # type: ignore[arg-type]
        )
        for s in spellings * 4
    ]

    assert {effect(a) for a in answers} == {"Deny"}
    assert lookups(sandbox) == len(numbers)  # the first time only


def test_more_than_ten_account_numbers_are_refused(
    invoke: Invoke, idp: DevIdentityProvider, sandbox: OpowerSandbox
) -> None:
    token = idp.mint("UC-0001", [f"41000000{i:02d}" for i in range(11)])

    with pytest.raises(Unauthorized):
        invoke(token)

    assert lookups(sandbox) == 0


def test_two_authorization_headers_are_refused(invoke: Invoke, idp: DevIdentityProvider) -> None:
    valid = idp.mint("UC-0001", ["4100000001"])
    event = authorizer_event(valid)
    # API Gateway hands every value in multiValueHeaders ("Set up Lambda proxy
    # integrations"); the decision would be cached under one of them.
    event["multiValueHeaders"]["Authorization"] = ["Bearer junk", f"Bearer {valid}"]

    with pytest.raises(Unauthorized):
        handler(event, LambdaContext())  # type: ignore[arg-type]
    event = authorizer_event(headers={"authorization": "Bearer junk"})
    event["headers"]["Authorization"] = f"Bearer {valid}"
    with pytest.raises(Unauthorized):
        handler(event, LambdaContext())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "claims",
    [
        {"utilityCustomerId": "UC-0001\nUC-0002"},
        {"utilityCustomerId": "UC-0001\u0000"},
        {"accountNumbers": ["4100000001\r\n4100000003"]},
    ],
)
def test_control_characters_in_identity_claims_are_refused(
    invoke: Invoke, idp: DevIdentityProvider, sandbox: OpowerSandbox, claims: dict[str, Any]
) -> None:
    token = idp.mint("UC-0001", ["4100000001"], overrides=claims)

    with pytest.raises(Unauthorized):
        invoke(token)
    assert lookups(sandbox) == 0


def test_a_session_older_than_the_maximum_age_is_refused(
    invoke: Invoke, idp: DevIdentityProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("AUTH_MAX_SESSION_AGE_S", "3600")
    wiring.reset()
    old = idp.mint("UC-0001", ["4100000001"], overrides={"iat": int(time.time()) - 7200})
    fresh = idp.mint("UC-0001", ["4100000001"])

    with pytest.raises(Unauthorized):
        invoke(old)
    assert effect(invoke(fresh)) == "Allow"


def test_with_a_required_type_an_id_token_cannot_stand_in_for_an_access_token(
    invoke: Invoke, idp: DevIdentityProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_TOKEN_TYPE", "at+jwt")
    wiring.reset()

    with pytest.raises(Unauthorized):
        invoke(idp.mint("UC-0001", ["4100000001"]))  # typ JWT: an ID token's
    assert effect(invoke(idp.mint("UC-0001", ["4100000001"], typ="at+jwt"))) == "Allow"
    assert effect(invoke(idp.mint("UC-0001", ["4100000001"], typ="application/at+jwt"))) == (
        "Allow"
    )


def test_binding_lookups_spend_the_customers_share(
    invoke: Invoke,
    idp: DevIdentityProvider,
    sandbox: OpowerSandbox,
    monkeypatch: pytest.MonkeyPatch,
    mid_minute: object,
) -> None:
    monkeypatch.setenv("BUDGET_PER_CUSTOMER_PER_MINUTE", "3")
    monkeypatch.setenv("BUDGET_CUSTOMER_SHARE_EVERY", "1")
    wiring.reset()
    # Different account numbers each time: a new binding (and its lookups) each time.
    tokens = [idp.mint("UC-0001", [f"41000009{i:02d}"]) for i in range(4)]

    outcomes = []
    for token in tokens:
        try:
            outcomes.append(effect(invoke(token)))
        except AuthorizerUnavailable:
            outcomes.append("limited")

    assert "limited" in outcomes
    assert lookups(sandbox) <= 3


def test_the_authorizers_deadline_is_on_the_clock_its_edges_use(
    invoke: Invoke, idp: DevIdentityProvider
) -> None:
    """The deadline of the binding's token fetch and lookups is taken on the clock the
    broker and the Opower client time themselves with (wiring's), as the proxy's is: on
    the system's, a clock ahead by more than the invocation's time left saw no time left
    and failed every binding (opower_token_unavailable)."""
    wiring.use_clock(Later(29))  # more than the invocation's time left
    try:
        assert effect(invoke(idp.mint("UC-0001", ["4100000001"], typ="at+jwt"))) == "Allow"
    finally:
        wiring.use_clock(SYSTEM_CLOCK)
