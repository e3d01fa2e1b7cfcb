"""Sessions of real identity providers through the real authorizer, by configuration only.

* Amazon Cognito, as moto server implements it: a user pool with custom attributes, two
  app clients (web and mobile), ``InitiateAuth`` for the customer's ID and access tokens,
  the pool's JWKS (``/{poolId}/.well-known/jwks.json``) and ``GetUser``. moto signs and
  shapes them as Cognito documents ("Understanding the identity (ID) token", "… the
  access token": an ID token has ``aud`` and ``token_use: id`` and the custom
  attributes; an access token has ``client_id``, ``token_use: access``, no ``aud`` and
  no custom attributes).
* Okta, Microsoft Entra ID (v2.0), Auth0 and Keycloak access tokens shaped as their pages
  show them (tests/contracts/identity-providers/token-shapes.json names each page),
  signed with a JWKS this test serves, with the customer's ids added where each
  provider's own documentation says custom claims go.

Each binds to the sandbox's customer UC-0001 (Opower customer 1000001, utility accounts
2000001 and 2000002); the refusals are 401 with the reason logged, never a Deny.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from gateway import wiring
from gateway.auth.entry import AuthorizerUnavailable, Unauthorized
from gateway.clock import SYSTEM_CLOCK
from gateway.settings import RuntimeSettings
from handlers.authorizer import handler
from local.aws import EmbeddedAws
from tests import leakcheck
from tests.events import LambdaContext, authorizer_event
from tests.fakes import Later
from tests.idp_server import ShapedIdentityProvider

pytestmark = pytest.mark.integration

SHAPES = json.loads(
    (
        Path(__file__).parents[2] / "contracts" / "identity-providers" / "token-shapes.json"
    ).read_text()
)
PASSWORD = "Corr3ct-Horse-Battery"
BOUND = {"customerId": "1000001", "utilityCustomerId": "UC-0001", "accountIds": "2000001,2000002"}

Configure = Callable[..., None]


@pytest.fixture
def configure(
    gateway_settings: RuntimeSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Configure]:
    """The handlers' environment: the test settings with ``overrides``, as Lambda would
    read them (each value given as cdk.json or GATEWAY_CONFIG would give it)."""

    def apply(**overrides: Any) -> None:
        given = RuntimeSettings.from_mapping(overrides).to_env()
        env = {**gateway_settings.to_env(), **{n.upper(): given[n.upper()] for n in overrides}}
        RuntimeSettings.from_env(env)  # valid as a whole
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        wiring.reset()

    yield apply
    wiring.reset()


def invoke(token: str) -> dict[str, Any]:
    return handler(authorizer_event(token), LambdaContext())  # type: ignore[arg-type]


def refusal(token: str) -> str:
    with pytest.raises(Unauthorized) as refused:
        invoke(token)
    return refused.value.reason


def assert_bound(answer: dict[str, Any]) -> None:
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert {k: answer["context"][k] for k in BOUND} == BOUND


# -- Amazon Cognito (moto server) ---------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    id: str
    issuer: str
    jwks_url: str
    web: str
    mobile: str
    other: str

    def tokens(self, client: str, username: str = "customer-1") -> dict[str, str]:
        answer = _cognito().initiate_auth(
            ClientId=client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        leakcheck.register_secret(answer["IdToken"], answer["AccessToken"])
        if "RefreshToken" in answer:
            leakcheck.register_secret(answer["RefreshToken"])
        return {"id": answer["IdToken"], "access": answer["AccessToken"]}


def _cognito() -> Any:
    return boto3.client("cognito-idp")


def _pool(name: str, aws: EmbeddedAws, accounts: str) -> Pool:
    cognito = _cognito()
    pool_id = cognito.create_user_pool(
        PoolName=name,
        Schema=[
            {"Name": "utilityCustomerId", "AttributeDataType": "String", "Mutable": True},
            {"Name": "accountNumbers", "AttributeDataType": "String", "Mutable": True},
        ],
    )["UserPool"]["Id"]

    def client(client_name: str) -> str:
        return str(
            cognito.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName=client_name,
                ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            )["UserPoolClient"]["ClientId"]
        )

    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username="customer-1",
        UserAttributes=[
            {"Name": "custom:utilityCustomerId", "Value": "UC-0001"},
            # A custom attribute is a string: several numbers in one, comma-separated.
            {"Name": "custom:accountNumbers", "Value": accounts},
        ],
    )
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username="customer-1", Password=PASSWORD, Permanent=True
    )
    region = cognito.meta.region_name
    return Pool(
        id=pool_id,
        issuer=f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
        jwks_url=f"{aws.endpoint_url}/{pool_id}/.well-known/jwks.json",
        web=client("web"),
        mobile=client("mobile"),
        other=client("another-app"),
    )


@pytest.fixture
def pool(embedded_aws: EmbeddedAws) -> Pool:
    return _pool("customers", embedded_aws, "4100000001, 4100000002")


def cognito_settings(pool: Pool, **more: Any) -> dict[str, Any]:
    return {
        "auth_issuer": pool.issuer,
        "auth_jwks_url": pool.jwks_url,
        "auth_audience": [pool.web, pool.mobile],
        "claim_utility_customer_id": "custom:utilityCustomerId",
        "claim_account_numbers": "custom:accountNumbers",
        **more,
    }


def test_a_cognito_id_token_of_either_app_client_reaches_its_customer(
    configure: Configure, pool: Pool
) -> None:
    configure(**cognito_settings(pool, auth_token_use="id"))

    for client in (pool.web, pool.mobile):
        assert_bound(invoke(pool.tokens(client)["id"]))


def test_a_cognito_access_token_reaches_its_customer_through_get_user(
    configure: Configure, pool: Pool, embedded_aws: EmbeddedAws
) -> None:
    configure(
        **cognito_settings(
            pool,
            auth_token_use="access",
            auth_claims_from="cognito",
            auth_cognito_endpoint=embedded_aws.endpoint_url,
        )
    )

    assert_bound(invoke(pool.tokens(pool.web)["access"]))
    assert_bound(invoke(pool.tokens(pool.mobile)["access"]))


def test_get_user_is_asked_once_per_customer_and_the_answer_is_shared_by_containers(
    configure: Configure, pool: Pool, embedded_aws: EmbeddedAws
) -> None:
    configure(
        **cognito_settings(
            pool,
            auth_token_use="access",
            auth_claims_from="cognito",
            auth_cognito_endpoint=embedded_aws.endpoint_url,
        )
    )
    first = pool.tokens(pool.web)["access"]
    second = pool.tokens(pool.web)["access"]
    assert_bound(invoke(first))
    # Cognito now refuses GetUser for this user (disabled at the pool) ...
    _cognito().admin_disable_user(UserPoolId=pool.id, Username="customer-1")
    with pytest.raises(_cognito().exceptions.NotAuthorizedException):
        _cognito().get_user(AccessToken=second)

    # ... so another token of the same customer, in a new container (no memory tier),
    # is served by the claims kept in DynamoDB: Cognito is not asked again within
    # auth_claims_cache_s (which bounds how long such a change takes to show).
    wiring.reset()
    assert_bound(invoke(second))


def test_cognito_refusing_the_access_token_is_a_401(
    configure: Configure, pool: Pool, embedded_aws: EmbeddedAws
) -> None:
    configure(
        **cognito_settings(
            pool,
            auth_token_use="access",
            auth_claims_from="cognito",
            auth_cognito_endpoint=embedded_aws.endpoint_url,
        )
    )
    token = pool.tokens(pool.web)["access"]
    _cognito().global_sign_out(AccessToken=token)

    assert refusal(token) == "cognito_refused"


def test_cognito_out_of_reach_is_a_503_and_nothing_is_kept(
    configure: Configure, pool: Pool, embedded_aws: EmbeddedAws
) -> None:
    settings = cognito_settings(pool, auth_token_use="access", auth_claims_from="cognito")
    configure(**settings, auth_cognito_endpoint="http://127.0.0.1:9")
    token = pool.tokens(pool.web)["access"]

    with pytest.raises(AuthorizerUnavailable):
        invoke(token)

    configure(**settings, auth_cognito_endpoint=embedded_aws.endpoint_url)
    assert_bound(invoke(token))


def test_a_token_of_an_app_client_not_listed_is_refused(configure: Configure, pool: Pool) -> None:
    configure(**cognito_settings(pool))
    tokens = pool.tokens(pool.other)

    assert refusal(tokens["id"]) == "wrong_audience"
    assert refusal(tokens["access"]) == "wrong_audience"


def test_a_token_of_another_pool_is_refused(
    configure: Configure, pool: Pool, embedded_aws: EmbeddedAws
) -> None:
    configure(**cognito_settings(pool, auth_token_use="id"))
    elsewhere = _pool("elsewhere", embedded_aws, "4100000001")

    # moto signs every pool with one key: only the issuer tells them apart, as it must.
    assert refusal(elsewhere.tokens(elsewhere.web)["id"]) == "wrong_issuer"


def test_an_id_token_where_access_tokens_are_required_is_refused(
    configure: Configure, pool: Pool, embedded_aws: EmbeddedAws
) -> None:
    configure(
        **cognito_settings(
            pool,
            auth_token_use="access",
            auth_claims_from="cognito",
            auth_cognito_endpoint=embedded_aws.endpoint_url,
        )
    )
    tokens = pool.tokens(pool.web)

    assert refusal(tokens["id"]) == "wrong_token_use"
    assert_bound(invoke(tokens["access"]))


def test_an_access_token_where_id_tokens_are_required_is_refused(
    configure: Configure, pool: Pool
) -> None:
    configure(**cognito_settings(pool, auth_token_use="id"))

    # It names no customer either; the kind is what refuses it first.
    assert refusal(pool.tokens(pool.web)["access"]) == "wrong_token_use"


def test_an_expired_cognito_token_is_refused(configure: Configure, pool: Pool) -> None:
    configure(**cognito_settings(pool, auth_token_use="id"))
    token = pool.tokens(pool.web)["id"]  # moto's tokens live an hour
    # Two hours on, by the authorizer's clock (PyJWT reads the machine's own).
    wiring.use_clock(Later(2 * 3600))
    try:
        assert refusal(token) == "token_expired"
    finally:
        wiring.use_clock(SYSTEM_CLOCK)


# -- Okta, Entra ID, Auth0, Keycloak: tokens as their pages show them ---------------------


@pytest.fixture(scope="module")
def shaped() -> Iterator[ShapedIdentityProvider]:
    with ShapedIdentityProvider() as provider:
        leakcheck.register_holder(provider)
        yield provider


# The settings each provider's page leads to (docs/identity-providers/<provider>.md).
PROVIDERS: dict[str, dict[str, Any]] = {
    "okta_access": {"auth_audience": "api://default"},
    "entra_v2_access": {
        "auth_audience": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        "claim_utility_customer_id": "extn.utilityCustomerId",
        "claim_account_numbers": "extn.accountNumbers",
    },
    "auth0_access": {
        "auth_audience": "https://example.com/health-api",
        "claim_utility_customer_id": "https://utility.example.com/utilityCustomerId",
        "claim_account_numbers": "https://utility.example.com/accountNumbers",
    },
    "keycloak_access": {
        "auth_audience": "opower-gateway",
        "claim_utility_customer_id": "/opower/utilityCustomerId",
        "claim_account_numbers": "/opower/accountNumbers",
    },
    "cognito_access": {
        # An access token customized by a pre token generation trigger (V2).
        "auth_audience": "57cbishk4j24pabc1234567890",
        "auth_token_use": "access",
    },
    "cognito_id": {
        "auth_audience": "xxxxxxxxxxxxexample",
        "auth_token_use": "id",
        "claim_utility_customer_id": "custom:utilityCustomerId",
        "claim_account_numbers": "custom:accountNumbers",
    },
}


@pytest.mark.parametrize("shape", sorted(PROVIDERS))
def test_a_documented_token_shape_reaches_its_customer_by_configuration(
    configure: Configure, shaped: ShapedIdentityProvider, shape: str
) -> None:
    example = SHAPES[shape]
    configure(
        auth_issuer=example["claims"]["iss"], auth_jwks_url=shaped.jwks_url, **PROVIDERS[shape]
    )

    assert_bound(invoke(shaped.sign(example["claims"], header=example["header"])))


@pytest.mark.parametrize("shape", sorted(PROVIDERS))
def test_a_documented_shape_for_another_audience_is_refused(
    configure: Configure, shaped: ShapedIdentityProvider, shape: str
) -> None:
    example = SHAPES[shape]
    settings = {**PROVIDERS[shape], "auth_audience": "another-api"}
    configure(auth_issuer=example["claims"]["iss"], auth_jwks_url=shaped.jwks_url, **settings)

    assert refusal(shaped.sign(example["claims"], header=example["header"])) == "wrong_audience"


def test_account_numbers_as_one_string_of_several_bind_them_all(
    configure: Configure, shaped: ShapedIdentityProvider
) -> None:
    example = SHAPES["entra_v2_access"]
    configure(
        auth_issuer=example["claims"]["iss"],
        auth_jwks_url=shaped.jwks_url,
        **PROVIDERS["entra_v2_access"],
    )
    for numbers in ("4100000001,4100000002", "4100000001 4100000002", " 4100000002 ,4100000001"):
        claims = {**example["claims"], "extn.accountNumbers": numbers}
        assert_bound(invoke(shaped.sign(claims, header=example["header"])))


# -- UserInfo ------------------------------------------------------------------------------


@pytest.fixture
def okta_userinfo(configure: Configure, shaped: ShapedIdentityProvider) -> dict[str, Any]:
    """Okta's access token without the customer's ids; its UserInfo holds them. The
    endpoint is found in the issuer's discovery document."""
    configure(
        auth_issuer=shaped.issuer,
        auth_jwks_url=shaped.jwks_url,
        auth_audience="api://default",
        auth_claims_from="userinfo",
    )
    shaped.userinfo_status = 200
    claims = {
        k: v
        for k, v in SHAPES["okta_access"]["claims"].items()
        if k not in {"utilityCustomerId", "accountNumbers"}
    }
    return {**claims, "iss": shaped.issuer, "sub": f"joe-{time.monotonic_ns()}@example.com"}


def test_userinfo_supplies_the_ids_the_access_token_lacks(
    shaped: ShapedIdentityProvider, okta_userinfo: dict[str, Any]
) -> None:
    token = shaped.sign(okta_userinfo)
    shaped.userinfo[token] = {
        "sub": okta_userinfo["sub"],
        "utilityCustomerId": "UC-0001",
        "accountNumbers": ["4100000001"],
        "email": "joe.user@example.com",
    }
    asked = shaped.count("/userinfo")

    assert_bound(invoke(token))
    # A second token of the same customer: the claims are kept per issuer and subject.
    again = shaped.sign(okta_userinfo)
    assert_bound(invoke(again))
    assert shaped.count("/userinfo") == asked + 1


def test_userinfo_of_another_subject_is_not_used(
    shaped: ShapedIdentityProvider, okta_userinfo: dict[str, Any]
) -> None:
    token = shaped.sign(okta_userinfo)
    shaped.userinfo[token] = {
        "sub": "someone-else@example.com",
        "utilityCustomerId": "UC-0001",
        "accountNumbers": ["4100000001"],
    }

    assert refusal(token) == "claims_subject_mismatch"


def test_userinfo_refusing_the_token_is_a_401(
    shaped: ShapedIdentityProvider, okta_userinfo: dict[str, Any]
) -> None:
    assert refusal(shaped.sign(okta_userinfo)) == "userinfo_refused"


def test_userinfo_failing_is_a_503_never_cached(
    shaped: ShapedIdentityProvider, okta_userinfo: dict[str, Any]
) -> None:
    token = shaped.sign(okta_userinfo)
    shaped.userinfo[token] = {
        "sub": okta_userinfo["sub"],
        "utilityCustomerId": "UC-0001",
        "accountNumbers": "4100000001",
    }
    shaped.userinfo_status = 503

    with pytest.raises(AuthorizerUnavailable):
        invoke(token)

    shaped.userinfo_status = 200
    assert_bound(invoke(token))


def test_a_userinfo_answer_trickled_out_is_cut_off_at_the_deadline(
    shaped: ShapedIdentityProvider, okta_userinfo: dict[str, Any]
) -> None:
    """A socket timeout bounds each read only: the whole answer must come within the
    authorizer's time (here a second of it), or it is a 503, never a late Allow."""
    token = shaped.sign(okta_userinfo)
    shaped.userinfo[token] = {"sub": okta_userinfo["sub"], "utilityCustomerId": "UC-0001",
                              "accountNumbers": "4100000001", "padding": "x" * 200}  # fmt: skip
    shaped.trickle_s = 0.05  # about 13 s for the whole answer
    try:
        with pytest.raises(AuthorizerUnavailable):
            handler(authorizer_event(token), LambdaContext(timeout_s=1.5))  # type: ignore[arg-type]
    finally:
        shaped.trickle_s = 0.0


def test_the_designated_claim_is_read_where_the_ids_are(
    configure: Configure, shaped: ShapedIdentityProvider
) -> None:
    """With auth_claims_from, the utility's designated list (designated_claim) comes from
    UserInfo as the ids do: a Cognito access token, say, carries neither."""
    configure(
        auth_issuer=shaped.issuer,
        auth_jwks_url=shaped.jwks_url,
        auth_audience="api://default",
        auth_claims_from="userinfo",
        designated_claim="opowerPilot",
    )
    for listed, effect in ((True, "1"), (False, "0")):
        claims = {"iss": shaped.issuer, "aud": "api://default",
                  "sub": f"pilot-{listed}-{time.monotonic_ns()}"}  # fmt: skip
        token = shaped.sign(claims)
        shaped.userinfo[token] = {
            "sub": claims["sub"],
            "utilityCustomerId": "UC-0001",
            "accountNumbers": "4100000001",
            "opowerPilot": listed,
        }
        context = invoke(token)["context"]
        assert context.get("designated", "1") == effect
