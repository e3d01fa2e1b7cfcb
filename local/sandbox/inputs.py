"""Reading a data request's inputs as Opower does: ids in the path (unknown: 404), query
enumerations and JSON bodies (invalid: 400).

Shared by the data routes of `api`, `contacts` and `tips`, so that every service refuses
the same input the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import TypeGuard

from local.sandbox.data import Customer, Directory, UtilityAccount
from local.sandbox.errors import bad_request, not_found
from local.sandbox.messages import JSON_TYPE, Request, Response

RESPONSE = "response"

Params = Mapping[str, str]
Handler = Callable[[Params, Request], Response]


def customer_by_id(directory: Directory, raw_id: str) -> Customer:
    """The customer of an Opower customer id in the path; 404 unless it is one (an id
    that is not an integer is an unknown id)."""
    customer = directory.customer_by_id(int(raw_id)) if raw_id.isdecimal() else None
    if customer is None:
        raise not_found(f"Unknown customer {raw_id!r}")
    return customer


def customer_by_utility_id(directory: Directory, utility_customer_id: str) -> Customer:
    """The customer of a utility (CIS) customer id in the path; 404 unless it is one."""
    customer = directory.customer_by_utility_id(utility_customer_id)
    if customer is None:
        raise not_found(f"Unknown utilityCustomerId {utility_customer_id!r}")
    return customer


def account_by_id(directory: Directory, raw_id: str) -> UtilityAccount:
    """The utility account of an Opower account id; 404 unless it is one."""
    account = directory.account_by_id(int(raw_id)) if raw_id.isdecimal() else None
    if account is None:
        raise not_found(f"Unknown utility account {raw_id!r}")
    return account


def choice(
    request: Request, name: str, values: tuple[str, ...], *, required: bool = False
) -> str | None:
    """A query parameter that must be one of `values` (None when absent and optional)."""
    value = request.single(name)
    if value is None:
        if required:
            raise bad_request(f"Missing required parameter '{name}'")
        return None
    if value not in values:
        raise bad_request(f"'{name}' must be one of {', '.join(values)}")
    return value


def json_body(request: Request) -> object:
    """The request body as JSON; 400 unless sent as `application/json`."""
    content_type = (request.header("content-type") or "").partition(";")[0].strip().lower()
    if content_type != JSON_TYPE:
        raise bad_request("Content-Type must be application/json")
    try:
        return json.loads(request.body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise bad_request("Body is not valid JSON") from exc


def json_object(request: Request, what: str) -> dict[str, object]:
    """The request body as a JSON object; 400 otherwise."""
    body = json_body(request)
    if not isinstance(body, dict):
        raise bad_request(f"{what} must be a JSON object")
    return body


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[int | float]:
    return is_int(value) or (isinstance(value, float) and math.isfinite(value))
