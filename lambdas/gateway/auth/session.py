"""The customer's session: where its token comes from and what a verified one says."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.auth.claims import account_numbers, claim_value
from gateway.auth.errors import AuthenticationError
from gateway.settings import claim_path

_BEARER = re.compile(r"Bearer ([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
MAX_TOKEN_LENGTH = 8192
# A household has a few accounts; a token naming dozens is a probe (each number costs an
# Opower lookup while binding).
MAX_ACCOUNT_NUMBERS = 10
MAX_CLAIM_LENGTH = 128


@dataclass(frozen=True)
class SessionIdentity:
    """What the verified session says about the customer (no token in here)."""

    subject: str
    utility_customer_id: str
    account_numbers: tuple[str, ...]
    expires_at: float
    issued_at: float | None = None


def bearer_token(
    headers: Mapping[str, str] | None,
    multi_value_headers: Mapping[str, Any] | None = None,
) -> str:
    """The session token from ``Authorization: Bearer …`` (header names in any case).

    A request carrying more than one Authorization value is refused: API Gateway caches
    the decision under one value (its identity source) and hands the function all of
    them, so "which one was checked" must never be a question.
    """
    values = [v for name, v in (headers or {}).items() if name.lower() == "authorization"]
    for name, given in (multi_value_headers or {}).items():
        if name.lower() == "authorization" and isinstance(given, list) and len(given) > 1:
            raise AuthenticationError("multiple_authorization")
    if len(values) > 1:
        raise AuthenticationError("multiple_authorization")
    value = values[0] if values else None
    if not value:
        raise AuthenticationError("no_token")
    match = _BEARER.fullmatch(value.strip())
    if match is None or len(match.group(1)) > MAX_TOKEN_LENGTH:
        raise AuthenticationError("malformed_authorization")
    return match.group(1)


def identity_from_claims(
    claims: Mapping[str, Any], *, customer_claim: str, accounts_claim: str
) -> SessionIdentity:
    """The customer's ids from the claims named ``customer_claim`` and ``accounts_claim``
    (each a name or a JSON Pointer, gateway.settings.claim_path); the account numbers a
    list or one string of them (gateway.auth.claims.account_numbers)."""
    customer = claim_value(claims, claim_path(customer_claim))
    if not _plain(customer, MAX_CLAIM_LENGTH):
        raise AuthenticationError("missing_customer_claim")
    assert isinstance(customer, str)
    accounts = account_numbers(claim_value(claims, claim_path(accounts_claim)))
    if accounts is None:
        raise AuthenticationError("missing_account_claim")
    if len(accounts) > MAX_ACCOUNT_NUMBERS:
        raise AuthenticationError("too_many_account_numbers")
    if not all(_plain(a, 64) for a in accounts):
        raise AuthenticationError("missing_account_claim")
    expires_at = claims.get("exp")
    if not isinstance(expires_at, (int, float)) or isinstance(expires_at, bool):
        raise AuthenticationError("missing_exp_claim")
    subject = claims.get("sub")
    issued_at = claims.get("iat")
    return SessionIdentity(
        subject=subject if isinstance(subject, str) else customer,
        utility_customer_id=customer.strip(),
        account_numbers=tuple(sorted({a.strip() for a in accounts})),
        expires_at=float(expires_at),
        issued_at=(
            float(issued_at)
            if isinstance(issued_at, (int, float)) and not isinstance(issued_at, bool)
            else None
        ),
    )


def _plain(value: object, max_length: int) -> bool:
    """A non-empty string of printable characters (no control characters, no newlines):
    identity claims become cache keys and Opower query values."""
    return (
        isinstance(value, str)
        and bool(value.strip())
        and len(value) <= max_length
        and value.isprintable()
    )
