"""JSON schemas of the answers the customer API passes through from Opower, for the
OpenAPI document (and the typed clients generated from it).

From Oracle's reference (``shared/reference/opower-api.md``) and the sandbox's answers,
which a test validates against them. Fields Opower may add later are allowed: a schema
says what a client can rely on, not everything Opower may send.
"""

from __future__ import annotations

from typing import Any

# Named schemas (the document's components/schemas): the model names of generated
# clients and of the docs page. The route table refers to them.
COMPONENTS: dict[str, dict[str, Any]] = {}


def _component(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    COMPONENTS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


_DATE = {"type": "string", "format": "date"}
_INSTANT = {"type": "string", "format": "date-time"}
_NUMBER = {"type": "number"}
_FUEL = _component("FuelType", {"type": "string", "enum": ["ELECTRICITY", "GAS"]})
_UNIT = _component("Unit", {"type": "string", "enum": ["KWH", "THERM"]})


def _object(
    properties: dict[str, Any], required: tuple[str, ...] = (), description: str = ""
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


UTILITY_ACCOUNT = _component(
    "UtilityAccount",
    _object(
        {
            "id": {"type": "integer", "description": "Opower's id: the accountId of other routes"},
            "utilityAccountId": {"type": "string", "description": "Your account number"},
            "utilityAccountId2": {"type": ["string", "null"]},
            "meterType": {"type": "string", "enum": ["ELEC", "GAS"]},
            "resolution": {"type": ["string", "null"]},
            "moveInDate": {"type": ["string", "null"], "format": "date"},
            "moveOutDate": {"type": ["string", "null"], "format": "date"},
        },
        ("id", "utilityAccountId", "meterType"),
    ),
)
UTILITY_ACCOUNTS = {"type": "array", "items": UTILITY_ACCOUNT}

HOME_PROFILE = _component(
    "HomeProfile",
    _object(
        {
            "customerId": {"type": "integer"},
            "dwellingType": {"type": ["string", "null"]},
            "heatType": {"type": ["string", "null"]},
            "numberOfAdults": {"type": ["integer", "null"]},
            "numberOfChildren": {"type": ["integer", "null"]},
            "squareFeet": {"type": ["integer", "null"]},
        },
        ("customerId",),
    ),
)

USAGE = _component(
    "Usage",
    _object(
        {
            "utilityCustomerId": {"type": "string"},
            "fuelType": _FUEL,
            "resolution": {"type": "string", "enum": ["raw", "day", "billing"]},
            "unit": _UNIT,
            "reads": {
                "type": "array",
                "items": _component(
                    "UsageRead",
                    _object(
                        {"startTime": _INSTANT, "endTime": _INSTANT, "value": _NUMBER},
                        ("startTime", "endTime", "value"),
                    ),
                ),
            },
        },
        ("fuelType", "resolution", "unit", "reads"),
    ),
)

_BILL = _component(
    "Bill",
    _object(
        {"startDate": _DATE, "endDate": _DATE, "usage": _NUMBER, "cost": _NUMBER},
        ("startDate", "endDate", "usage", "cost"),
    ),
)
BILL_COMPARISON = _component(
    "BillComparison",
    _object(
        {
            "accountId": {"type": "integer"},
            "utilityAccountId": {"type": "string"},
            "fuelType": _FUEL,
            "unit": _UNIT,
            "currency": {"type": "string"},
            "asOf": _DATE,
            "comparisonBill": {"type": "string", "enum": ["PREVIOUS", "YEAR_AGO"]},
            "fallbackApplied": {"type": "boolean"},
            "currentBill": _BILL,
            "comparedBill": _BILL,
            "usageDifference": _NUMBER,
            "costDifference": _NUMBER,
        },
        ("accountId", "asOf", "currentBill", "comparedBill"),
    ),
)

BILL_FORECAST = _component(
    "BillForecast",
    _object(
        {
            "customerId": {"type": "integer"},
            "asOf": _DATE,
            "currency": {"type": "string"},
            "forecasts": {
                "type": "array",
                "items": _component(
                    "BillForecastItem",
                    _object(
                        {
                            "accountId": {"type": "integer"},
                            "utilityAccountId": {"type": "string"},
                            "fuelType": _FUEL,
                            "unit": _UNIT,
                            "billPeriodStart": _DATE,
                            "billPeriodEnd": _DATE,
                            "usageToDate": _NUMBER,
                            "costToDate": _NUMBER,
                            "projectedUsage": _NUMBER,
                            "projectedCost": _NUMBER,
                        },
                        ("accountId", "billPeriodStart", "billPeriodEnd", "projectedCost"),
                    ),
                ),
            },
        },
        ("asOf", "forecasts"),
    ),
)

NEIGHBOR_COMPARISON = _component(
    "NeighborComparison",
    _object(
        {
            "customerId": {"type": "integer"},
            "asOf": _DATE,
            "comparisons": {
                "type": "array",
                "items": _component(
                    "NeighborComparisonPeriod",
                    _object(
                        {
                            "fuelType": _FUEL,
                            "unit": _UNIT,
                            "billPeriodStart": _DATE,
                            "billPeriodEnd": _DATE,
                            "you": _NUMBER,
                            "averageNeighbors": _NUMBER,
                            "efficientNeighbors": _NUMBER,
                            "rating": {
                                "type": "string",
                                "enum": ["GREAT", "GOOD", "ABOVE_AVERAGE"],
                            },
                        },
                        ("fuelType", "you", "averageNeighbors", "efficientNeighbors", "rating"),
                    ),
                ),
            },
        },
        ("asOf", "comparisons"),
    ),
)

THRESHOLD = _component(
    "Threshold",
    _object(
        {
            "threshold": {"type": "number", "minimum": 0},
            "percentage": {"type": "integer", "minimum": 0, "maximum": 1000},
        },
        ("threshold", "percentage"),
    ),
)

# One example per answer, shown in the docs page and the document.
EXAMPLES: dict[str, Any] = {
    "accounts": [
        {"id": 2000001, "utilityAccountId": "4100000001", "utilityAccountId2": "SP-7001",
         "meterType": "ELEC", "resolution": "QUARTER_HOUR", "moveInDate": "2019-04-01",
         "moveOutDate": None},
    ],
    "home_profile": {"customerId": 1000001, "dwellingType": "SINGLE_FAMILY",
                     "heatType": "ELECTRIC", "numberOfAdults": 2, "numberOfChildren": 1,
                     "squareFeet": 1850},
    "usage": {"utilityCustomerId": "UC-0002", "fuelType": "GAS", "resolution": "day",
              "unit": "THERM", "reads": [{"startTime": "2026-11-01T00:00:00-05:00",
                                          "endTime": "2026-11-02T00:00:00-05:00",
                                          "value": 2.302}]},
    "bill_comparison": {"accountId": 2000003, "utilityAccountId": "4100000003",
                        "fuelType": "ELECTRICITY", "unit": "KWH", "currency": "USD",
                        "asOf": "2026-11-29", "comparisonBill": "PREVIOUS",
                        "fallbackApplied": False,
                        "currentBill": {"startDate": "2026-10-01", "endDate": "2026-10-31",
                                        "usage": 753.082, "cost": 122.96},
                        "comparedBill": {"startDate": "2026-09-01", "endDate": "2026-09-30",
                                         "usage": 736.125, "cost": 120.42},
                        "usageDifference": 16.957, "costDifference": 2.54},
    "bill_forecast": {"customerId": 1000002, "asOf": "2026-11-29", "currency": "USD",
                      "forecasts": [{"accountId": 2000003, "utilityAccountId": "4100000003",
                                     "fuelType": "ELECTRICITY", "unit": "KWH",
                                     "billPeriodStart": "2026-11-01",
                                     "billPeriodEnd": "2026-11-30", "usageToDate": 669.751,
                                     "costToDate": 110.46, "projectedUsage": 717.59,
                                     "projectedCost": 117.64}]},
    "neighbor_comparison": {"customerId": 1000002, "asOf": "2026-11-29",
                            "comparisons": [{"fuelType": "ELECTRICITY", "unit": "KWH",
                                             "billPeriodStart": "2026-10-01",
                                             "billPeriodEnd": "2026-10-31", "you": 753.082,
                                             "averageNeighbors": 700.366,
                                             "efficientNeighbors": 455.237,
                                             "rating": "ABOVE_AVERAGE"}]},
    "threshold": {"threshold": 150.0, "percentage": 80},
}  # fmt: skip
