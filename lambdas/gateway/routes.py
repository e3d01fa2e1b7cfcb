"""The route table: the customer API, and the only Opower calls a customer can cause.

Each route maps a customer path (under ``/v1/me``) to one Opower upstream template, with
its methods, query parameters, body schema and binding slots. ``{U}`` is the configured
utility code; ``{customerId}`` and ``{utilityCustomerId}`` come only from the verified
binding; a path parameter of kind ``bound_account`` must be one of the binding's
utility-account ids. Anything not in this table is refused (404 / 405).

Adding a route is one entry here plus its tests; the proxy, the OpenAPI document and the
API Gateway resources of the stack are all derived from this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import quote

from gateway import schemas

ParamKind = Literal["enum", "datetime", "date", "bool", "bound_account"]
FieldKind = Literal["string", "integer", "number"]
BINDING_SLOTS = frozenset({"customerId", "utilityCustomerId"})


@dataclass(frozen=True)
class Param:
    kind: ParamKind
    description: str
    values: tuple[str, ...] = ()
    required: bool = False


# Text fields: anything but control characters (C0, DEL, C1) and the invisible formatting
# characters used to spoof text (zero-width, bidi embeddings, overrides and isolates, line
# and paragraph separators, BOM, interlinear annotation): none belongs in a home profile,
# and they are how log injection and display spoofing start. One pattern for the document
# (ECMA-262 and Python read it alike) and for the check.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]*$"


@dataclass(frozen=True)
class BodyField:
    kind: FieldKind
    description: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] = ()
    max_length: int = 64


@dataclass(frozen=True)
class Body:
    fields: Mapping[str, BodyField]
    # Body fields the gateway sets from the binding, whatever the customer sent.
    bound: Mapping[str, str] = field(default_factory=dict)
    max_bytes: int = 4096


@dataclass(frozen=True)
class Caching:
    """How long a GET's answer stays fresh in the per-customer response cache.

    ``fresh_s`` is the default lifetime, in seconds, of the cache name (the route's name);
    a route whose answers age differently by a path parameter names it in ``by_param`` and
    gives each value its lifetime (cache names ``route/value``). Every lifetime can be
    changed, or set to 0 (not cached), with the ``cache_fresh_s`` setting.
    """

    fresh_s: int
    why: str
    by_param: str = ""
    per_value: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class UpstreamMeaning:
    """What an Opower status means on one operation, by its page, when that is not what
    the status means by itself (Delete Threshold's 400 is "No threshold found")."""

    status: int
    code: str
    message: str


@dataclass(frozen=True)
class Operation:
    method: str
    summary: str
    query: Mapping[str, Param] = field(default_factory=dict)
    body: Body | None = None
    # Named checks over the validated parameters (see gateway.proxy.validation.CHECKS).
    checks: tuple[str, ...] = ()
    response: Mapping[str, Any] | None = None  # JSON schema of a 200 answer, for OpenAPI
    # GET: kept in the per-customer response cache (gateway.response_cache) this long.
    cache: Caching | None = None
    # PUT / DELETE: the routes whose cached answers of this customer the write can change;
    # they are removed before the write is answered.
    invalidates: tuple[str, ...] = ()
    # Opower statuses this operation's page gives their own meaning (by status, never by
    # the text of Opower's message).
    upstream_meanings: Mapping[int, UpstreamMeaning] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    upstream: str
    operations: tuple[Operation, ...]
    path_params: Mapping[str, Param] = field(default_factory=dict)

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(op.method for op in self.operations)

    def operation(self, method: str) -> Operation | None:
        return next((op for op in self.operations if op.method == method), None)

    def cache_name(self, path_values: Mapping[str, str]) -> str:
        """The name of this route's cache lifetime for these path values."""
        get = self.operation("GET")
        if get is None or get.cache is None or not get.cache.by_param:
            return self.name
        return f"{self.name}/{path_values.get(get.cache.by_param, '')}"


_MINUTE = 60
_HOUR = 3600
_AS_OF = Param("date", "Date the answer is computed for (YYYY-MM-DD); default today")
_ISO = (
    "a date (2026-01-01: midnight where the meter is) or an ISO-8601 date-time with an "
    "offset, e.g. 2026-01-01T00:00:00-05:00 (Z is accepted; encode + as %2B)"
)

# What a 400 from Opower means on an operation whose page documents its rules: the
# customer is told the rules, in the gateway's words (Opower's own text is never passed
# on: it is not the gateway's to vouch for).
_USAGE_REFUSED = UpstreamMeaning(
    400,
    "rejected",
    "Opower refused the window: raw usage is at most 100 of your meter's intervals within "
    "the last 730 days, daily usage at most 45 days, billing usage at most 25 bills within "
    "the last 2 years; dates as YYYY-MM-DD or with an offset such as -05:00",
)
_NO_THRESHOLDS = UpstreamMeaning(
    400, "rejected", "Your utility does not support bill threshold alerts"
)
_THRESHOLD_REFUSED = UpstreamMeaning(
    400,
    "rejected",
    "Opower refused the threshold: it is negative or too high, or your utility does not "
    "support bill threshold alerts",
)

_HOME_PROFILE_FIELDS = {
    "customerId": BodyField(
        "integer", "Read-only: the gateway sets it from your session, whatever is sent"
    ),
    "dwellingType": BodyField("string", "Kind of home", values=schemas.DWELLING_TYPES),
    "heatType": BodyField("string", "Main heating", values=schemas.HEAT_TYPES),
    "numberOfAdults": BodyField("integer", "Adults in the home", minimum=0, maximum=20),
    "numberOfChildren": BodyField("integer", "Children in the home", minimum=0, maximum=20),
    "squareFeet": BodyField("integer", "Floor area", minimum=1, maximum=100_000),
}

ROUTES: tuple[Route, ...] = (
    Route(
        name="accounts",
        path="/v1/me/accounts",
        upstream="customer-data-v2/{U}/customers/{customerId}/utility_accounts",
        operations=(
            Operation(
                "GET",
                "Your utility accounts",
                response=schemas.UTILITY_ACCOUNTS,
                cache=Caching(
                    12 * _HOUR,
                    "Utility accounts change when service starts or stops at an address, "
                    "loaded from the CIS in Opower's daily batch",
                ),
            ),
        ),
    ),
    Route(
        name="home_profile",
        path="/v1/me/home-profile",
        upstream="customer-data-v2/{U}/customers/{customerId}/home_profile",
        operations=(
            Operation(
                "GET",
                "Your home profile",
                response=schemas.HOME_PROFILE,
                cache=Caching(
                    10 * _MINUTE,
                    "The customer's own answers; a write through the gateway removes it at "
                    "once, the lifetime bounds what another channel's write leaves unseen",
                ),
            ),
            Operation(
                "PUT",
                "Update your home profile",
                body=Body(fields=_HOME_PROFILE_FIELDS, bound={"customerId": "customerId"}),
                invalidates=("home_profile",),
            ),
        ),
    ),
    Route(
        name="usage",
        path="/v1/me/usage/{resolution}/{fuel}",
        upstream="usage-v1/usage/{resolution}/{U}/{utilityCustomerId}/{fuel}",
        path_params={
            "resolution": Param(
                "enum",
                "raw (the meter's own intervals), day or billing",
                values=("raw", "day", "billing"),
            ),
            "fuel": Param("enum", "Fuel", values=("ELECTRICITY", "GAS")),
        },
        operations=(
            Operation(
                "GET",
                "Your energy usage, one stream per service point (raw: 100 intervals, "
                "day: 45 days, billing: 25 bills)",
                query={
                    "start": Param(
                        "datetime", f"Start, inclusive, before end: {_ISO}", required=True
                    ),
                    "end": Param("datetime", f"End, exclusive, after start: {_ISO}", required=True),
                },
                checks=("usage_window",),
                response=schemas.USAGE,
                # The usage pages' rules; the gateway checks them first, but Opower
                # counts a date's midnight and a meter it knows better.
                upstream_meanings={400: _USAGE_REFUSED},
                cache=Caching(
                    _HOUR,
                    "Meter reads arrive in batches through the day: 15-minute intervals "
                    "within minutes to hours, daily totals once the day's reads are in, "
                    "billing periods once a bill",
                    by_param="resolution",
                    per_value={"raw": 15 * _MINUTE, "day": _HOUR, "billing": 12 * _HOUR},
                ),
            ),
        ),
    ),
    Route(
        name="bill_comparison",
        path="/v1/me/accounts/{accountId}/bill-comparison",
        upstream="billComparison-v2/{U}/bill-comparison/accounts/{accountId}",
        path_params={
            "accountId": Param(
                "bound_account", "One of your utility-account ids (the id of /v1/me/accounts)"
            )
        },
        operations=(
            Operation(
                "GET",
                "How a bill compares with an earlier one",
                query={
                    "asOf": _AS_OF,
                    "comparisonBill": Param(
                        "enum",
                        "Compare with the previous bill (default) or last year's",
                        values=("PREVIOUS", "YEAR_AGO"),
                    ),
                    "fallbackToPreviousPeriod": Param(
                        "bool",
                        "With YEAR_AGO: compare with the previous bill when there is no bill "
                        "a year ago (default true)",
                    ),
                },
                response=schemas.BILL_COMPARISON,
                cache=Caching(12 * _HOUR, "Changes when a bill posts, once a billing period"),
            ),
        ),
    ),
    Route(
        name="bill_forecast",
        path="/v1/me/bill-forecast",
        upstream="billforecast-v2/{U}/customers/{customerId}/bill_forecast",
        operations=(
            Operation(
                "GET",
                "Forecast of your current bill",
                query={"asOf": _AS_OF},
                response=schemas.BILL_FORECAST,
                cache=Caching(6 * _HOUR, "Recomputed from the day's meter reads"),
            ),
        ),
    ),
    Route(
        name="neighbor_comparison",
        path="/v1/me/neighbor-comparison",
        upstream="neighborComparison-v1/{U}/customers/{customerId}/neighbor_comparison",
        operations=(
            Operation(
                "GET",
                "How your usage compares with similar homes",
                query={"asOf": _AS_OF},
                response=schemas.NEIGHBOR_COMPARISON,
                cache=Caching(
                    12 * _HOUR, "Computed per billing period against a group of similar homes"
                ),
            ),
        ),
    ),
    Route(
        name="threshold",
        path="/v1/me/threshold",
        upstream="threshold-v1/external/{U}/customers/{utilityCustomerId}/threshold",
        operations=(
            Operation(
                "GET",
                "Your bill threshold alert",
                response=schemas.THRESHOLD,
                # Get Threshold Value for a Customer: 400 "Utility does not support
                # setting thresholds."
                upstream_meanings={400: _NO_THRESHOLDS},
                cache=Caching(
                    10 * _MINUTE,
                    "The customer's own setting; a write through the gateway removes it at "
                    "once, the lifetime bounds what another channel's write leaves unseen",
                ),
            ),
            Operation(
                "PUT",
                "Set your bill threshold alert",
                body=Body(
                    fields={
                        "threshold": BodyField(
                            "number",
                            "Amount that triggers the alert",
                            required=True,
                            minimum=0,
                            maximum=1_000_000,
                        ),
                        "percentage": BodyField(
                            "number",
                            "Percentage of the threshold, 0-1000",
                            required=True,
                            minimum=0,
                            maximum=1000,
                        ),
                    }
                ),
                invalidates=("threshold",),
                # Set or Update a Customer's Threshold: 400 "Utility does not support
                # setting thresholds. Threshold is either negative or too high."
                upstream_meanings={400: _THRESHOLD_REFUSED},
            ),
            Operation(
                "DELETE",
                "Remove your bill threshold alert",
                invalidates=("threshold",),
                # Delete Threshold for a Customer documents one 400: "No threshold found
                # for the requested customer." Nothing to remove is the customer's 404.
                upstream_meanings={
                    400: UpstreamMeaning(404, "not_found", "You have no bill threshold alert")
                },
            ),
        ),
    ),
)

ROUTES_BY_NAME: Mapping[str, Route] = MappingProxyType({r.name: r for r in ROUTES})

# The service API (gateway.service): the same routes for the utility's own workloads,
# authorized with AWS IAM, the customer named by the caller rather than by a session.
CUSTOMER_PREFIX = "/v1/me"
SERVICE_PREFIX = "/v1/service"


def service_path(route: Route) -> str:
    """The service API's path of a customer route: ``/v1/me/x`` -> ``/v1/service/x``."""
    assert route.path.startswith(CUSTOMER_PREFIX + "/"), route.path
    return SERVICE_PREFIX + route.path[len(CUSTOMER_PREFIX) :]


def is_service_path(resource: str) -> bool:
    return resource.startswith(SERVICE_PREFIX + "/")


def upstream_path(route: Route, slots: Mapping[str, str]) -> str:
    """The route's Opower path with every ``{slot}`` filled (percent-encoded)."""
    return "/apis/" + "/".join(
        quote(slots[p[1:-1]], safe="") if p.startswith("{") else p
        for p in route.upstream.split("/")
    )


def written_routes() -> frozenset[str]:
    """The routes some write can change (their cached answers are checked in the shared
    tier on every hit)."""
    return frozenset(name for r in ROUTES for op in r.operations for name in op.invalidates)


def cache_names() -> list[tuple[str, int, str]]:
    """Every cache name with its default freshness lifetime in seconds and the reason."""
    names = []
    for route in ROUTES:
        get = route.operation("GET")
        if get is None or get.cache is None:
            continue
        if get.cache.by_param:
            names += [
                (f"{route.name}/{value}", seconds, get.cache.why)
                for value, seconds in get.cache.per_value.items()
            ]
        else:
            names.append((route.name, get.cache.fresh_s, get.cache.why))
    return names


def cache_lifetimes() -> dict[str, int]:
    """Every cache name with its default freshness lifetime in seconds."""
    return {name: seconds for name, seconds, _ in cache_names()}
