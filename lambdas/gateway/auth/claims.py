"""Reading what a verified session's claims say, as identity providers write them.

* The audience: ``aud`` as a string or a list, or a ``client_id`` where a token has no
  ``aud`` (Amazon Cognito's access tokens; RFC 9068 2.2 names ``client_id`` too).
* A claim named by :func:`gateway.settings.claim_path`: a top-level name taken literally
  (``custom:accountNumbers``, Entra's ``extn.accountNumbers``, Auth0's
  ``https://utility.example.com/accountNumbers``), or a JSON Pointer into nested claims
  (Keycloak's ``/opower/accountNumbers``).
* Account numbers: a JSON array of strings, or one string of numbers separated by commas
  or white space, as string-only attributes hold them (Cognito custom attributes, Entra
  directory extensions).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

_SEPARATORS = re.compile(r"[\s,]+")


def audience_matches(claims: Mapping[str, Any], audiences: Collection[str]) -> bool:
    """Whether the token is meant for one of ``audiences``: its ``aud`` (a string or a
    list of strings, RFC 7519 4.1.3) holds one, or, with no ``aud`` claim at all, its
    ``client_id`` is one. A token with an ``aud`` is never judged by its ``client_id``."""
    if "aud" in claims:
        aud = claims["aud"]
        given = [aud] if isinstance(aud, str) else aud
        return isinstance(given, list) and any(isinstance(a, str) and a in audiences for a in given)
    client_id = claims.get("client_id")
    return isinstance(client_id, str) and client_id in audiences


def claim_value(claims: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The value at ``path`` (keys of nested objects; a decimal key indexes a list, as in
    RFC 6901), or None where there is none."""
    value: Any = claims
    for key in path:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and key.isascii():
            index = int(key)
            value = value[index] if index < len(value) else None
        else:
            return None
    return value


def account_numbers(value: Any) -> list[Any] | None:
    """The account numbers a claim holds, or None when it holds none: a list as given
    (its items are checked by the caller), a string split at commas and white space."""
    if isinstance(value, str):
        numbers = [n for n in _SEPARATORS.split(value) if n]
        return numbers or None
    if isinstance(value, list) and value:
        return value
    return None
