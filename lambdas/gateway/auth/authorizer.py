"""The REQUEST authorizer's logic: session token → verified identity → Opower binding →
an IAM policy with the binding in its context.

Outcomes: Allow (with context); :class:`AuthenticationError` (401) and
:class:`AccessDeniedError` (403), each with a reason code; :class:`IdentityUnavailableError`
when a dependency failed, which the handler lets fail so that API Gateway answers with
its AUTHORIZER_CONFIGURATION_ERROR response (503 in the stack) and caches nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway import auth_context as ctx
from gateway.auth.binding import Binding, BindingResolver
from gateway.auth.claims import claim_value
from gateway.auth.errors import AccessDeniedError, AuthenticationError, LoginBudgetSpentError
from gateway.auth.session import SessionIdentity, bearer_token, identity_from_claims
from gateway.auth_context import customer_hash
from gateway.clock import Clock
from gateway.designated import DesignatedCustomers
from gateway.settings import claim_path

Verifier = Callable[[str], Mapping[str, Any]]
# The verified claims with the customer's ids the identity provider keeps beside the token
# (gateway.auth.fetched_claims): (token, verified claims, deadline) -> claims.
ClaimsFetcher = Callable[[str, Mapping[str, Any], float], Mapping[str, Any]]


@dataclass(frozen=True)
class Allow:
    """A verified session: its binding, or, for a customer who may not be served
    (gateway.designated), no binding and ``designated`` false. That decision is an Allow
    too, so that the proxy can answer 403 ``not_designated`` with a message a portal can
    show (a Deny's answer is API Gateway's one fixed text); its context names no
    customer, so it opens nothing."""

    principal_id: str
    binding: Binding | None
    session_expires_at: float
    utility_code: str
    designated: bool = True
    # A session the day's budget could not bind now (LoginBudgetSpentError): unbound, so
    # it opens nothing; the proxy answers 503 with Retry-After until ``retry_at``, or
    # until API Gateway's cache of this decision (from ``decided_at``) lets it be asked
    # again.
    retry_at: float | None = None
    decided_at: float = 0.0

    def response(self, method_arn: str) -> dict[str, Any]:
        context: dict[str, Any] = {
            ctx.UTILITY_CODE: self.utility_code,
            # API Gateway caches this decision per token for a fixed TTL; the proxy
            # refuses it once the session itself has expired.
            ctx.SESSION_EXPIRES_AT: math.floor(self.session_expires_at),
            ctx.CUSTOMER_HASH: self.principal_id,
        }
        if self.retry_at is not None:
            context[ctx.RETRY_AT] = math.ceil(self.retry_at)
            context[ctx.DECIDED_AT] = math.floor(self.decided_at)
        elif not self.designated or self.binding is None:
            context[ctx.DESIGNATED] = "0"
        else:
            context |= {
                ctx.CUSTOMER_ID: self.binding.customer_id,
                ctx.UTILITY_CUSTOMER_ID: self.binding.utility_customer_id,
                ctx.ACCOUNT_IDS: ",".join(self.binding.account_ids),
                ctx.RAW_MINUTES: ctx.format_raw_minutes(dict(self.binding.raw_minutes)),
                ctx.ACCOUNTS_VERSION: self.binding.version,
            }
        return {
            "principalId": self.principal_id,
            "policyDocument": policy("Allow", customer_routes_arn(method_arn)),
            "context": context,
        }


def deny_response(method_arn: str) -> dict[str, Any]:
    return {
        "principalId": "denied",
        "policyDocument": policy("Deny", customer_routes_arn(method_arn)),
    }


def policy(effect: str, resource: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
    }


def customer_routes_arn(method_arn: str) -> str:
    """``arn:…:{api}/{stage}/{method}/{path}`` → every method on ``/v1/me/*`` of that stage.

    The decision is cached per token and reused for the other routes, so the policy
    covers the customer API; routes outside it are never allowed by it.
    """
    parts = method_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise AuthenticationError("bad_method_arn")
    api_and_stage = parts[5].split("/")
    if len(api_and_stage) < 2:
        raise AuthenticationError("bad_method_arn")
    return ":".join(parts[:5]) + f":{api_and_stage[0]}/{api_and_stage[1]}/*/v1/me/*"


class Authorizer:
    def __init__(
        self,
        *,
        verify: Verifier,
        resolvers: Mapping[str, BindingResolver],
        clock: Clock,
        customer_claim: str,
        accounts_claim: str,
        company_claim: str = "utilityCode",
        max_session_age_s: float = 0,
        fetch_claims: ClaimsFetcher | None = None,
        designated: Mapping[str, DesignatedCustomers] | None = None,
        designated_claim: str = "",
    ) -> None:
        if not resolvers:
            raise ValueError("at least one operating company is needed")
        self._verify = verify
        self._resolvers = dict(resolvers)
        self._company_claim = company_claim
        self._clock = clock
        self._customer_claim = customer_claim
        self._accounts_claim = accounts_claim
        self._max_session_age_s = max_session_age_s
        self._fetch_claims = fetch_claims
        self._designated = dict(designated or {})
        self._designated_claim = claim_path(designated_claim) if designated_claim else None

    def authorize(
        self,
        headers: Mapping[str, str] | None,
        *,
        deadline: float,
        multi_value_headers: Mapping[str, Any] | None = None,
    ) -> Allow:
        token = bearer_token(headers, multi_value_headers)
        claims = self._verify(token)
        if self._fetch_claims is not None:
            claims = self._fetch_claims(token, claims, deadline)
        identity = self.identity(claims)
        utility_code = self.company(claims)
        principal = customer_hash(utility_code, identity.utility_customer_id)
        if self._designated_claim is not None and not _true(
            claim_value(claims, self._designated_claim)
        ):
            # Not on the utility's designated list: no Opower lookup, nothing counted.
            return Allow(principal, None, identity.expires_at, utility_code, designated=False)
        try:
            binding = self._resolvers[utility_code].resolve(
                identity, deadline=deadline, customer_key=principal
            )
        except LoginBudgetSpentError as exc:
            now = self._clock.now()
            return Allow(
                principal,
                None,
                identity.expires_at,
                utility_code,
                retry_at=now + (exc.retry_after_s or 0),
                decided_at=now,
            )
        cap = self._designated.get(utility_code)
        if cap is not None and not cap.admit(principal, at=self._clock.now()):
            return Allow(principal, None, identity.expires_at, utility_code, designated=False)
        return Allow(
            principal_id=principal,
            binding=binding,
            session_expires_at=identity.expires_at,
            utility_code=utility_code,
        )

    def company(self, claims: Mapping[str, Any]) -> str:
        """The customer's operating company, from the verified session only: with several
        companies the claim is required; a value naming none of them is refused, never
        guessed by trying each company (a 403, reason in logs and metrics)."""
        named = claim_value(claims, claim_path(self._company_claim))
        if named is None:
            if len(self._resolvers) == 1:
                return next(iter(self._resolvers))
            raise AccessDeniedError("missing_company_claim")
        if isinstance(named, str) and named in self._resolvers:
            return named
        raise AccessDeniedError("unknown_company")

    def identity(self, claims: Mapping[str, Any]) -> SessionIdentity:
        identity = identity_from_claims(
            claims, customer_claim=self._customer_claim, accounts_claim=self._accounts_claim
        )
        now = self._clock.now()
        if identity.expires_at <= now:
            raise AuthenticationError("token_expired")
        if self._max_session_age_s:
            # A session is only as old as its sign-in: a stolen long-lived token stops
            # working after this, however far its exp is.
            if identity.issued_at is None:
                raise AuthenticationError("missing_iat_claim")
            if identity.issued_at < now - self._max_session_age_s:
                raise AuthenticationError("session_too_old")
        return identity


def _true(value: Any) -> bool:
    """A claim saying yes: JSON true, or the text "true" (string-only attributes)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
