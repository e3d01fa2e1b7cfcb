"""The data endpoints below `/apis/` and the route names used in stats.

Route names (keys of `requests` in `GET /_sandbox/stats`, and the names recorded answers
are given by, `POST /_sandbox/answers`): "token", "customers", "utility_accounts",
"home_profile", "usage", "bill_comparison", "bill_forecast", "bill_period",
"neighbor_comparison", "neighbor_comparison_history", "threshold",
"notification_contacts", "notification_contact", "notification_preferences",
"notification_preference", "notification_channel" (`contacts`), "disaggregation",
"bill_disaggregation" (`disaggregation`), "tip_names", "tip_list", "tip", "tip_action"
(`tips`), and "unknown" for any other path below /apis/.

Checks run in this order: path (404), method (405 with `Allow`), utility code (404), path
ids (404; a contact or preference only under its own customer and contact), query and
body (400). Path ids that are not integers where Opower uses integers are unknown ids
(404). Handlers raise `ApiError`; the caller renders it in the shape of the route's
service.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from local.sandbox import disaggregation
from local.sandbox.consumption import UNITS
from local.sandbox.contacts import PREFERENCE_BY_EVENT, ContactsApi
from local.sandbox.data import DEFAULT, Customer, Directory, UtilityAccount
from local.sandbox.errors import ApiError, bad_request, not_found
from local.sandbox.inputs import (
    RESPONSE,
    Handler,
    Params,
    account_by_id,
    customer_by_id,
    customer_by_utility_id,
    is_int,
    is_number,
    json_body,
)
from local.sandbox.insights import (
    COMBINED,
    COMPARISON_BILLS,
    bill_comparison,
    bill_forecast,
    bill_period,
    neighbor_comparison,
    neighbor_comparison_history,
    parse_as_of,
)
from local.sandbox.messages import Request, Response, json_response, no_content
from local.sandbox.restatements import Restatements
from local.sandbox.store import MutableStore
from local.sandbox.tips import TipsApi
from local.sandbox.usage import RESOLUTIONS, usage_body

TOKEN_ROUTE = "token"
UNKNOWN_ROUTE = "unknown"
_SEGMENT = r"(?P<{}>[^/]+)"
DATA_ROUTES = (
    "customers", "utility_accounts", "home_profile", "usage", "bill_comparison",
    "bill_forecast", "bill_period", "neighbor_comparison", "neighbor_comparison_history",
    "threshold", "notification_contacts", "notification_contact", "notification_preferences",
    "notification_preference", "notification_channel", "disaggregation", "bill_disaggregation",
    "always_on", "tip_names", "tip_list", "tip", "tip_action",
)  # fmt: skip
_CONTACTS = r"notification-contact-v1/{u}/customers/{c}/notification_contacts"
_PREFERENCES = _CONTACTS + r"/(?P<contact>[^/]+)/notification_preferences"
_TIPS = r"tips-v1/{u}/energy_guide/customers/{c}/tips"
# (route name, resource: the handlers' key when one route name has two paths, pattern);
# the first match wins, so a literal segment comes before a parameter in its place.
_PATTERNS = (
    (TOKEN_ROUTE, None, r"authorization-v1/oauth2/token"),
    ("customers", None, r"customer-data-v2/{u}/customers"),
    ("utility_accounts", None, r"customer-data-v2/{u}/customers/{c}/utility_accounts"),
    ("home_profile", None, r"customer-data-v2/{u}/customers/{c}/home_profile"),
    ("usage", None, r"usage-v1/usage/(?P<resolution>[^/]+)/{u}/{c}/(?P<fuel>[^/]+)"),
    ("bill_comparison", None,
     r"billComparison-v2/{u}/bill-comparison/accounts/(?P<account>[^/]+)"),
    ("bill_forecast", None, r"billforecast-v2/{u}/customers/{c}/bill_forecast"),
    ("bill_period", None, r"billforecast-v2/{u}/accounts/(?P<account>[^/]+)/bill-period"),
    ("neighbor_comparison", None,
     r"neighborComparison-v1/{u}/customers/{c}/neighbor_comparison"),
    ("neighbor_comparison_history", None,
     r"neighborComparison-v1/bill/{u}/{c}/(?P<fuel>[^/]+)"),
    ("threshold", None, r"threshold-v1/external/{u}/customers/{c}/threshold"),
    ("notification_contacts", None, _CONTACTS),
    ("notification_contact", None, _CONTACTS + r"/(?P<contact>[^/]+)"),
    ("notification_preferences", None, _PREFERENCES),
    ("notification_channel", None, _PREFERENCES + r"/channel/(?P<channel>[^/]+)"),
    ("notification_preference", PREFERENCE_BY_EVENT,
     _PREFERENCES + r"/(?P<channel>[^/]+)/(?P<event>[^/]+)"),
    ("notification_preference", None, _PREFERENCES + r"/(?P<preference>[^/]+)"),
    ("disaggregation", None,
     r"disaggregation-v1/utilities/{u}/customers/{c}/consumption/categories"),
    ("bill_disaggregation", None,
     r"disaggregation-v1/utilities/{u}/customers/{c}/bills/consumption/categories"),
    ("always_on", None, r"disaggregation-v1/utilities/{u}/customers/{c}/consumption/alwayson"),
    ("tip_names", None, _TIPS),
    ("tip_list", None, _TIPS + r"/list"),
    ("tip", None, _TIPS + r"/(?P<tip>[^/]+)"),
    ("tip_action", None, _TIPS + r"/(?P<tip>[^/]+)/action"),
)  # fmt: skip
ROUTES: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (
        name,
        resource or name,
        re.compile(pattern.format(u=_SEGMENT.format("utility"), c=_SEGMENT.format("customer"))),
    )
    for name, resource, pattern in _PATTERNS
)
# Path enumerations of the neighbor comparison history (Get List of Neighbor Comparisons).
HISTORY_FUELS = ("ELECTRICITY", "GAS", COMBINED)

# Get Home Profile's documented enumerations.
_ENUMS = {
    "dwellingType": ("MULTI_FAMILY", "NON_RESIDENTIAL", "SINGLE_FAMILY"),
    "heatType": (
        "ELEC", "GAS", "NONE", "OTHER", "LPG", "OIL", "WOOD", "DISTRICT_HEATING", "GEOTHERMAL",
    ),
}  # fmt: skip
_HOME_PROFILE_FIELDS = (
    "dwellingType",
    "heatType",
    "numberOfAdults",
    "numberOfChildren",
    "squareFeet",
)


class Classified(NamedTuple):
    """Where a path below `/apis/` goes: its route name (stats, recorded answers), the
    resource whose handlers answer it, and its percent-decoded path parameters."""

    route: str
    resource: str
    params: dict[str, str]


def classify(path: str) -> Classified:
    """The route of a path below `/apis/` (`unknown` when none matches)."""
    for name, resource, pattern in ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return Classified(name, resource, {k: unquote(v) for k, v in match.groupdict().items()})
    return Classified(UNKNOWN_ROUTE, UNKNOWN_ROUTE, {})


class DataApi:
    """Serves the data routes for one utility code over the seeded and mutable data."""

    def __init__(
        self,
        utility_code: str,
        store: MutableStore,
        now: Callable[[], datetime] | None = None,
        directory: Directory = DEFAULT,
        restatements: Restatements | None = None,
    ) -> None:
        self._utility_code = utility_code
        # What Opower restates after it answered (local/sandbox/restatements; off: None).
        self._restatements = restatements
        self._store = store
        self._directory = directory
        # Where its service points are: days and bills are counted there.
        self._zone = ZoneInfo(directory.timezone)
        # The time answers are computed as of (the system's unless a simulation's).
        self._now = now or _system_now
        self._handlers: dict[str, dict[str, Handler]] = {
            "customers": {"GET": self._customers},
            "utility_accounts": {"GET": self._utility_accounts},
            "home_profile": {"GET": self._get_home_profile, "PUT": self._put_home_profile},
            "usage": {"GET": self._usage},
            "bill_comparison": {"GET": self._bill_comparison},
            "bill_forecast": {"GET": self._bill_forecast},
            "bill_period": {"GET": self._bill_period},
            "neighbor_comparison": {"GET": self._neighbor_comparison},
            "neighbor_comparison_history": {"GET": self._neighbor_comparison_history},
            "threshold": {
                "GET": self._get_threshold,
                "PUT": self._put_threshold,
                "DELETE": self._delete_threshold,
            },
            "disaggregation": {"GET": self._disaggregation},
            "bill_disaggregation": {"GET": self._bill_disaggregation},
            "always_on": {"GET": self._always_on},
            **ContactsApi(directory, store.contact_book).handlers(),
            **TipsApi(directory, store).handlers(),
        }

    def handle(self, resource: str, params: Params, request: Request) -> Response:
        """Answer a request already classified (`classify`) as `resource` (not the
        token route)."""
        methods = self._handlers.get(resource)
        if methods is None:
            raise not_found(f"No resource at /apis/{request.path.removeprefix('/apis/')}")
        handler = methods.get(request.method)
        if handler is None:
            raise ApiError(405, f"{request.method} is not supported", ("Allow", ", ".join(methods)))
        if params["utility"] != self._utility_code:
            raise not_found(f"Unknown utility code {params['utility']!r}")
        return handler(params, request)

    def _customers(self, params: Params, request: Request) -> Response:
        number = request.single("accountNumber")
        if not number:
            raise bad_request("Missing required parameter 'accountNumber'")
        found = self._directory.customers_by_account_number(number)
        name = request.single("name")
        if name is not None:
            found = [c for c in found if c.name.casefold() == name.strip().casefold()]
        return json_response(200, wrapped_list([c.to_json() for c in found]))

    def _utility_accounts(self, params: Params, request: Request) -> Response:
        customer = self._customer(params["customer"])
        accounts = [a.to_json() for a in self._listed(customer)]
        return json_response(200, wrapped_list(accounts))

    def _listed(self, customer: Customer) -> list[UtilityAccount]:
        """The customer's accounts as Opower lists them now (a move-out processed late
        shows only once it is: local/sandbox/restatements)."""
        accounts = self._directory.accounts_of(customer)
        if self._restatements is None:
            return list(accounts)
        now = self._now()
        return [self._restatements.as_listed(a, now) for a in accounts]

    def _get_home_profile(self, params: Params, request: Request) -> Response:
        customer = self._customer(params["customer"])
        profile = self._store.home_profile(customer.id)
        if profile is None:
            raise not_found(f"No home profile for customer {customer.id}")
        return json_response(200, {RESPONSE: profile})

    def _put_home_profile(self, params: Params, request: Request) -> Response:
        customer = self._customer(params["customer"])
        self._store.put_home_profile(customer.id, _home_profile(json_body(request), customer.id))
        return no_content()

    def _usage(self, params: Params, request: Request) -> Response:
        resolution, fuel = params["resolution"], params["fuel"]
        if resolution not in RESOLUTIONS:
            raise bad_request(f"Resolution must be one of {', '.join(RESOLUTIONS)}")
        if fuel not in UNITS:
            raise bad_request(f"Fuel type must be one of {', '.join(UNITS)}")
        customer = self._customer_by_utility_id(params["customer"])
        accounts = [a for a in self._listed(customer) if a.fuel == fuel]
        if not accounts:
            raise not_found(f"Customer {customer.utility_customer_id} has no {fuel} meter")
        start, end = request.single("start"), request.single("end")
        for name, value in (("start", start), ("end", end)):
            if value is None:
                raise bad_request(f"Missing required parameter '{name}'")
        assert start is not None
        assert end is not None
        body = usage_body(
            resolution,
            self._utility_code,
            customer.utility_customer_id,
            fuel,
            accounts,
            (start, end),
            self._zone,
            self._now(),
            self._restatements,
        )
        return json_response(200, body)

    def _bill_comparison(self, params: Params, request: Request) -> Response:
        account = self._account(params["account"])
        as_of = parse_as_of(request.single("asOf"), self._now().date())
        comparison = request.single("comparisonBill") or "PREVIOUS"
        if comparison not in COMPARISON_BILLS:
            raise bad_request(f"comparisonBill must be one of {', '.join(COMPARISON_BILLS)}")
        # Get Bill Comparison: "Default Value: true".
        fallback = request.single("fallbackToPreviousPeriod") or "true"
        if fallback not in ("true", "false"):
            raise bad_request("fallbackToPreviousPeriod must be true or false")
        zone = self._zone
        body = bill_comparison(account, as_of, comparison, fallback == "true", zone)
        if self._restatements is not None:
            self._rebilled(account, body)
        return json_response(200, body)

    def _rebilled(self, account: UtilityAccount, body: dict[str, Any]) -> None:
        """Bills cancelled and rebilled by now, with their new charges."""
        assert self._restatements is not None
        for name in ("reference", "compared"):
            bill = body["response"].get(name)
            if isinstance(bill, dict):
                first = date.fromisoformat(bill["startDate"])
                last = date.fromisoformat(bill["endDate"])
                cents = self._restatements.rebilled_cents(account.id, first, last, self._now())
                bill["charges"] = round(bill["charges"] + cents / 100, 2)

    def _bill_forecast(self, params: Params, request: Request) -> Response:
        customer = self._customer(params["customer"])
        as_of = parse_as_of(request.single("asOf"), self._now().date())
        return json_response(
            200,
            bill_forecast(
                customer,
                self._directory.accounts_of(customer),
                as_of,
                self._zone,
            ),
        )

    def _neighbor_comparison(self, params: Params, request: Request) -> Response:
        customer = self._customer(params["customer"])
        as_of = parse_as_of(request.single("asOf"), self._now().date())
        return json_response(
            200,
            neighbor_comparison(
                customer,
                self._directory.accounts_of(customer),
                as_of,
                self._zone,
            ),
        )

    def _get_threshold(self, params: Params, request: Request) -> Response:
        customer = self._customer_by_utility_id(params["customer"])
        threshold = self._store.threshold(customer.utility_customer_id)
        if threshold is None:
            raise not_found("No threshold set for the requested customer.")
        # Get Threshold Value for a Customer: utilityCode and utilityCustomerId required.
        body = {
            **threshold,
            "utilityCode": self._utility_code,
            "utilityCustomerId": customer.utility_customer_id,
        }
        return json_response(200, {RESPONSE: body})

    def _put_threshold(self, params: Params, request: Request) -> Response:
        customer = self._customer_by_utility_id(params["customer"])
        held = self._store.threshold(customer.utility_customer_id) or {}
        self._store.put_threshold(
            customer.utility_customer_id, {**held, **_threshold(json_body(request))}
        )
        return no_content()

    def _delete_threshold(self, params: Params, request: Request) -> Response:
        customer = self._customer_by_utility_id(params["customer"])
        if not self._store.delete_threshold(customer.utility_customer_id):
            # Delete Threshold for a Customer: "400 No threshold found for the requested
            # customer." (the page's words; the exact details text is an assumption)
            raise bad_request("No threshold found for the requested customer.")
        return no_content()

    def _bill_period(self, params: Params, request: Request) -> Response:
        account = self._account(params["account"])
        # Get Bill Period: asOf YYYY-MM-DD or a date-time whose "TZD can be empty
        # (meaning UTC timezone)"; "Z is not currently supported".
        as_of = parse_as_of(request.single("asOf"), self._now().date(), utc_without_offset=True)
        return json_response(200, bill_period(account, as_of))

    def _neighbor_comparison_history(self, params: Params, request: Request) -> Response:
        fuel = params["fuel"]
        if fuel not in HISTORY_FUELS:
            raise bad_request(f"Fuel type must be one of {', '.join(HISTORY_FUELS)}")
        customer = self._customer_by_utility_id(params["customer"])
        body = neighbor_comparison_history(
            self._utility_code,
            customer,
            self._directory.accounts_of(customer),
            fuel,
            (request.single("start"), request.single("end")),
            self._zone,
            self._now(),
        )
        return json_response(200, body)

    def _disaggregation(self, params: Params, request: Request) -> Response:
        customer = self._customer(params["customer"])
        disaggregation.check_fuel(request)
        period = disaggregation.annual_period(request, self._today())
        return self._breakdown(customer, request, period, with_amounts=False)

    def _bill_disaggregation(self, params: Params, request: Request) -> Response:
        customer = self._customer(params["customer"])
        disaggregation.check_fuel(request)
        accounts = self._directory.accounts_of(customer)
        bill_day = accounts[0].bill_day if accounts else 1
        period = disaggregation.bill_dates(request, self._today(), bill_day=bill_day)
        return self._breakdown(customer, request, period, with_amounts=True)

    def _always_on(self, params: Params, request: Request) -> Response:
        """Get Always-On: ``utilityAccountId`` (required: "Utility customer account ID",
        the utility's number) and ``asOf`` (a YYYY-MM-DD date, default today)."""
        customer = self._customer(params["customer"])
        number = request.single("utilityAccountId")
        if number is None:
            raise bad_request("Missing required parameter 'utilityAccountId'")
        accounts = [a for a in self._listed(customer) if a.utility_account_id == number]
        if not accounts:
            raise disaggregation.always_on_missing()
        as_of = parse_as_of(request.single("asOf"), self._today())
        return json_response(200, disaggregation.always_on(accounts, as_of, self._zone))

    def _breakdown(
        self, customer: Customer, request: Request, period: tuple[date, date], *, with_amounts: bool
    ) -> Response:
        if customer.id not in self._directory.disaggregation_models:
            raise disaggregation.no_model()
        accounts = disaggregation.selected_accounts(
            customer, self._directory.accounts_of(customer), request
        )
        body = disaggregation.breakdown(
            customer, accounts, period, self._zone, with_amounts=with_amounts
        )
        return json_response(200, body)

    def _today(self) -> date:
        """Today where the service points are."""
        return self._now().astimezone(self._zone).date()

    def _customer(self, raw_id: str) -> Customer:
        return customer_by_id(self._directory, raw_id)

    def _customer_by_utility_id(self, utility_customer_id: str) -> Customer:
        return customer_by_utility_id(self._directory, utility_customer_id)

    def _account(self, raw_id: str) -> UtilityAccount:
        return account_by_id(self._directory, raw_id)


def _system_now() -> datetime:
    return datetime.now(UTC)


def _home_profile(body: object, customer_id: int) -> dict[str, object]:
    """A home profile as Update Home Profile takes it: every field optional (none is
    marked required on the page); ``customerId``, if sent, the customer of the path; the
    two enumerations as documented. Fields not sent are left out (an assumption: the page
    does not say whether a PUT replaces or merges; the sandbox replaces)."""
    if not isinstance(body, dict):
        raise bad_request("Home profile must be a JSON object")
    unknown = set(body) - {"customerId", *_HOME_PROFILE_FIELDS}
    if unknown:
        raise bad_request(f"Unknown home profile fields: {', '.join(sorted(unknown))}")
    if "customerId" in body and (
        not is_int(body["customerId"]) or body["customerId"] != customer_id
    ):
        raise bad_request(f"customerId must be {customer_id}, the customer in the path")
    profile: dict[str, object] = {"customerId": customer_id}
    for name in _HOME_PROFILE_FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if name in _ENUMS:
            valid = value in _ENUMS[name]
        else:
            valid = is_int(value) and value >= (1 if name == "squareFeet" else 0)
        if not valid:
            raise bad_request(f"Invalid value for {name}")
        profile[name] = value
    return profile


def _threshold(body: object) -> dict[str, object]:
    """A bill threshold as Set or Update a Customer's Threshold takes it: `threshold` and
    `percentage`, numbers (float), each optional; 400 "Threshold is either negative or too
    high" (too high: above 1000 for a percentage, as documented; above 1,000,000 for an
    amount, an assumption)."""
    if not isinstance(body, dict) or not body or set(body) - {"threshold", "percentage"}:
        raise bad_request("Threshold must be an object with threshold and/or percentage")
    threshold: dict[str, object] = {}
    for name, ceiling in (("threshold", 1_000_000), ("percentage", 1000)):
        if name not in body:
            continue
        value = body[name]
        if not is_number(value):
            raise bad_request(f"{name} must be a number")
        if not 0 <= value <= ceiling:
            raise bad_request("Threshold is either negative or too high.")
        threshold[name] = float(value)
    return threshold


def wrapped_list(items: list[dict[str, object]]) -> dict[str, object]:
    """A list operation's answer: ``{"response": [...]}``, or one object for one item as
    Get Customer List's and Get Utility Account List's examples show it (the pages
    declare an array; which form Opower sends for one item is an assumption, and the
    sandbox serves both so that a client reads both)."""
    return {RESPONSE: items[0] if len(items) == 1 else items}
