"""JSON schemas of the answers the customer API passes through from Opower, for the
OpenAPI document (and the typed clients generated from it).

Each schema is Oracle's, from the operation's page in the Digital Self Service REST API
reference (``PAGES`` names it; ``shared/reference/opower-api.md`` summarizes them). The
gateway passes Opower's body through unchanged, so the schema is the page's own answer:
``{"response": …}``. They are written to be read tolerantly, as a client should read an API
that Oracle extends without notice:

- every object is open (``additionalProperties: true``): a field Oracle adds reaches the
  client, and a generated client keeps it (``additional_properties``);
- a field is required only where the page marks it required;
- enumerations Oracle documents for answers are listed in the description, not as an
  ``enum``: a value Oracle adds must not make a generated client fail to parse;
- dates are strings (Oracle's own examples hold dates such as 2018-02-31);
- a list operation's ``response`` is an array or, as the pages' examples show it, one object.

Where a page is silent (Get Bill Forecast publishes no answer schema; the nested usage and
comparison schemas are not all published), the description says what is assumed.
"""

from __future__ import annotations

from typing import Any

_REFERENCE = "https://docs.oracle.com/en/industries/energy-water/digital-self-service/restapi/"

_CONTACTS = (
    _REFERENCE + "op-apis-notification-contact-v1-utilitycode-customers-id-notification_contacts"
)
_TIPS = _REFERENCE + "op-apis-tips-v1-utilitycode-energy_guide-customers-id-tips"
_DISAGGREGATION = (
    _REFERENCE + "op-apis-disaggregation-v1-utilities-utilitycode-customers-customerid"
)

# The Oracle page of each route's Opower operation (and of each method where they differ).
PAGES: dict[str, str] = {
    "customers": _REFERENCE + "op-apis-customer-data-v2-utilitycode-customers-get.html",
    "accounts": _REFERENCE
    + "op-apis-customer-data-v2-utilitycode-customers-id-utility_accounts-get.html",
    "home_profile": _REFERENCE
    + "op-apis-customer-data-v2-utilitycode-customers-id-home_profile-get.html",
    "home_profile PUT": _REFERENCE
    + "op-apis-customer-data-v2-utilitycode-customers-id-home_profile-put.html",
    "usage/raw": _REFERENCE
    + "op-apis-usage-v1-usage-raw-utilitycode-utilitycustomerid-fueltype-get.html",
    "usage/day": _REFERENCE
    + "op-apis-usage-v1-usage-day-utilitycode-utilitycustomerid-fueltype-get.html",
    "usage/billing": _REFERENCE
    + "op-apis-usage-v1-usage-billing-utilitycode-utilitycustomerid-fueltype-get.html",
    "bill_comparison": _REFERENCE
    + "op-apis-billcomparison-v2-utilitycode-bill-comparison-accounts-utilityaccountid-get.html",
    "bill_forecast": _REFERENCE
    + "op-apis-billforecast-v2-utilitycode-customers-id-bill_forecast-get.html",
    "neighbor_comparison": _REFERENCE
    + "op-apis-neighborcomparison-v1-utilitycode-customers-id-neighbor_comparison-get.html",
    "threshold": _REFERENCE
    + "op-apis-threshold-v1-external-utilitycode-customers-utilitycustomerid-threshold-get.html",
    "threshold PUT": _REFERENCE
    + "op-apis-threshold-v1-external-utilitycode-customers-utilitycustomerid-threshold-put.html",
    "threshold DELETE": _REFERENCE
    + "op-apis-threshold-v1-external-utilitycode-customers-utilitycustomerid-threshold-delete.html",
    "contacts": _CONTACTS + "-get.html",
    "contacts POST": _CONTACTS + "-post.html",
    "contact PUT": _CONTACTS + "-contactid-put.html",
    "contact DELETE": _CONTACTS + "-contactid-delete.html",
    # Named in the contact preferences overview (api-contact-preferences.html); its own page
    # is not in the stored reference: the URL follows its siblings' pattern (an assumption).
    "contact_preferences": _CONTACTS + "-contactid-notification_preferences-get.html",
    "contact_preferences POST": _CONTACTS + "-contactid-notification_preferences-post.html",
    "contact_preference DELETE": _CONTACTS
    + "-contactid-notification_preferences-preferenceid-delete.html",
    "contact_channel DELETE": _CONTACTS
    + "-contactid-notification_preferences-channel-notificationchannel-delete.html",
    "energy_breakdown": _DISAGGREGATION + "-consumption-categories-get.html",
    "bill_energy_breakdown": _DISAGGREGATION + "-bills-consumption-categories-get.html",
    "always_on": _DISAGGREGATION + "-consumption-alwayson-get.html",
    "tips": _TIPS + "-list-get.html",
    "tip_names": _TIPS + "-get.html",
    "tip": _TIPS + "-tipid-get.html",
    "tip_action POST": _TIPS + "-tipid-action-post.html",
    "tip_action DELETE": _TIPS + "-tipid-action-delete.html",
    "bill_period": _REFERENCE + "op-apis-billforecast-v2-utility-accounts-id-bill-period-get.html",
    "neighbor_history": _REFERENCE
    + "op-apis-neighborcomparison-v1-bill-utilitycode-utilitycustomerid-fueltype-get.html",
}

# Each page's title, as Oracle's reference names the operation.
TITLES: dict[str, str] = {
    "customers": "Get Customer List",
    "accounts": "Get Utility Account List",
    "home_profile": "Get Home Profile",
    "home_profile PUT": "Update Home Profile",
    "usage/raw": "Get Raw Interval Usage",
    "usage/day": "Get Daily Interval Usage",
    "usage/billing": "Get Billing Usage",
    "bill_comparison": "Get Bill Comparison",
    "bill_forecast": "Get Bill Forecast",
    "neighbor_comparison": "Get Latest Neighbor Comparison",
    "threshold": "Get Threshold Value for a Customer",
    "threshold PUT": "Set or Update a Customer's Threshold",
    "threshold DELETE": "Delete Threshold for a Customer",
    "contacts": "Get Notification Contact List",
    "contacts POST": "Create NotificationContact",
    "contact PUT": "Update NotificationContact",
    "contact DELETE": "Delete NotificationContact",
    "contact_preferences": "Get NotificationPreference List",
    "contact_preferences POST": "Create NotificationPreference",
    "contact_preference DELETE": "Delete NotificationPreference",
    "contact_channel DELETE": "Delete NotificationChannel",
    "energy_breakdown": "Get Annual Disaggregation",
    "bill_energy_breakdown": "Get Bill Disaggregation",
    "always_on": "Get Always-On",
    "tips": "Get Tip List",
    "tip_names": "Get Tip Name List",
    "tip": "Get Tip",
    "tip_action POST": "Update Tip Action",
    "tip_action DELETE": "Delete Tip Action",
    "bill_period": "Get Bill Period",
    "neighbor_history": "Get List of Neighbor Comparisons",
}

# Documented enumerations (the pages'), checked on what a customer sends, described on
# what Opower answers.
DWELLING_TYPES = ("MULTI_FAMILY", "NON_RESIDENTIAL", "SINGLE_FAMILY")
HEAT_TYPES = (
    "ELEC", "GAS", "NONE", "OTHER", "LPG", "OIL", "WOOD", "DISTRICT_HEATING", "GEOTHERMAL",
)  # fmt: skip
METER_TYPES = ("ELEC", "GAS")
# Get Utility Account List's resolution enumeration (FIVE_MINUTE added by Oracle).
RESOLUTIONS = ("MINUTE", "FIVE_MINUTE", "QUARTER_HOUR", "HALF_HOUR", "HOUR", "DAY", "MONTH",
               "BILLING")  # fmt: skip
NEIGHBOR_FUELS = ("ELEC", "GAS", "COMBINED")
# Create NotificationPreference's notificationChannel; Delete NotificationChannel takes all
# but PUSH, and its source is the unsubscribe event's.
NOTIFICATION_CHANNELS = ("EMAIL", "IVR", "SMS", "PRINT", "PUSH")
DELETABLE_CHANNELS = ("EMAIL", "IVR", "SMS", "PRINT")
# Update Tip Action's status ("Default value for all of a customer's tips is NOT_YET").
TIP_STATUSES = ("DONE", "WILL_DO", "NO_THANKS", "NOT_YET")
# Get Annual / Bill Disaggregation: "The list of categories can be extended, but existing
# categories will not be removed": described, never enforced on answers.
DISAGGREGATION_CATEGORIES = (
    "APPLIANCES", "CLOTHES_WASHER", "COOLING", "DISHWASHER", "DRYER", "ELECTRIC_VEHICLE",
    "ELECTRONICS", "HEATING", "LIGHTING", "OTHER", "OVEN", "POOL", "REFRIGERATOR",
    "GAS_APPLIANCES_OTHER", "TOTAL", "WATER_HEATING",
)  # fmt: skip
DISAGGREGATION_FUELS = ("ELEC", "GAS")
HISTORY_FUELS = ("ELECTRICITY", "GAS", "COMBINED")

# Named schemas (the document's components/schemas): the model names of generated
# clients and of the docs page. The route table refers to them.
COMPONENTS: dict[str, dict[str, Any]] = {}


def _component(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    COMPONENTS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _one_of(description: str, values: tuple[str, ...]) -> dict[str, Any]:
    return _text(f"{description}. Documented values: {', '.join(values)}")


_NUMBER = {"type": "number"}
_INTEGER = {"type": "integer"}
_DAY = _text("A date, YYYY-MM-DD")
_INSTANT = _text("A date-time with its offset, e.g. 2017-09-01T00:00:00-06:00")


def _object(
    properties: dict[str, Any], required: tuple[str, ...] = (), description: str = ""
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": True,
    }
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _answer(name: str, inner: dict[str, Any], page: str, *, extra: dict[str, Any] | None = None,
            required: bool = True, note: str = "") -> dict[str, Any]:  # fmt: skip
    """Opower's answer: the payload wrapped in ``response``, as the page documents it."""
    description = f"Opower's answer, passed through unchanged. Oracle's page: {PAGES[page]}"
    return _component(
        name,
        _object(
            {"response": inner, **(extra or {})},
            ("response",) if required else (),
            description + (f". {note}" if note else ""),
        ),
    )


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": "An array, or one object: the page declares an array and its example "
        "shows one object, so a client reads both",
        "oneOf": [{"type": "array", "items": item}, item],
    }


UTILITY_ACCOUNT = _component(
    "UtilityAccount",
    _object(
        {
            "id": {**_INTEGER, "description": "Opower's id: the accountId of other routes"},
            "utilityAccountId": {
                "type": ["string", "integer"],
                "description": "Your account number (the page types it integer, its examples "
                "are strings)",
            },
            "utilityAccountId2": {"type": ["string", "integer", "null"]},
            "meterType": _one_of("The fuel type of the meter", METER_TYPES),
            "resolution": _one_of("The read resolution of the meter", RESOLUTIONS),
            "moveInDate": _DAY,
            "moveOutDate": {"type": ["string", "null"], "description": "YYYY-MM-DD"},
        },
        description="Get Utility Account List's UtilityAccount (no field is marked required)",
    ),
)
UTILITY_ACCOUNTS = _answer("UtilityAccounts", _list_of(UTILITY_ACCOUNT), "accounts")

HOME_PROFILE = _answer(
    "HomeProfileAnswer",
    _component(
        "HomeProfile",
        _object(
            {
                "customerId": {**_INTEGER, "description": "Opower's id of the customer"},
                "dwellingType": _one_of("The type of dwelling", DWELLING_TYPES),
                "heatType": _one_of("The type of heating the dwelling uses", HEAT_TYPES),
                "numberOfAdults": _INTEGER,
                "numberOfChildren": _INTEGER,
                "squareFeet": _INTEGER,
            },
            description="Get Home Profile's HomeProfile (no field is marked required)",
        ),
    ),
    "home_profile",
)

_INTERVAL = _component(
    "UsageInterval",
    _object(
        {
            "start": _INSTANT,
            "end": _INSTANT,
            "usage": {"type": ["number", "null"], "description": "In the answer's unit"},
            "readType": _text("Raw intervals: the read's quality, e.g. ACTUAL"),
            "actualReadsCount": {**_INTEGER, "description": "Daily intervals: actual reads"},
            "estimatedReadsCount": {
                **_INTEGER,
                "description": "Daily intervals: estimated reads",
            },
        },
        (),
        "One interval of a stream. Raw intervals carry readType, daily ones the counts of "
        "actual and estimated reads (the pages' examples); the nested interval schemas "
        "are not published (none is marked required here), and the billing page's "
        "interval is assumed the same start, end and usage",
    ),
)
USAGE = _answer(
    "Usage",
    _component(
        "UsageResponse",
        _object(
            {
                "utilityCode": _text("The utility's code"),
                "utilityCustomerId": _text("Your customer id at the utility"),
                "fuelType": _one_of("The fuel type asked for", ("ELECTRICITY", "GAS")),
                "start": _text("The start of the request, as sent"),
                "end": _text("The end of the request, as sent"),
                "unit": _text("The unit of every usage value, e.g. KWH, THERM"),
                "timezone": _text(
                    "The service point's time zone, which days are counted in, e.g. "
                    "America/New_York (documented on the daily and billing pages)"
                ),
                "streams": {
                    "type": "array",
                    "description": "One per service point: several service points of one "
                    "fuel are several streams",
                    "items": _component(
                        "UsageStream",
                        _object(
                            {
                                "utilityServicePointId": _text("The service point"),
                                "intervals": {"type": "array", "items": _INTERVAL},
                            }
                        ),
                    ),
                },
            },
            ("utilityCode", "fuelType", "start", "end", "unit", "streams"),
            "Required as Get Raw Interval Usage marks them (the daily and billing pages' "
            "field lists are not all published: the same is assumed)",
        ),
    ),
    "usage/raw",
    note=f"Also {PAGES['usage/day']} and {PAGES['usage/billing']}",
)

_BILL_PERIOD = _component(
    "ComparedBill",
    _object(
        {
            "charges": _NUMBER,
            "usage": _NUMBER,
            "startDate": _DAY,
            "endDate": _DAY,
            "averageTemperature": _NUMBER,
            "ratePlan": _text("The bill's rate plan"),
        }
    ),
)
BILL_COMPARISON = _answer(
    "BillComparison",
    _component(
        "BillComparisonResponse",
        _object(
            {
                "meterUnit": _text("e.g. KWH"),
                "currencySymbol": _text("e.g. $"),
                "temperatureUnit": _text("e.g. FAHRENHEIT"),
                "analysisResults": {
                    "type": "array",
                    "description": "What explains the cost difference, by cause",
                    "items": _component(
                        "BillAnalysis",
                        _object(
                            {
                                "analysisName": _text("e.g. WEATHER, OTHER"),
                                "costDifferenceExplained": _NUMBER,
                            }
                        ),
                    ),
                },
                "reference": {**_BILL_PERIOD, "description": "The latest bill before asOf"},
                "compared": {**_BILL_PERIOD, "description": "The bill it is compared with"},
            }
        ),
    ),
    "bill_comparison",
    extra={
        "failureExplanation": _one_of(
            "Present when the comparison could not be made", ("NOT_ENOUGH_USAGE_DATA",)
        )
    },
)

BILL_FORECAST = _answer(
    "BillForecast",
    {
        "type": "object",
        "additionalProperties": True,
        "description": "Oracle's page publishes no answer schema: read it tolerantly. It says "
        "a forecast is not guaranteed for every account (interval data is needed) and that "
        "an account with no modeled rates gets a usage forecast only (no cost)",
    },
    "bill_forecast",
    required=False,
    note="Wrapped in response as every documented answer is (an assumption for this page)",
)

_NEIGHBORS = _component(
    "NeighborComparison",
    _object(
        {
            "you": _NUMBER,
            "neighbors": _NUMBER,
            "efficientNeighbors": _NUMBER,
            "startDate": _DAY,
            "endDate": _DAY,
            "numNeighbors": _INTEGER,
            "numEfficientNeighbors": _INTEGER,
        }
    ),
)
NEIGHBOR_COMPARISON = _answer(
    "NeighborComparisons",
    _component(
        "NeighborComparisonsByFuel",
        _object(
            {fuel: _NEIGHBORS for fuel in NEIGHBOR_FUELS},
            description="Keyed by fuel (ELEC, GAS, COMBINED); a fuel with no comparison has no key",
        ),
    ),
    "neighbor_comparison",
)

THRESHOLD = _answer(
    "ThresholdAnswer",
    _component(
        "Threshold",
        _object(
            {
                "threshold": {**_NUMBER, "description": "The amount that triggers the alert"},
                "percentage": {**_NUMBER, "description": "A percentage, 0 to 1000"},
                "utilityCode": _text("The utility's code"),
                "utilityCustomerId": _text("Your customer id at the utility"),
            },
            ("utilityCode", "utilityCustomerId"),
        ),
    ),
    "threshold",
)

_CONTACT = _component(
    "NotificationContact",
    _object(
        {
            "id": {**_INTEGER, "description": "Opower's id of the contact: the contactId"},
            "name": _text("The name of the notification contact"),
            "email": _text("The email address for the notification contact"),
            "phoneSMS": _text("The phone number for the notification contact on the SMS channel"),
            "phoneVoice": _text("The phone number for the notification contact on the IVR channel"),
            "push": {"type": "boolean", "description": "Whether push notifications may be sent"},
            "primary": {
                "type": "boolean",
                "description": "Whether this is the customer's primary contact",
            },
        },
        ("id", "name", "primary"),
        "Create / Update NotificationContact's NotificationContact (id and primary required, "
        "name required by NotificationContactRequest)",
    ),
)
CONTACTS = _answer("NotificationContacts", _list_of(_CONTACT), "contacts")
CONTACT = _answer("NotificationContactAnswer", _CONTACT, "contacts POST")

_PREFERENCE = _component(
    "NotificationPreference",
    _object(
        {
            "id": {**_INTEGER, "description": "Opower's id of the preference: the preferenceId"},
            "notificationChannel": _one_of(
                "The channel over which communications are delivered", NOTIFICATION_CHANNELS
            ),
            "eventType": _text(
                "The kind of communication, e.g. HOME_ENERGY (Oracle publishes no list)"
            ),
        },
        ("notificationChannel", "eventType"),
    ),
)
PREFERENCES = _answer(
    "NotificationPreferences",
    _list_of(_PREFERENCE),
    "contact_preferences",
    note="The list's own page is not in the stored reference: its shape is its siblings' "
    "(an assumption)",
)
PREFERENCE = _answer("NotificationPreferenceAnswer", _PREFERENCE, "contact_preferences POST")

_CATEGORY = _component(
    "DisaggregationValue",
    _object(
        {
            "name": _one_of("The category (the list may grow)", DISAGGREGATION_CATEGORIES),
            "ratio": {**_NUMBER, "description": "The category's share, 0 to 1"},
            "cost": {**_NUMBER, "description": "Bill breakdown only"},
            "usage": {**_NUMBER, "description": "Bill breakdown only, in usageUnits"},
        }
    ),
)
_BREAKDOWN = _component(
    "Disaggregation",
    _object(
        {
            "billStartDate": _DAY,
            "billEndDate": _DAY,
            "usageUnits": _text("Units of the categories' usage (KWH, THERM)"),
            "categories": {"type": "array", "items": _CATEGORY},
        },
        description="DisaggregationResultV2External (the stored page is cut before any "
        "field is marked required)",
    ),
)
ENERGY_BREAKDOWN = _answer("EnergyBreakdown", _BREAKDOWN, "energy_breakdown")
BILL_ENERGY_BREAKDOWN = _answer("BillEnergyBreakdown", _BREAKDOWN, "bill_energy_breakdown")
ALWAYS_ON = _answer(
    "AlwaysOn",
    _object(
        {
            "ratio": {**_NUMBER, "description": "Always-on's share of the electricity used"},
            "value": {**_NUMBER, "description": "Always-on usage, kWh"},
            "startDate": _text(
                "Start of the period, a date-time (the page's example: 2019-02-01T00:00:00.00Z)"
            ),
            "endDate": _text("End of the period, a date-time"),
        },
        description="Energy used by devices that never turn off and by the stand-by load "
        "of devices powered when not in use (Get Always-On's page)",
    ),
    "always_on",
)

_TIP = _component(
    "Tip",
    _object(
        {
            "tipName": _text("The tip's id: the tipId of /v1/me/tips/{tipId}"),
            "title": _text("The tip's title"),
            "score": _NUMBER,
            "group": _text("The tip's group, e.g. COOLING"),
            "fuelType": {"type": "array", "items": {"type": "string"}},
            "costCategory": _text("e.g. SMART_PURCHASE"),
            "image": _text("An image file name"),
            "status": _one_of("What you did with the tip", TIP_STATUSES),
            "numParticipating": _INTEGER,
            "season": {"type": "array", "items": {"type": "string"}},
            "why": _text("Why the tip saves energy"),
            "shortBody": _text("HTML: sanitize before rendering"),
            "longBody": _text("HTML: sanitize before rendering"),
        },
        description="A tip as Get Tip List's and Get Tip's examples show it (the stored pages "
        "are cut before the field schema: no field is taken as required)",
    ),
)
TIPS = _answer(
    "Tips",
    {"type": "array", "items": _TIP, "description": "Sorted by your expected savings"},
    "tips",
)
TIP_NAMES = _answer(
    "TipNames",
    {
        "type": "array",
        "items": {"type": "string"},
        "description": "Tip names, sorted by your expected savings (a name may repeat)",
    },
    "tip_names",
)
TIP = _answer("TipAnswer", _TIP, "tip")
TIP_ACTION = _answer(
    "TipActionAnswer",
    {"type": "boolean", "description": "true: the tip's status is recorded"},
    "tip_action POST",
)

BILL_PERIOD = _answer(
    "BillPeriod",
    {
        "type": "object",
        "additionalProperties": True,
        "description": "Oracle's page publishes no answer schema: read it tolerantly. A 200 "
        "does not guarantee a period (none without the account's history)",
    },
    "bill_period",
    required=False,
    note="Wrapped in response as every documented answer is (an assumption for this page)",
)

_HISTORY_ITEM = _component(
    "NeighborComparisonPeriod",
    _object(
        {
            "start": _INSTANT,
            "end": _INSTANT,
            "customerUsage": _NUMBER,
            "allNeighborsUsage": _NUMBER,
            "efficientNeighborsUsage": _NUMBER,
        }
    ),
)
NEIGHBOR_HISTORY = _answer(
    "NeighborComparisonHistory",
    _component(
        "NeighborComparisonList",
        _object(
            {
                "utilityCode": _text("The utility's code"),
                "utilityCustomerId": {
                    "type": ["string", "integer"],
                    "description": "Your customer id at the utility (the page's example gives "
                    "a number, its path a string)",
                },
                "fuelType": _one_of("The fuel", HISTORY_FUELS),
                "start": _INSTANT,
                "end": _INSTANT,
                "unit": _text("e.g. KWH"),
                "neighborComparisons": {"type": "array", "items": _HISTORY_ITEM},
            }
        ),
    ),
    "neighbor_history",
)

# Answers whose example is the sandbox's own, not Oracle's: their pages publish neither a
# schema nor an example. The document marks each as assumed (gateway.proxy.openapi), so an
# app developer does not build on a shape Oracle never promised.
ASSUMED_EXAMPLES: dict[str, str] = {
    "bill_forecast": "Assumed, not Oracle's: Get Bill Forecast publishes no answer schema or "
    "example; this is the sandbox's answer. Read the real one tolerantly (cost fields may be "
    "absent: the page says an account without modeled rates gets a usage forecast only)",
    "bill_period": "Assumed, not Oracle's: Get Bill Period publishes no answer schema or "
    "example; this is the sandbox's answer (startDate and endDate). Read the real one "
    "tolerantly",
}

# One example per answer, shown in the docs page and the document: the page's own example
# where it has one (Get Utility Account List, Get Home Profile, Get Bill Comparison, verbatim;
# Get Raw Interval Usage and Get Latest Neighbor Comparison, completed where the stored
# page is cut, as tests/contracts/opower/ says), the sandbox's answer where it has none.
EXAMPLES: dict[str, Any] = {
    "accounts": {"response": {"id": 1071, "utilityAccountId": "1872099045",
                              "moveInDate": "2011-10-15", "meterType": "ELEC",
                              "resolution": "HALF_HOUR"}},
    "home_profile": {"response": {"customerId": 31, "dwellingType": "SINGLE_FAMILY",
                                  "squareFeet": 2100, "heatType": "ELEC", "numberOfAdults": 2,
                                  "numberOfChildren": 1}},
    "usage": {"response": {
        "utilityCode": "util", "utilityCustomerId": "9999990000-9999990000",
        "fuelType": "ELECTRICITY", "start": "2017-09-01T00:00:00-06:00",
        "end": "2017-09-01T00:30:00-06:00", "unit": "KWH",
        "streams": [{"utilityServicePointId": "12345001", "intervals": [
            {"start": "2017-09-01T00:00:00-06:00", "end": "2017-09-01T00:15:00-06:00",
             "usage": 0.14, "readType": "ACTUAL"},
            {"start": "2017-09-01T00:15:00-06:00", "end": "2017-09-01T00:30:00-06:00",
             "usage": 0.12, "readType": "ACTUAL"}]}]}},
    "bill_comparison": {"response": {
        "meterUnit": "KWH", "currencySymbol": "$", "temperatureUnit": "FAHRENHEIT",
        "analysisResults": [{"analysisName": "WEATHER", "costDifferenceExplained": -176.44},
                            {"analysisName": "OTHER", "costDifferenceExplained": -840.16}],
        "reference": {"charges": 76.48, "usage": 865.857, "startDate": "2016-03-02",
                      "endDate": "2016-03-31", "averageTemperature": 48.3, "ratePlan": "AB"},
        "compared": {"charges": 1093.08, "usage": 1200, "startDate": "2016-02-01",
                     "endDate": "2016-03-01", "averageTemperature": 34.1, "ratePlan": "AB"}}},
    "bill_forecast": {"response": {
        "customerId": 1000002, "asOf": "2026-11-29", "currencySymbol": "$",
        "forecasts": [{"accountId": 2000003, "fuelType": "ELECTRICITY", "unit": "KWH",
                       "billPeriodStart": "2026-11-01", "billPeriodEnd": "2026-11-30",
                       "usageToDate": 669.751, "projectedUsage": 717.59,
                       "costToDate": 110.46, "projectedCost": 117.64}]}},
    "neighbor_comparison": {"response": {
        "ELEC": {"you": 123.45, "neighbors": 456.78, "efficientNeighbors": 100.1,
                 "startDate": "2018-01-02", "endDate": "2018-02-31", "numNeighbors": 98,
                 "numEfficientNeighbors": 20},
        "GAS": {"you": 12.45, "neighbors": 45.78, "efficientNeighbors": 10.1,
                "startDate": "2018-01-03", "endDate": "2018-02-02", "numNeighbors": 94,
                "numEfficientNeighbors": 20},
        "COMBINED": {"you": 12.45, "neighbors": 45.78, "efficientNeighbors": 10.1,
                     "startDate": "2018-01-02", "endDate": "2018-02-31", "numNeighbors": 98,
                     "numEfficientNeighbors": 20}}},
    "threshold": {"response": {"threshold": 150.0, "percentage": 80.0, "utilityCode": "UTX",
                               "utilityCustomerId": "UC-0002"}},
    # The contact pages' examples; Get NotificationPreference List's page documents the
    # items {id, notificationChannel, eventType} (its example, in a list).
    "contacts": {"response": [{"id": 1, "name": "Jane Doe", "email": "jane.doe@example.com",
                               "phoneSMS": "555-123-1234", "phoneVoice": "555-123-1234",
                               "primary": False}]},
    "contact_preferences": {"response": [{"id": 1, "notificationChannel": "EMAIL",
                                          "eventType": "HOME_ENERGY"}]},
    # The disaggregation pages' examples, cut short in the stored pages.
    "energy_breakdown": {"response": {"categories": [{"name": "APPLIANCES", "ratio": 0.09},
                                                     {"name": "COOLING", "ratio": 0.02}]}},
    "bill_energy_breakdown": {"response": {"categories": [
        {"name": "APPLIANCES", "ratio": 0.05, "cost": 490, "usage": 4900}]}},
    # Get Tip List's and Get Tip's example (its long HTML bodies shortened here), Get Tip
    # Name List's (a name repeats, as on the page).
    "tips": {"response": [{"tipName": "tip018_improve_window_shading",
                           "title": "Improve shading for windows", "score": 215.68625,
                           "group": "COOLING", "fuelType": ["ELEC"],
                           "costCategory": "SMART_PURCHASE",
                           "image": "tip018_improve_window_shading.jpg", "status": "WILL_DO",
                           "numParticipating": 4984, "season": ["SUMMER", "SPRING"],
                           "shortBody": "<p>Window shades can help you stay cooler.</p>"}]},
    "tip_names": {"response": ["tip001_buy_energy_star", "tip059_use_power_strips",
                               "tip018_improve_window_shading", "tip001_buy_energy_star"]},
    "tip": {"response": {"tipName": "tip018_improve_window_shading",
                         "title": "Improve shading for windows", "score": 215.68625,
                         "group": "COOLING", "status": "WILL_DO"}},
    # Get Bill Period publishes neither schema nor example: the sandbox's answer.
    "bill_period": {"response": {"startDate": "2026-11-01", "endDate": "2026-11-30"}},
    # Get Always-On's example, verbatim.
    "always_on": {"response": {"ratio": 0.02, "value": 15, "startDate": "2019-02-01T00:00:00.00Z",
                               "endDate": "2019-03-01T00:00:00.00Z"}},
    "neighbor_history": {"response": {
        "utilityCode": "util", "utilityCustomerId": 12345, "fuelType": "ELECTRICITY",
        "start": "2013-09-01T00:00:00-06:00", "end": "2014-09-01T00:00:00-06:00", "unit": "KWH",
        "neighborComparisons": [
            {"start": "2013-08-20T00:00:00-06:00", "end": "2013-09-20T00:00:00-06:00",
             "customerUsage": 332, "allNeighborsUsage": 358.1, "efficientNeighborsUsage": 294.4},
            {"start": "2013-09-20T00:00:00-06:00", "end": "2013-10-20T00:00:00-06:00",
             "customerUsage": 375.1, "allNeighborsUsage": 382.7,
             "efficientNeighborsUsage": 298.2}]}},
}  # fmt: skip
