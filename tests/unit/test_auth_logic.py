"""Pure logic of the authorizer: bearer parsing, claims, policy resources."""

import pytest

from gateway.auth.authorizer import customer_hash, customer_routes_arn
from gateway.auth.errors import AuthenticationError
from gateway.auth.session import bearer_token, identity_from_claims


def test_bearer_token_is_read_from_any_case_of_the_header() -> None:
    assert bearer_token({"authorization": "bearer abc.def-ghi"}) == "abc.def-ghi"
    assert bearer_token({"AUTHORIZATION": "Bearer abc"}) == "abc"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (None, "no_token"),
        ({}, "no_token"),
        ({"Authorization": ""}, "no_token"),
        ({"Authorization": "Basic abc"}, "malformed_authorization"),
        ({"Authorization": "Bearer a,b"}, "malformed_authorization"),
        ({"Authorization": "Bearer a\nb"}, "malformed_authorization"),
    ],
)
def test_missing_or_malformed_authorization(headers: dict[str, str] | None, reason: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        bearer_token(headers)
    assert caught.value.reason == reason


def test_claims_give_a_normalised_identity() -> None:
    identity = identity_from_claims(
        {"sub": "s", "exp": 2_000_000_000, "uc": " UC-1 ", "acct": ["2", "1", "2"]},
        customer_claim="uc",
        accounts_claim="acct",
    )

    assert identity.utility_customer_id == "UC-1"
    assert identity.account_numbers == ("1", "2")


def test_a_single_account_number_may_be_a_string() -> None:
    identity = identity_from_claims(
        {"exp": 2_000_000_000, "uc": "UC-1", "acct": "9"},
        customer_claim="uc",
        accounts_claim="acct",
    )
    assert identity.account_numbers == ("9",)


@pytest.mark.parametrize(
    "accounts", [[], None, 5, [5], [""], ["x" * 65], [str(n) for n in range(21)]]
)
def test_unusable_account_claims_are_refused(accounts: object) -> None:
    with pytest.raises(AuthenticationError):
        identity_from_claims(
            {"exp": 2_000_000_000, "uc": "UC-1", "acct": accounts},
            customer_claim="uc",
            accounts_claim="acct",
        )


def test_the_policy_covers_the_customer_routes_of_the_same_stage_only() -> None:
    arn = "arn:aws:execute-api:eu-west-1:111122223333:api123/prod/GET/v1/me/accounts"

    assert customer_routes_arn(arn) == (
        "arn:aws:execute-api:eu-west-1:111122223333:api123/prod/*/v1/me/*"
    )


@pytest.mark.parametrize("arn", ["", "not-an-arn", "arn:aws:execute-api:r:a:api"])
def test_a_malformed_method_arn_is_refused(arn: str) -> None:
    with pytest.raises(AuthenticationError):
        customer_routes_arn(arn)


def test_the_customer_hash_is_stable_and_does_not_contain_the_id() -> None:
    assert customer_hash("UTX", "UC-0001") == customer_hash("UTX", "UC-0001")
    assert customer_hash("UTX", "UC-0001") != customer_hash("UTY", "UC-0001")
    assert "UC-0001" not in customer_hash("UTX", "UC-0001")


def test_binding_cache_keys_are_a_canonical_encoding_of_the_claims() -> None:
    from gateway.auth.binding import BindingResolver
    from gateway.auth.session import SessionIdentity
    from tests.fakes import FakeClock

    resolver = BindingResolver(None, utility_code="UTX", store=None, clock=FakeClock())  # type: ignore[arg-type]
    # Joined with "\n", these two would be one key: one customer's binding for the other.
    first = SessionIdentity("s", "UC-1", ("4100000001", "4100000002"), 0.0)
    second = SessionIdentity("s", "UC-1\n4100000001", ("4100000002",), 0.0)

    assert resolver._key(first) != resolver._key(second)


def test_an_unbound_decision_is_waited_out_for_as_long_as_api_gateway_keeps_it() -> None:
    """A session the day's budget could not bind (gateway.auth.errors.LoginBudgetSpentError)
    gets 503 and a Retry-After of its next allowance, or, when later, of the end of API
    Gateway's cache of the decision: retried sooner, the client would meet the same 503."""
    from gateway.auth_context import BindingContextError, binding_from_context

    decision = {"retryAt": "1000", "decidedAt": "990", "customerHash": "c"}

    with pytest.raises(BindingContextError) as soon:
        binding_from_context(decision, now=995, decision_ttl_s=300)
    with pytest.raises(BindingContextError) as late:
        binding_from_context({**decision, "retryAt": "5000"}, now=995, decision_ttl_s=300)
    with pytest.raises(BindingContextError) as garbled:
        binding_from_context({"retryAt": "soon"}, now=995, decision_ttl_s=300)

    assert (soon.value.status, soon.value.code) == (503, "budget_spent")
    assert soon.value.headers == {"Retry-After": str(990 + 300 - 995)}
    assert late.value.headers == {"Retry-After": "3600"}  # an hour at most
    assert garbled.value.headers == {"Retry-After": "300"}
