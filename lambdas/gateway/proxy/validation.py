"""A customer request, checked against the route table before anything leaves the gateway.

Deny by default: a resource that is not in the table is 404, a method the route lacks
405; path parameter values other than plain segments (encoded characters, dot segments,
control characters, over-long values), unknown or repeated query parameters, bad enums,
dates and windows 400; bodies JSON only (415), size-limited (413), validated (400).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from gateway import routes
from gateway.api_responses import (
    METHOD_NOT_ALLOWED_MESSAGE,
    NOT_FOUND_MESSAGE,
    UNSUPPORTED_MEDIA_TYPE_MESSAGE,
    RequestError,
    bad_request,
)
from gateway.auth_context import BindingView
from gateway.routes import ROUTES, TEXT_PATTERN, BodyField, Operation, Param, Route

# The customer API's paths and the service API's (the same routes, gateway.service).
ROUTES_BY_PATH: Mapping[str, Route] = {
    **{route.path: route for route in ROUTES},
    **{routes.service_path(route): route for route in ROUTES},
}

MAX_QUERY_VALUE_LENGTH = 64
_SEGMENT = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
# A date-time without seconds (T00:00-05:00): the seconds are added before it is sent.
_NO_SECONDS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})([+-]\d{2}:\d{2})$")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# "+01:00" sent unencoded in a query string arrives as " 01:00": API Gateway decodes "+"
# as a space (aws/aws-cdk#19827 shows such an event). A space before an offset at the end
# of a date-time can only have been a "+".
_SPACE_FOR_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?) (\d{2}:\d{2})$")
_ACCOUNT_ID = re.compile(r"[0-9]{1,19}")
_LOCALE = re.compile(r"[a-z]{2,3}_[A-Z]{2}")
# The gateway's own checks of a text's form (Oracle's pages give none; its Account Center
# does "basic validation ... that the phone numbers and email addresses resemble real
# values"): an address with one @ and a dotted domain; a phone number of 7-15 digits
# (E.164's most) with the usual separators; an upper-case code such as HOME_ENERGY.
_FORMATS: Mapping[str, tuple[re.Pattern[str], str]] = {
    name: (re.compile(pattern), form) for name, (pattern, form) in routes.FORMATS.items()
}
_TEXT = re.compile(TEXT_PATTERN)
# Code points no text holds: lone UTF-16 surrogates (what JSON's backslash-u escapes can
# make, not UTF-8 at all) and Unicode's noncharacters. Checked here beside TEXT_PATTERN,
# which the document states, so that its regex stays one every JSON Schema generator reads.
_NOT_TEXT = re.compile("[\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_JSON_TYPES = {"application/json"}
_LARGEST_EXACT_INTEGER = 2**53


NOT_FOUND = NOT_FOUND_MESSAGE


@dataclass(frozen=True)
class Upstream:
    route: Route
    operation: Operation
    path: str  # /apis/…, every segment percent-encoded
    query: tuple[tuple[str, str], ...]
    body: bytes | None
    path_values: Mapping[str, str] = field(default_factory=dict)  # validated path params


def match(
    resource: str | None, path_parameters: Mapping[str, Any] | None, method: str
) -> tuple[Route, Operation, dict[str, str]]:
    """The route, operation and path parameters of a request, from what API Gateway
    matched: the resource template and the raw (not decoded) path parameter values.

    Routing on the resource, not on ``event["path"]``: behind a custom domain with a base
    path mapping, the path carries the base path, the resource does not.
    """
    route = ROUTES_BY_PATH.get(resource or "")
    if route is None:
        raise RequestError(404, "not_found", NOT_FOUND)
    operation = route.operation(method)
    if operation is None:
        raise RequestError(
            405,
            "method_not_allowed",
            METHOD_NOT_ALLOWED_MESSAGE,
            {"Allow": ", ".join(route.methods)},
        )
    given = path_parameters if isinstance(path_parameters, Mapping) else {}
    params = {}
    for name in route.path_params:
        value = given.get(name)
        if not isinstance(value, str) or not _SEGMENT.fullmatch(value) or value in {".", ".."}:
            raise bad_request(
                f"Path parameter '{name}' must be 1-64 letters, digits, '.', '_' or '-'"
            )
        params[name] = value
    return route, operation, params


def build_upstream(
    route: Route,
    operation: Operation,
    path_params: Mapping[str, str],
    query: Mapping[str, Sequence[str]] | None,
    body: bytes | None,
    content_type: str | None,
    *,
    binding: BindingView,
    utility_code: str,
    now: datetime,
) -> Upstream:
    values: dict[str, str] = {}
    for name, param in route.path_params.items():
        values[name] = _path_value(name, param, path_params[name], binding)
    query_values = _query(operation, query, now, binding)
    for check in operation.checks:
        CHECKS[check]({**values, **query_values}, now, binding)
    slots = {
        "U": utility_code,
        "customerId": binding.customer_id,
        "utilityCustomerId": binding.utility_customer_id,
        **values,
    }
    upstream_path = routes.upstream_path(route, slots)
    upstream_query = (
        tuple(
            (operation.query[name].upstream or name, _upstream_value(operation.query[name], value))
            for name, value in query_values.items()
        )
        + operation.fixed_query
    )
    return Upstream(
        route=route,
        operation=operation,
        path=upstream_path,
        query=upstream_query,
        body=_body(operation, body, content_type, binding),
        path_values=values,
    )


def _path_value(name: str, param: Param, value: str, binding: BindingView) -> str:
    if param.kind == "bound_account":
        if not _ACCOUNT_ID.fullmatch(value):
            raise bad_request(
                f"'{name}' must be a utility-account id: digits, an id of /v1/me/accounts"
            )
        # Not yours and not existing are the same answer: ids cannot be probed.
        if value not in binding.account_ids:
            raise RequestError(404, "not_found", NOT_FOUND)
        return value
    if param.kind == "enum" and value not in param.values:
        raise bad_request(f"'{name}' must be one of {', '.join(param.values)}")
    if param.kind == "owned" and param.owner_field == "id" and not _ACCOUNT_ID.fullmatch(value):
        # Opower's ids of contacts and preferences are integers; whether this one is the
        # customer's is asked of their own list (gateway.proxy.entry).
        raise bad_request(f"'{name}' must be an id: digits")
    return value


def _query(
    operation: Operation,
    query: Mapping[str, Sequence[str]] | None,
    now: datetime,
    binding: BindingView,
) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, given in (query or {}).items():
        param = operation.query.get(name)
        if param is None:
            raise bad_request(f"Unknown query parameter '{_printable(name)}'")
        if len(given) != 1:
            raise bad_request(f"Query parameter '{name}' must be given once")
        values[name] = _query_value(name, param, given[0], now)
        if param.kind == "bound_account":
            _path_value(name, param, values[name], binding)
    for name, param in operation.query.items():
        if param.required and name not in values:
            raise bad_request(f"Missing required query parameter '{name}'")
    return values


def _query_value(name: str, param: Param, value: str, now: datetime) -> str:
    if len(value) > MAX_QUERY_VALUE_LENGTH or any(ord(c) < 0x20 for c in value):
        raise bad_request(f"Query parameter '{name}' is too long or has control characters")
    if param.kind == "enum" and value not in param.values:
        raise bad_request(f"'{name}' must be one of {', '.join(param.values)}")
    if param.kind == "bool" and value not in {"true", "false"}:
        raise bad_request(f"'{name}' must be true or false")
    if param.kind == "int" and not (
        value.isascii() and value.isdigit() and param.minimum <= int(value) <= param.maximum
    ):
        raise bad_request(
            f"'{name}' must be a whole number from {param.minimum} to {param.maximum}"
        )
    if param.kind == "locale" and not _LOCALE.fullmatch(value):
        raise bad_request(f"'{name}' must be a locale like en_US")
    if param.kind == "date":
        _served_date(name, _parse_date(name, value), now)
    if param.kind == "datetime":
        value = _SPACE_FOR_PLUS.sub(r"\1+\2", value)
        parse_datetime(name, value)
    return value


def _upstream_value(param: Param, value: str) -> str:
    """A value in the form the operation's page documents. Date-times: the usage pages
    document YYYY-MM-DD, YYYY-MM-DDThh:mm:ssTZD and YYYY-MM-DDThh:mm:ss.sTZD, with -00:00 for
    UTC ("Z is not currently supported"): a time without seconds gets them, Z becomes
    -00:00, the same instant. Get List of Neighbor Comparisons documents date-time only
    (``param.dates`` false): a date is sent as midnight UTC of that day."""
    if param.kind != "datetime":
        return value
    if _DATE.fullmatch(value):
        return value if param.dates else f"{value}T00:00:00-00:00"
    if value.endswith("Z"):
        value = value[:-1] + "-00:00"
    return _NO_SECONDS.sub(r"\1:00\2", value)


def _parse_date(name: str, value: str) -> date:
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise bad_request(f"'{name}' must be a date like 2026-01-31") from None


def parse_datetime(name: str, value: str) -> datetime:
    """A usage bound: a date-time with its offset or, as the usage pages allow, a date.

    A date is midnight where the service point is, which only Opower knows: the gateway
    measures it as midnight UTC, so its windows and caps are right to the day (a day of a
    change to or from summer time is an hour longer or shorter, and Opower decides those)."""
    try:
        if _DATE.fullmatch(value):
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        if not _DATETIME.fullmatch(value):
            raise ValueError
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(
            f"'{name}' must be a date like 2026-01-01 or an ISO-8601 date-time with an "
            "offset, like 2026-01-01T00:00:00-05:00"
        ) from None
    offset = parsed.utcoffset()
    if offset is None or offset % timedelta(minutes=15):
        raise bad_request(f"'{name}' must have an offset in whole quarter hours")
    return parsed


# -- named checks over validated parameters -------------------------------------------


# Dates Opower serves. Documented ("Opower's REST APIs", usage-v1): raw intervals for the
# last 730 days, bills for the last 2 years. Our bounds for the rest, far from any real
# request and far from any calendar's edge: daily usage and asOf dates at most 6 years
# back (utilities keep about 7 years of bills), nothing more than a year ahead.
HISTORY_DAYS = {"raw": 730, "billing": 730, "day": 6 * 365}
AS_OF_HISTORY_DAYS = 6 * 365
AS_OF_AHEAD_DAYS = 366
USAGE_AHEAD_DAYS = 366


def _served_date(name: str, value: date, now: datetime) -> None:
    first = (now - timedelta(days=AS_OF_HISTORY_DAYS)).date()
    last = (now + timedelta(days=AS_OF_AHEAD_DAYS)).date()
    if not first <= value <= last:
        raise bad_request(f"'{name}' must be between {first.isoformat()} and {last.isoformat()}")


def _usage_window(values: Mapping[str, str], now: datetime, binding: BindingView) -> None:
    """Opower's windows and per-request caps, enforced before anything is sent upstream.

    Bounds first, by arithmetic only: a window ending in year 9999 is refused before any
    calendar is walked (nothing here can overflow or loop for long). A raw window is
    counted in the intervals of the customer's finest active meter of that fuel (its
    utility account's resolution, from the binding), or in 15-minute ones when none is
    known.
    """
    start = parse_datetime("start", values["start"])
    end = parse_datetime("end", values["end"])
    if start >= end:
        raise bad_request("'start' must be before 'end'")
    resolution = values["resolution"]
    earliest = now - timedelta(days=HISTORY_DAYS[resolution])
    latest = now + timedelta(days=USAGE_AHEAD_DAYS)
    served = f"{earliest.date().isoformat()} to {latest.date().isoformat()}"
    if start < earliest:
        raise bad_request(f"{resolution} usage is served from {served}: 'start' is too early")
    if end > latest:
        raise bad_request(f"{resolution} usage is served from {served}: 'end' is too late")
    if resolution == "raw":
        fuel = values.get("fuel", "")
        minutes = binding.raw_minutes.get(fuel, UNKNOWN_METER_MINUTES)
        if (end - start) > RAW_MAX_INTERVALS * timedelta(minutes=minutes):
            raise bad_request(raw_cap_message(fuel, minutes, known=fuel in binding.raw_minutes))
        return
    limit, measure, message = PER_REQUEST[resolution]
    if measure(start, end) > limit:
        raise bad_request(message)


RAW_MAX_INTERVALS = 100
# A meter whose resolution the binding does not know (an account without one, MONTH or
# BILLING, a value Oracle adds, a session bound before resolutions were kept): counted as
# the most common interval meter's, as before resolutions were read.
UNKNOWN_METER_MINUTES = 15


def raw_cap_message(fuel: str, minutes: int, *, known: bool = True) -> str:
    hours = timedelta(minutes=minutes) * RAW_MAX_INTERVALS / timedelta(hours=1)
    if not known:
        meter = f"counted in {minutes}-minute intervals"
    elif minutes == 1:
        # A one-minute meter, or one whose resolution Opower did not give or the gateway
        # does not know: counted as the finest (gateway.auth.binding).
        meter = f"your {fuel} meter reads every minute (or its interval is not known: a minute)"
    else:
        meter = f"your {fuel} meter reads every {minutes} minutes"
    return (
        f"raw usage is limited to {RAW_MAX_INTERVALS} intervals per request: {meter}, so at "
        f"most {hours:g} hours"
    )


def _whole_months(start: datetime, end: datetime) -> int:
    """Calendar months (bill periods) wholly inside [start, end), in start's offset,
    counted by arithmetic (no calendar walked)."""
    local_end = end.astimezone(start.tzinfo)
    floor = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    first = start.year * 12 + start.month - 1 + (1 if floor < start else 0)
    last = local_end.year * 12 + local_end.month - 1  # the month containing end
    return max(0, last - first)


# Opower's per-request caps: the limit, how a window is measured, what to say (raw: in
# the customer's meter's intervals, raw_cap_message).
PER_REQUEST: Mapping[str, tuple[int, Callable[[datetime, datetime], int], str]] = {
    "day": (
        45,
        lambda start, end: math.ceil((end - start) / timedelta(days=1)),
        "daily usage is limited to 45 days per request",
    ),
    "billing": (25, _whole_months, "billing usage is limited to 25 bills per request"),
}


def _bill_dates(values: Mapping[str, str], now: datetime, binding: BindingView) -> None:
    if values["billStartDate"] >= values["billEndDate"]:  # both YYYY-MM-DD
        raise bad_request("'billStartDate' must be before 'billEndDate'")


# Get List of Neighbor Comparisons: "Data is available for the past 12 months"; a window
# reaching further back than this (a year and a billing period) cannot hold any.
NEIGHBOR_HISTORY_DAYS = 400


def _history_window(values: Mapping[str, str], now: datetime, binding: BindingView) -> None:
    start = parse_datetime("start", values["start"]) if "start" in values else None
    end = parse_datetime("end", values["end"]) if "end" in values else None
    if start is not None and end is not None and start >= end:
        raise bad_request("'start' must be before 'end'")
    earliest = now - timedelta(days=NEIGHBOR_HISTORY_DAYS)
    latest = now + timedelta(days=AS_OF_AHEAD_DAYS)
    for name, bound in (("start", start), ("end", end)):
        if bound is not None and not earliest <= bound <= latest:
            raise bad_request(
                f"neighbor comparisons cover the last 12 months: '{name}' must be between "
                f"{earliest.date().isoformat()} and {latest.date().isoformat()}"
            )


CHECKS: Mapping[str, Callable[[Mapping[str, str], datetime, BindingView], None]] = {
    "usage_window": _usage_window,
    "bill_dates": _bill_dates,
    "history_window": _history_window,
}


# -- bodies ---------------------------------------------------------------------------
def _body(
    operation: Operation, body: bytes | None, content_type: str | None, binding: BindingView
) -> bytes | None:
    schema = operation.body
    if schema is None:
        if body:
            raise bad_request(f"{operation.method} takes no body")
        return None
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in _JSON_TYPES:
        raise RequestError(415, "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE_MESSAGE)
    if body is None or not body.strip():
        raise bad_request("A JSON body is required")
    if len(body) > schema.max_bytes:
        raise RequestError(
            413, "payload_too_large", f"The body is larger than {schema.max_bytes} bytes"
        )
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The body is not valid JSON") from None
    except RecursionError:  # nested deeper than the parser goes (a few KB can do it)
        raise bad_request("The body is nested too deeply") from None
    if not isinstance(document, dict):
        raise bad_request("The body must be a JSON object")
    unknown = sorted(set(document) - set(schema.fields))
    if unknown:
        raise bad_request(f"Unknown field '{_printable(unknown[0])}'")
    for name, spec in schema.fields.items():
        if name in schema.bound:
            # Read-only: replaced from the binding below, but held to its documented type
            # so that the document and the answer agree ({} or "abc" is a 400).
            if name in document:
                _check_field(name, spec, document[name])
            continue
        if name not in document:
            if spec.required:
                raise bad_request(f"Missing required field '{name}'")
            continue
        _check_field(name, spec, document[name])
        if spec.kind == "integer":
            document[name] = int(document[name])  # 80.0 is an integer to JSON Schema, not to Opower
    if schema.one_of and not any(name in document for name in schema.one_of):
        raise bad_request(f"Give at least one of {', '.join(schema.one_of)}")
    if len(document) < schema.min_fields:
        raise bad_request(f"Give at least one of {', '.join(schema.fields)} to change")
    for name, slot in schema.bound.items():
        document[name] = _bound_value(binding, slot)
    return json.dumps(document, separators=(",", ":")).encode()


def _check_field(name: str, spec: BodyField, value: Any) -> None:
    if spec.kind == "boolean":
        if not isinstance(value, bool):
            raise bad_request(f"'{name}' must be true or false")
        return
    if spec.kind == "string":
        if not isinstance(value, str) or not value or len(value) > spec.max_length:
            raise bad_request(f"'{name}' must be a non-empty string of at most {spec.max_length}")
        if not _TEXT.fullmatch(value) or _NOT_TEXT.search(value):
            raise bad_request(
                f"'{name}' must be printable text (no control or invisible formatting characters)"
            )
        if spec.values and value not in spec.values:
            raise bad_request(f"'{name}' must be one of {', '.join(spec.values)}")
        if spec.format:
            pattern, form = _FORMATS[spec.format]
            if not pattern.fullmatch(value):
                raise bad_request(f"'{name}' must be {form}")
        return
    numeric = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        # JSON allows integers of any length; beyond 2**53 they are not numbers anyone means
        and abs(value) <= _LARGEST_EXACT_INTEGER
    )
    if spec.kind == "integer" and not (numeric and float(value).is_integer()):
        raise bad_request(f"'{name}' must be an integer")
    if spec.kind == "number" and not (numeric and math.isfinite(value)):
        raise bad_request(f"'{name}' must be a number")
    if spec.minimum is not None and value < spec.minimum:
        raise bad_request(f"'{name}' must be at least {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise bad_request(f"'{name}' must be at most {spec.maximum:g}")


def _bound_value(binding: BindingView, slot: str) -> int | str:
    value = binding.customer_id if slot == "customerId" else binding.utility_customer_id
    return int(value) if value.isascii() and value.isdigit() else value


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)[:40]
