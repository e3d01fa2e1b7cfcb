"""Read-cycle billing (SandboxConfig(billing="cycles"), what `make dev` and the month
benchmark run): a utility reads its meters in about 20 cycles a month, so bills post every
working day, each customer's on their cycle's day (issue #38). Every operation that shows
a bill agrees on its period: Get Bill Period, Get Bill Comparison's reference and compared
bills, Get Billing Usage's bills, Get Latest Neighbor Comparison and Get Bill Forecast
(each page's fields; the sandbox's assumptions are those of local.sandbox.insights)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from local.sandbox import OpowerSandbox, SandboxConfig
from local.sandbox.data import READ_CYCLE_DAYS, read_cycle_day
from tests.integration.sandbox.sandbox_client import SandboxClient, U

pytestmark = pytest.mark.integration

ZONE = ZoneInfo("America/Chicago")
AS_OF = date(2026, 10, 27)  # on or after every cycle's day of October


@pytest.fixture(scope="module")
def cycles() -> Iterator[SandboxClient]:
    config = SandboxConfig(port=0, billing="cycles", population=400, rate_per_second=10_000)
    with OpowerSandbox(config) as sandbox:
        yield SandboxClient(sandbox.base_url)


def test_bills_post_every_working_day_across_the_customers() -> None:
    days = Counter(read_cycle_day(1_100_000 + i) for i in range(4000))

    assert set(days) == set(READ_CYCLE_DAYS)  # 20 cycles, on a four-week month's weekdays
    assert max(days.values()) < 2 * min(days.values())  # spread about evenly
    assert read_cycle_day(1_000_001) == read_cycle_day(1_000_001)  # fixed per customer


@pytest.mark.parametrize(("customer", "account"), [(1000001, 2000001), (1100007, 2100007)])
def test_every_operation_agrees_on_a_customers_bill_periods(
    cycles: SandboxClient, customer: int, account: int
) -> None:
    token = cycles.token()
    c = read_cycle_day(customer)
    current = date(2026, 10, c)
    reference = date(2026, 9, c)
    compared = date(2026, 8, c)

    period = cycles.get(f"billforecast-v2/{U}/accounts/{account}/bill-period", token,
                        asOf=AS_OF.isoformat()).json()["response"]  # fmt: skip
    comparison = cycles.get(f"billComparison-v2/{U}/bill-comparison/accounts/{account}",
                            token, asOf=AS_OF.isoformat()).json()["response"]  # fmt: skip
    neighbors = cycles.get(f"neighborComparison-v1/{U}/customers/{customer}/neighbor_comparison",
                           token, asOf=AS_OF.isoformat()).json()["response"]  # fmt: skip
    forecast = cycles.get(f"billforecast-v2/{U}/customers/{customer}/bill_forecast", token,
                          asOf=AS_OF.isoformat()).json()["response"]  # fmt: skip

    def last_day(first: date) -> str:
        return ((first + timedelta(days=32)).replace(day=c) - timedelta(days=1)).isoformat()

    assert period == {"startDate": current.isoformat(), "endDate": last_day(current)}
    assert (comparison["reference"]["startDate"], comparison["reference"]["endDate"]) == (
        reference.isoformat(), last_day(reference))  # fmt: skip
    assert comparison["compared"]["startDate"] == compared.isoformat()
    assert {n["startDate"] for n in neighbors.values()} == {reference.isoformat()}
    assert {f["billPeriodStart"] for f in forecast["forecasts"]} == {current.isoformat()}


def test_billing_usage_bills_are_the_comparisons(cycles: SandboxClient) -> None:
    """Get Billing Usage's bill of a period holds the usage Get Bill Comparison shows for it."""
    token = cycles.token()
    c = read_cycle_day(1100007)
    start = datetime.combine(date(2026, 7, 1), time(), ZONE).isoformat()
    end = datetime.combine(AS_OF, time(), ZONE).isoformat()

    usage = cycles.get(f"usage-v1/usage/billing/{U}/UC-P000007/ELECTRICITY", token,
                       start=start, end=end).json()["response"]  # fmt: skip
    comparison = cycles.get(f"billComparison-v2/{U}/bill-comparison/accounts/2100007", token,
                            asOf=AS_OF.isoformat()).json()["response"]  # fmt: skip

    bills = usage["streams"][0]["intervals"]
    assert {datetime.fromisoformat(b["start"]).day for b in bills} == {c}
    september = next(b for b in bills if b["start"].startswith(f"2026-09-{c:02d}"))
    assert september["usage"] == comparison["reference"]["usage"]


def test_the_calendar_mode_keeps_every_bill_on_the_first(client: SandboxClient, token: str) -> None:
    """The default, for the stress case (every bill on one day) and the exact months the
    other tests assert."""
    period = client.get(f"billforecast-v2/{U}/accounts/2000001/bill-period", token,
                        asOf=AS_OF.isoformat()).json()["response"]  # fmt: skip

    assert period == {"startDate": "2026-10-01", "endDate": "2026-10-31"}


def test_an_unknown_billing_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="billing must be one of calendar, cycles"):
        SandboxConfig(billing="weekly")
