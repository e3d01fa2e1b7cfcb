"""The authorizer in `introspection` mode: opaque session tokens checked at an RFC 7662
endpoint (the dev identity provider) with the client credentials from Secrets Manager."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway import wiring
from gateway.auth.entry import AuthorizerUnavailable, Unauthorized
from gateway.settings import RuntimeSettings
from handlers.authorizer import handler
from local.idp import DevIdentityProvider
from tests.events import LambdaContext, authorizer_event

pytestmark = pytest.mark.integration

Invoke = Callable[[str], dict[str, Any]]


@pytest.fixture
def invoke(gateway_settings: RuntimeSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    for name, value in gateway_settings.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AUTH_MODE", "introspection")
    wiring.reset()

    def call(token: str) -> dict[str, Any]:
        return handler(authorizer_event(token), LambdaContext())  # type: ignore[arg-type]

    yield call
    wiring.reset()


def test_an_active_token_is_allowed_and_bound(invoke: Invoke, idp: DevIdentityProvider) -> None:
    answer = invoke(idp.mint_opaque("UC-0002", ["4100000003"]))

    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert answer["context"]["customerId"] == "1000002"
    assert answer["context"]["accountIds"] == "2000003,2000004"


def test_an_inactive_token_is_unauthorized(invoke: Invoke, idp: DevIdentityProvider) -> None:
    with pytest.raises(Unauthorized):
        invoke(idp.mint_opaque("UC-0002", ["4100000003"], active=False))


def test_an_unknown_token_is_unauthorized(invoke: Invoke) -> None:
    with pytest.raises(Unauthorized):
        invoke("an-opaque-token-nobody-issued-0000")


def test_an_expired_token_is_unauthorized(invoke: Invoke, idp: DevIdentityProvider) -> None:
    with pytest.raises(Unauthorized):
        invoke(idp.mint_opaque("UC-0002", ["4100000003"], lifetime_s=-5))


def test_active_answers_are_cached_within_the_bound(
    invoke: Invoke, idp: DevIdentityProvider
) -> None:
    token = idp.mint_opaque("UC-0003", ["4100000004"])
    invoke(token)
    before = idp.introspection_requests

    invoke(token)

    assert idp.introspection_requests == before


def test_introspection_endpoint_down_fails_clearly(
    invoke: Invoke, idp: DevIdentityProvider
) -> None:
    idp.set_down(introspection=True)
    try:
        with pytest.raises(AuthorizerUnavailable):
            invoke(idp.mint_opaque("UC-0002", ["4100000003"]))
    finally:
        idp.set_down(introspection=False)


def test_a_refused_token_sent_again_is_not_introspected_again(
    invoke: Invoke, idp: DevIdentityProvider
) -> None:
    token = idp.mint_opaque("UC-0002", ["4100000003"], active=False)
    before = idp.introspection_requests

    for _ in range(20):  # the same token again and again (a retrying app, a probe)
        with pytest.raises(Unauthorized):
            invoke(token)

    assert idp.introspection_requests - before == 1
