"""The customer's session: where its token comes from and what a verified one says."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.auth.errors import AuthenticationError

_BEARER = re.compile(r"Bearer ([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
MAX_TOKEN_LENGTH = 8192
MAX_ACCOUNT_NUMBERS = 20


@dataclass(frozen=True)
class SessionIdentity:
    """What the verified session says about the customer (no token in here)."""

    subject: str
    utility_customer_id: str
    account_numbers: tuple[str, ...]
    expires_at: float


def bearer_token(headers: Mapping[str, str] | None) -> str:
    """The session token from ``Authorization: Bearer …`` (header names in any case)."""
    value = None
    for name, header in (headers or {}).items():
        if name.lower() == "authorization":
            value = header
    if not value:
        raise AuthenticationError("no_token")
    match = _BEARER.fullmatch(value.strip())
    if match is None or len(match.group(1)) > MAX_TOKEN_LENGTH:
        raise AuthenticationError("malformed_authorization")
    return match.group(1)


def identity_from_claims(
    claims: Mapping[str, Any], *, customer_claim: str, accounts_claim: str
) -> SessionIdentity:
    customer = claims.get(customer_claim)
    if not isinstance(customer, str) or not customer.strip() or len(customer) > 128:
        raise AuthenticationError("missing_customer_claim")
    raw_accounts = claims.get(accounts_claim)
    accounts = [raw_accounts] if isinstance(raw_accounts, str) else raw_accounts
    if (
        not isinstance(accounts, list)
        or not accounts
        or len(accounts) > MAX_ACCOUNT_NUMBERS
        or not all(isinstance(a, str) and a.strip() and len(a) <= 64 for a in accounts)
    ):
        raise AuthenticationError("missing_account_claim")
    expires_at = claims.get("exp")
    if not isinstance(expires_at, (int, float)) or isinstance(expires_at, bool):
        raise AuthenticationError("missing_exp_claim")
    subject = claims.get("sub")
    return SessionIdentity(
        subject=subject if isinstance(subject, str) else customer,
        utility_customer_id=customer.strip(),
        account_numbers=tuple(sorted({a.strip() for a in accounts})),
        expires_at=float(expires_at),
    )
