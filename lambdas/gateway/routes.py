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

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import quote

from gateway import schemas

ParamKind = Literal[
    "enum", "datetime", "date", "bool", "bound_account", "owned", "int", "code", "locale"
]
FieldKind = Literal["string", "integer", "number", "boolean"]
FieldFormat = Literal["", "email", "phone", "code"]
BINDING_SLOTS = frozenset({"customerId", "utilityCustomerId"})


@dataclass(frozen=True)
class Param:
    """A path or query parameter.

    ``owned``: an id of one of the customer's own things at Opower (a contact, a
    preference, a tip), accepted only once it is in the customer's own list: ``owner`` is
    the route whose GET lists them (its answer is cached as any), ``owner_field`` the
    field of each item holding the id ("" when the items are the ids). Anything else is
    the same 404 as an id that does not exist, and Opower is not asked for it.
    ``upstream``: the query parameter's name at Opower, when the customer API names it
    otherwise (``accountId`` for Opower's ``utilityAccountId``).
    """

    kind: ParamKind
    description: str
    values: tuple[str, ...] = ()
    required: bool = False
    owner: str = ""
    owner_field: str = ""
    upstream: str = ""
    minimum: int = 0
    maximum: int = 0
    # The document's example value (the sandbox's first customer's, as for accountId).
    example: str = ""
    # A datetime Opower takes as a plain date too (the usage pages); false: date-time
    # only, and a date is sent as its midnight UTC (gateway.proxy.validation).
    dates: bool = True
    # A bound account Opower's page names by the utility's account number ("Utility
    # customer account ID"): sent as that account's utilityAccountId, from the customer's
    # accounts answer, unless disaggregation_account_id is opower_id (gateway.proxy).
    as_number: bool = False


# Text fields: anything but control characters (C0, DEL, C1) and the invisible formatting
# characters used to spoof text (zero-width, bidi embeddings, overrides and isolates, line
# and paragraph separators, BOM, interlinear annotation): none belongs in a home profile,
# and they are how log injection and display spoofing start. One pattern for the document
# (ECMA-262 and Python read it alike) and for the check.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]*$"


# The gateway's own checks of a text's form (Oracle's pages give none; its Account Center
# does "basic validation ... that the phone numbers and email addresses resemble real
# values"): an address with one @ and a dotted domain; a phone number of 7-15 digits
# (E.164's most) with the usual separators; an upper-case code such as HOME_ENERGY. Whole-
# value patterns that ECMA-262 and Python read alike (the document states them).
FORMATS: Mapping[str, tuple[str, str]] = {
    "email": (
        r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$",
        "an e-mail address like name@example.com",
    ),
    "phone": (
        r"^\+?\(?(?:[0-9][ ().-]{0,2}){6,14}[0-9]$",
        "a phone number of 7 to 15 digits, like +1 555-123-1234",
    ),
    "code": (r"^[A-Z][A-Z0-9_]{0,63}$", "upper-case letters, digits and _"),
}


@dataclass(frozen=True)
class BodyField:
    kind: FieldKind
    description: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] = ()
    max_length: int = 64
    # The gateway's own check of a text's form (Oracle's pages give none): an e-mail
    # address, a phone number, an upper-case code.
    format: FieldFormat = ""


@dataclass(frozen=True)
class Body:
    fields: Mapping[str, BodyField]
    # Body fields the gateway sets from the binding, whatever the customer sent.
    bound: Mapping[str, str] = field(default_factory=dict)
    max_bytes: int = 4096
    # At least one of these fields must be given (a contact reachable some way).
    one_of: tuple[str, ...] = ()
    # At least this many fields (an update naming nothing changes nothing).
    min_fields: int = 0


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
    # The rule by which an answer describes a settled past, kept for
    # cache_settled_fresh_s instead (gateway.proxy.settled): "window_end" (the query's
    # end), "bill_end" (billEndDate).
    settles: str = ""
    # "bill_period": asked with no asOf, the answer is the account's latest (the last
    # bill, the current period): kept until the account's billing period ends
    # (gateway.proxy.latest), not a day.
    latest: str = ""


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
    # GET: kept in the per-customer response cache (gateway.cache) this long.
    cache: Caching | None = None
    # PUT / DELETE: the routes whose cached answers of this customer the write can change;
    # they are removed before the write is answered.
    invalidates: tuple[str, ...] = ()
    # Opower statuses this operation's page gives their own meaning (by status, never by
    # the text of Opower's message).
    upstream_meanings: Mapping[int, UpstreamMeaning] = field(default_factory=dict)
    # Query parameters the gateway sends whatever the customer asked (who acted: the
    # customer, through the web), never accepted from the customer.
    fixed_query: tuple[tuple[str, str], ...] = ()
    # What the customer should know beyond the summary (the document's description).
    description: str = ""
    # The success status of a write (0: 200 with the answer's schema when ``response`` is
    # given, else 204); a GET is 200.
    success_status: int = 0
    # PUT: the route whose GET lists the item being replaced. The body sent to Opower is
    # the item as that list shows it now, with the customer's fields over it: what the
    # customer omitted keeps its value whether Opower's PUT replaces or merges (its page
    # does not say which).
    completes_from: str = ""


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    upstream: str
    operations: tuple[Operation, ...]
    path_params: Mapping[str, Param] = field(default_factory=dict)
    # What a GET of it is to a customer when Opower's day runs short (gateway.budgets.day
    # PRIORITIES): "bill" (the bill screen), "standard", or "optional" (a screen an app can
    # show from cache or leave out, shed first). A write is "standard" whatever its route.
    priority: str = "standard"

    def priority_of(self, method: str) -> str:
        return self.priority if method == "GET" else "standard"

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
_DAY = 86_400
_AS_OF = Param("date", "Date the answer is computed for (YYYY-MM-DD); default today")
_ISO = (
    "a date (2026-01-01: midnight where the meter is) or an ISO-8601 date-time with an "
    "offset, e.g. 2026-01-01T00:00:00-05:00 (Z is accepted; encode + as %2B)"
)
_INSTANT = (
    "an ISO-8601 date-time with an offset, e.g. 2026-01-01T00:00:00-05:00 (a date is taken "
    "as its midnight UTC; Z is accepted; encode + as %2B)"
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

_CORE_ROUTES: tuple[Route, ...] = (
    Route(
        name="accounts",
        priority="bill",
        path="/v1/me/accounts",
        upstream="customer-data-v2/{U}/customers/{customerId}/utility_accounts",
        operations=(
            Operation(
                "GET",
                "Your utility accounts",
                response=schemas.UTILITY_ACCOUNTS,
                cache=Caching(
                    7 * _DAY,
                    "Utility accounts change when service starts or stops at an address; "
                    "kept as long as the binding they are part of is trusted "
                    "(binding_refresh_after_s), a claim that changes is a new binding",
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
                    settles="window_end",
                ),
            ),
        ),
    ),
    Route(
        name="bill_comparison",
        priority="bill",
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
                cache=Caching(
                    12 * _HOUR,
                    "Changes when a bill posts, once a billing period",
                    latest="bill_period",
                ),
            ),
        ),
    ),
    Route(
        name="bill_forecast",
        priority="optional",
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
        priority="optional",
        path="/v1/me/neighbor-comparison",
        upstream="neighborComparison-v1/{U}/customers/{customerId}/neighbor_comparison",
        operations=(
            Operation(
                "GET",
                "How your usage compares with similar homes",
                query={"asOf": _AS_OF},
                response=schemas.NEIGHBOR_COMPARISON,
                cache=Caching(
                    12 * _HOUR,
                    "Computed per billing period against a group of similar homes: the "
                    "latest (no asOf) kept until the next period is due, as the bill "
                    "comparison",
                    latest="bill_period",
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
                # Set or Update a Customer's Threshold: ExternalThresholdRequest requires
                # neither field; a request naming neither sets nothing (the gateway asks
                # for one).
                body=Body(
                    fields={
                        "threshold": BodyField(
                            "number",
                            "Amount that triggers the alert",
                            minimum=0,
                            maximum=1_000_000,
                        ),
                        "percentage": BodyField(
                            "number",
                            "Percentage of the threshold, 0-1000",
                            minimum=0,
                            maximum=1000,
                        ),
                    },
                    one_of=("threshold", "percentage"),
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

_OWN_TEXT = (
    "Your own; a write through the gateway removes it at once, the lifetime bounds what "
    "another channel's write leaves unseen"
)
_SMS_OPT_IN = (
    "An SMS preference, or a phoneSMS given, starts Opower's SMS opt-in (Create "
    "NotificationPreference, Update NotificationContact): Opower texts the number, and "
    "alerts go by text only once the customer replies YES; STOP opts the number out of "
    "every text. Until then the preference is listed but no text is sent."
)
_CONTACT_ID = Param(
    "owned",
    "One of your contacts (the id of /v1/me/contacts)",
    owner="contacts",
    owner_field="id",
    example="5000001",
)
_PREFERENCE_ID = Param(
    "owned",
    "One of the contact's preferences (the id of its preferences list)",
    owner="contact_preferences",
    owner_field="id",
    example="6000001",
)
_TIP_ID = Param(
    "owned",
    "One of your tips (a name of /v1/me/tip-names)",
    owner="tip_names",
    example="tip018_improve_window_shading",
)
_CONTACT_FIELDS = {
    "name": BodyField("string", "The contact's name", required=True, max_length=100),
    "email": BodyField("string", "E-mail address", max_length=254, format="email"),
    "phoneSMS": BodyField("string", "Phone number for texts (SMS)", max_length=20, format="phone"),
    "phoneVoice": BodyField(
        "string", "Phone number for calls (IVR)", max_length=20, format="phone"
    ),
    "push": BodyField("boolean", "Whether push notifications may be sent to this contact"),
}
_CONTACT_BODY = Body(fields=_CONTACT_FIELDS, one_of=("email", "phoneSMS", "phoneVoice"))
# An update names only what changes: the rest is the contact's own (completes_from).
_CONTACT_UPDATE = Body(
    fields={name: dataclasses.replace(f, required=False) for name, f in _CONTACT_FIELDS.items()},
    min_fields=1,
)
_BY_CUSTOMER = (("auditAgency", "CUSTOMER"),)
_CONTACT_PUT = (
    "Fields you leave out keep their current values: the gateway sends Opower the whole "
    "contact (Update NotificationContact's page does not say whether it replaces or merges); "
    "to stop a channel, remove its preferences or the contact."
)
_TIPS_QUERY = {
    "channel": Param("enum", "Tips for this channel", values=("WEB", "VOICE")),
    "limit": Param("int", "At most this many tips (default: all)", minimum=1, maximum=100),
    "locale": Param(
        "locale", "Language and territory, e.g. en_US (default: yours; your utility's only)"
    ),
}
_TIPS_CACHE = Caching(
    12 * _HOUR,
    "Ranked from the customer's model, recomputed with new data; a tip action through the "
    "gateway removes them at once",
)
_TIP_WRITES = ("tips", "tip_names", "tip")
_BREAKDOWN_QUERY = {
    "fuelType": Param("enum", "One fuel (default: all)", values=schemas.DISAGGREGATION_FUELS),
    "accountId": Param(
        "bound_account",
        "One of your utility-account ids (default: all of them)",
        upstream="utilityAccountId",
        as_number=True,
    ),
}
# Opower's 400s on the customer-app operations, in the gateway's words: what their pages
# (and the Account Center) say a request must be.
_CONTACT_REFUSED = UpstreamMeaning(
    400,
    "rejected",
    "Opower refused the contact: it needs a name and an e-mail address or phone number that "
    "look real, a channel's address stays while a preference uses it, and your primary "
    "contact cannot be removed",
)
_PREFERENCES_UNAVAILABLE = UpstreamMeaning(
    400, "rejected", "Opower could not list this contact's notification preferences"
)
_PREFERENCE_REFUSED = UpstreamMeaning(
    400,
    "rejected",
    "Opower refused the preference: the contact needs the channel's address (email for "
    "EMAIL, phoneSMS for SMS, phoneVoice for IVR, push for PUSH), the alert must be one your "
    "utility offers, and a contact has each alert once per channel",
)
_TIPS_REFUSED = UpstreamMeaning(
    400,
    "rejected",
    "Opower refused the tips request: the locale must be one your utility offers (leave it "
    "out for yours)",
)
_BILL_REFUSED = UpstreamMeaning(
    400,
    "rejected",
    "Opower refused the bill's dates: give the first and last day of one of your bills",
)
_HISTORY_REFUSED = UpstreamMeaning(
    400,
    "rejected",
    "Opower refused the window: neighbor comparisons cover your bills of the last 12 "
    "months, with start before end",
)
_NO_ALWAYS_ON = UpstreamMeaning(
    404,
    "no_always_on",
    "Opower has no always-on usage for this account: it needs an electric smart meter's readings",
)
_NO_BREAKDOWN = UpstreamMeaning(
    404,
    "no_breakdown",
    "No energy breakdown is available for you: Opower has no model of your home's heating "
    "or cooling yet",
)

# What a customer app's "my energy" pages want beyond the core (contacts and alerts,
# energy breakdown, tips, the billing period, past neighbor comparisons).
_CUSTOMER_APP_ROUTES: tuple[Route, ...] = (
    Route(
        name="contacts",
        path="/v1/me/contacts",
        upstream="notification-contact-v1/{U}/customers/{customerId}/notification_contacts",
        operations=(
            Operation(
                "GET",
                "Your notification contacts",
                response=schemas.CONTACTS,
                cache=Caching(10 * _MINUTE, _OWN_TEXT),
            ),
            Operation(
                "POST",
                "Add a notification contact",
                body=_CONTACT_BODY,
                response=schemas.CONTACT,
                invalidates=("contacts",),
                upstream_meanings={400: _CONTACT_REFUSED},
                description=_SMS_OPT_IN,
            ),
        ),
    ),
    Route(
        name="contact",
        path="/v1/me/contacts/{contactId}",
        upstream="notification-contact-v1/{U}/customers/{customerId}/notification_contacts/"
        "{contactId}",
        path_params={"contactId": _CONTACT_ID},
        operations=(
            Operation(
                "PUT",
                "Change a notification contact",
                body=_CONTACT_UPDATE,
                response=schemas.CONTACT,
                invalidates=("contacts",),
                upstream_meanings={400: _CONTACT_REFUSED},
                description=_SMS_OPT_IN + " " + _CONTACT_PUT,
                completes_from="contacts",
            ),
            Operation(
                "DELETE",
                "Remove a notification contact (and its preferences)",
                response=schemas.CONTACT,
                upstream_meanings={400: _CONTACT_REFUSED},
                invalidates=("contacts", "contact_preferences"),
                fixed_query=_BY_CUSTOMER,
            ),
        ),
    ),
    Route(
        name="contact_preferences",
        path="/v1/me/contacts/{contactId}/preferences",
        upstream="notification-contact-v1/{U}/customers/{customerId}/notification_contacts/"
        "{contactId}/notification_preferences",
        path_params={"contactId": _CONTACT_ID},
        operations=(
            Operation(
                "GET",
                "A contact's notification preferences (which alerts, by which channel)",
                response=schemas.PREFERENCES,
                cache=Caching(10 * _MINUTE, _OWN_TEXT),
                # Get NotificationPreference List: 400 "An error occurred processing the
                # request" (an ErrorResponse), its only documented error.
                upstream_meanings={400: _PREFERENCES_UNAVAILABLE},
            ),
            Operation(
                "POST",
                "Subscribe a contact to an alert on a channel",
                body=Body(
                    fields={
                        "notificationChannel": BodyField(
                            "string",
                            "The channel",
                            required=True,
                            values=schemas.NOTIFICATION_CHANNELS,
                        ),
                        "eventType": BodyField(
                            "string",
                            "The alert, e.g. HOME_ENERGY (your utility's programmes)",
                            required=True,
                            format="code",
                        ),
                    }
                ),
                response=schemas.PREFERENCE,
                invalidates=("contact_preferences",),
                description=_SMS_OPT_IN,
                upstream_meanings={400: _PREFERENCE_REFUSED},
            ),
        ),
    ),
    Route(
        name="contact_preference",
        path="/v1/me/contacts/{contactId}/preferences/{preferenceId}",
        upstream="notification-contact-v1/{U}/customers/{customerId}/notification_contacts/"
        "{contactId}/notification_preferences/{preferenceId}",
        path_params={"contactId": _CONTACT_ID, "preferenceId": _PREFERENCE_ID},
        operations=(
            Operation(
                "DELETE",
                "Unsubscribe a contact from one alert on one channel",
                response=schemas.PREFERENCE,
                invalidates=("contact_preferences",),
                fixed_query=_BY_CUSTOMER,
            ),
        ),
    ),
    Route(
        name="contact_channel",
        path="/v1/me/contacts/{contactId}/channels/{channel}",
        upstream="notification-contact-v1/{U}/customers/{customerId}/notification_contacts/"
        "{contactId}/notification_preferences/channel/{channel}",
        path_params={
            "contactId": _CONTACT_ID,
            "channel": Param("enum", "The channel", values=schemas.DELETABLE_CHANNELS),
        },
        operations=(
            Operation(
                "DELETE",
                "Unsubscribe a contact from every alert on one channel",
                invalidates=("contact_preferences",),
                # The unsubscribe's source is the customer on the web.
                fixed_query=(("source", "WEB"), *_BY_CUSTOMER),
                success_status=200,
            ),
        ),
    ),
    Route(
        name="energy_breakdown",
        priority="optional",
        path="/v1/me/energy-breakdown",
        upstream="disaggregation-v1/utilities/{U}/customers/{customerId}/consumption/categories",
        operations=(
            Operation(
                "GET",
                "Where your energy goes over a year (shares by category)",
                query={
                    "endDate": Param("date", "Last day of the year shown; default today"),
                    **_BREAKDOWN_QUERY,
                },
                response=schemas.ENERGY_BREAKDOWN,
                upstream_meanings={404: _NO_BREAKDOWN},
                cache=Caching(12 * _HOUR, "Recomputed from the customer's model with new bills"),
            ),
        ),
    ),
    Route(
        name="bill_energy_breakdown",
        priority="optional",
        path="/v1/me/energy-breakdown/bill",
        upstream="disaggregation-v1/utilities/{U}/customers/{customerId}/bills/consumption/"
        "categories",
        operations=(
            Operation(
                "GET",
                "Where your energy went in one bill (shares, cost and usage by category)",
                query={
                    "billStartDate": Param(
                        "date", "The bill's first day", required=True, example="2026-10-01"
                    ),
                    "billEndDate": Param(
                        "date", "The bill's last day", required=True, example="2026-10-31"
                    ),
                    **_BREAKDOWN_QUERY,
                },
                checks=("bill_dates",),
                response=schemas.BILL_ENERGY_BREAKDOWN,
                upstream_meanings={404: _NO_BREAKDOWN, 400: _BILL_REFUSED},
                cache=Caching(
                    12 * _HOUR,
                    "A bill's breakdown changes only with a new model",
                    settles="bill_end",
                ),
            ),
        ),
    ),
    Route(
        name="always_on",
        priority="optional",
        path="/v1/me/energy-breakdown/always-on",
        upstream="disaggregation-v1/utilities/{U}/customers/{customerId}/consumption/alwayson",
        operations=(
            Operation(
                "GET",
                "What your home uses that never turns off (always-on usage, kWh and share)",
                query={
                    # Get Always-On: utilityAccountId required, "Utility customer account ID".
                    "accountId": Param(
                        "bound_account",
                        "One of your utility-account ids (an electric one)",
                        required=True,
                        upstream="utilityAccountId",
                        as_number=True,
                        example="2000001",
                    ),
                    "asOf": _AS_OF,
                },
                response=schemas.ALWAYS_ON,
                # Get Always-On: 404 "Customer account not found, has no AMI or always-on
                # usage" (its body an ExternalError, never passed on).
                upstream_meanings={404: _NO_ALWAYS_ON},
                cache=Caching(12 * _HOUR, "Recomputed from the meter's reads, a day at a time"),
            ),
        ),
    ),
    Route(
        name="tips",
        priority="optional",
        path="/v1/me/tips",
        upstream="tips-v1/{U}/energy_guide/customers/{customerId}/tips/list",
        operations=(
            Operation(
                "GET",
                "Your energy-saving tips, most saving first",
                query=_TIPS_QUERY,
                response=schemas.TIPS,
                cache=_TIPS_CACHE,
                upstream_meanings={400: _TIPS_REFUSED},
            ),
        ),
    ),
    Route(
        name="tip_names",
        priority="optional",
        path="/v1/me/tip-names",
        upstream="tips-v1/{U}/energy_guide/customers/{customerId}/tips",
        operations=(
            Operation(
                "GET",
                "The names of your tips, most saving first",
                query=_TIPS_QUERY,
                response=schemas.TIP_NAMES,
                cache=_TIPS_CACHE,
                upstream_meanings={400: _TIPS_REFUSED},
            ),
        ),
    ),
    Route(
        name="tip",
        priority="optional",
        path="/v1/me/tips/{tipId}",
        upstream="tips-v1/{U}/energy_guide/customers/{customerId}/tips/{tipId}",
        path_params={"tipId": _TIP_ID},
        operations=(
            Operation(
                "GET",
                "One of your tips",
                query={"locale": _TIPS_QUERY["locale"]},
                response=schemas.TIP,
                cache=_TIPS_CACHE,
                upstream_meanings={400: _TIPS_REFUSED},
            ),
        ),
    ),
    Route(
        name="tip_action",
        path="/v1/me/tips/{tipId}/action",
        upstream="tips-v1/{U}/energy_guide/customers/{customerId}/tips/{tipId}/action",
        path_params={"tipId": _TIP_ID},
        operations=(
            Operation(
                "POST",
                "Say what you did with a tip",
                body=Body(
                    fields={
                        "status": BodyField(
                            "string", "Your action", required=True, values=schemas.TIP_STATUSES
                        )
                    }
                ),
                response=schemas.TIP_ACTION,
                invalidates=_TIP_WRITES,
            ),
            Operation(
                "DELETE",
                "Set a tip back to not yet (NOT_YET)",
                response=schemas.TIP_ACTION,
                invalidates=_TIP_WRITES,
            ),
        ),
    ),
    Route(
        name="bill_period",
        priority="bill",
        path="/v1/me/accounts/{accountId}/bill-period",
        upstream="billforecast-v2/{U}/accounts/{accountId}/bill-period",
        path_params={
            "accountId": Param(
                "bound_account", "One of your utility-account ids (the id of /v1/me/accounts)"
            )
        },
        operations=(
            Operation(
                "GET",
                "The current billing period of one of your accounts",
                query={"asOf": _AS_OF},
                response=schemas.BILL_PERIOD,
                cache=Caching(
                    12 * _HOUR,
                    "Changes when a bill posts, once a billing period",
                    latest="bill_period",
                ),
            ),
        ),
    ),
    Route(
        name="neighbor_history",
        priority="optional",
        path="/v1/me/neighbor-comparison/history/{fuel}",
        upstream="neighborComparison-v1/bill/{U}/{utilityCustomerId}/{fuel}",
        path_params={"fuel": Param("enum", "Fuel", values=schemas.HISTORY_FUELS)},
        operations=(
            Operation(
                "GET",
                "How your bills compared with similar homes, bill by bill (the last 12 "
                "months, at most 13 bills; without dates, the latest)",
                # Get List of Neighbor Comparisons documents start and end as
                # string(date-time) only: a date given here is sent as its midnight UTC.
                query={
                    "start": Param(
                        "datetime", f"Start, inclusive, before end: {_INSTANT}", dates=False
                    ),
                    "end": Param(
                        "datetime", f"End, exclusive, after start: {_INSTANT}", dates=False
                    ),
                },
                checks=("history_window",),
                response=schemas.NEIGHBOR_HISTORY,
                upstream_meanings={400: _HISTORY_REFUSED},
                cache=Caching(12 * _HOUR, "Computed per billing period", settles="window_end"),
            ),
        ),
    ),
)

ROUTES = _CORE_ROUTES + _CUSTOMER_APP_ROUTES
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
