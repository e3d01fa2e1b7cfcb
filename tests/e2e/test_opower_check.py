"""`make opower-check` against the running local stack: every route, for each sample
customer, answers as Oracle's pages document (through the gateway, from the sandbox); and
an answer that departs from its page is reported, with where it departs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import leakcheck
from tests.e2e.conftest import ROOT, RunningStack

pytestmark = pytest.mark.e2e


def opower_check(stack: RunningStack, *args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(  # noqa: S603 - our own module, our arguments
        [sys.executable, "-m", "local.opower_check", *args],
        cwd=ROOT, env=stack.token_command_env(), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    leakcheck.add_captured("make opower-check", run.stdout + run.stderr)
    return run


@pytest.mark.parametrize(
    ("customer", "company"),
    [("UC-0001", "UTX"), ("UC-0002", "UTX"), ("UC-0003", "UTX"), ("UC-0004", "UTX"),
     ("UC-0005", "UTX"), ("UC-0001", "UTY"), ("UC-2002", "UTY")],
)  # fmt: skip
def test_every_route_conforms_for_each_sample_customer(
    e2e: RunningStack, customer: str, company: str
) -> None:
    run = opower_check(e2e, customer, "--company", company)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 failed: every answer is as Oracle's pages document it" in run.stdout
    assert "FAIL" not in run.stdout


def test_it_names_each_page_and_covers_every_route(e2e: RunningStack) -> None:
    run = opower_check(e2e, "UC-0002")  # electricity and gas, a threshold, a profile

    assert run.returncode == 0, run.stdout
    for title in ("Get Utility Account List", "Get Home Profile", "Get Raw Interval Usage",
                  "Get Daily Interval Usage", "Get Billing Usage", "Get Bill Comparison",
                  "Get Bill Forecast", "Get Latest Neighbor Comparison",
                  "Get Threshold Value for a Customer"):  # fmt: skip
        assert f"conforms ({title})" in run.stdout
    assert "GET /v1/me/usage/raw/GAS" in run.stdout
    assert "PUT /v1/me/threshold" in run.stdout  # written back unchanged
    assert "DELETE /v1/me/threshold" not in run.stdout  # the customer's own: never removed


def test_an_answer_that_departs_from_its_page_is_reported(e2e: RunningStack) -> None:
    # A utility account whose meterType is a number, and an account without its fields:
    # Get Utility Account List documents meterType as a string.
    e2e.sandbox_control("POST", "answers", {"utility_accounts": {"status": 200, "body": {
        "response": [{"id": 2000005, "meterType": 7, "moveInDate": "2021-06-01"}]}}})  # fmt: skip

    run = opower_check(e2e, "UC-0003", "--writes", "0")

    assert run.returncode == 1, run.stdout
    line = next(row for row in run.stdout.splitlines() if row.startswith("GET /v1/me/accounts "))
    assert "FAIL differs: response/0/meterType: 7 is not of type 'string'" in line
    assert "1 failed" in run.stdout.splitlines()[-2]


def test_without_a_customer_it_says_what_to_give(e2e: RunningStack) -> None:
    run = opower_check(e2e)

    assert run.returncode == 2
    assert "make opower-check CUSTOMER=<utilityCustomerId>" in run.stderr


@pytest.mark.parametrize(
    ("route", "body", "call", "says"),
    [
        # Every documented answer is wrapped in `response` (Get Bill Forecast and Get Bill
        # Period publish no schema: held to the same wrapper).
        ("bill_forecast", {"customerId": 1000003}, "GET /v1/me/bill-forecast ",
         "no `response` wrapper"),
        ("bill_period", {"startDate": "2026-11-01"}, "GET /v1/me/accounts/2000005/bill-period",
         "no `response` wrapper"),
        # Get Latest Neighbor Comparison is keyed by fuel: ELEC, GAS or COMBINED.
        ("neighbor_comparison", {"response": {"electricity": 5}},
         "GET /v1/me/neighbor-comparison ", "none of the fuels"),
        # Get Annual Disaggregation's answer holds its categories.
        ("disaggregation", {"response": {"unit": "KWH"}},
         "GET /v1/me/energy-breakdown ", "response/categories"),
    ],
    ids=["forecast-unwrapped", "period-unwrapped", "neighbors-no-fuel", "breakdown-empty"],
)  # fmt: skip
def test_each_wrong_answer_fails_the_check(
    e2e: RunningStack, route: str, body: object, call: str, says: str
) -> None:
    e2e.sandbox_control("POST", "answers", {route: {"status": 200, "body": body}})
    # Answers cached by earlier checks are made stale, so that Opower is asked again.
    e2e.http.request("POST", f"{e2e.gateway}/_local/faults", json={"cache_expired": True})
    try:
        run = opower_check(e2e, "UC-0003", "--writes", "0")
    finally:
        e2e.sandbox_control("POST", "answers", {route: None})

    assert run.returncode == 1, run.stdout
    line = next(row for row in run.stdout.splitlines() if row.startswith(call))
    assert "FAIL differs:" in line
    assert says in line


def test_every_operation_is_called_and_a_skipped_check_says_why(e2e: RunningStack) -> None:
    run = opower_check(e2e, "UC-0004", "--writes", "1")  # no account, no contact, no tip

    for call in ("GET /v1/me/energy-breakdown/bill", "DELETE /v1/me/contacts/",
                 "/channels/EMAIL"):  # fmt: skip
        assert call in run.stdout, run.stdout
    assert "skipped: the customer has no contact" in run.stdout or "preferences" in run.stdout
    full = opower_check(e2e, "UC-0002", "--writes", "1")
    assert full.returncode == 0, full.stdout
    assert "DELETE /v1/me/tips/" in full.stdout  # Delete Tip Action, then written back
    assert "/channels/EMAIL" in full.stdout


def test_an_unreachable_opower_is_said_in_one_line(e2e: RunningStack) -> None:
    e2e.sandbox_control("POST", "faults", {"data_endpoints": "5xx"})
    try:
        run = opower_check(e2e, "UC-0003", "--writes", "0")
    finally:
        e2e.sandbox_control("POST", "reset")

    assert run.returncode == 1
    assert run.stdout.splitlines()[1:] == []  # nothing checked after the first call
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("make opower-check: the first call, GET /v1/me/accounts, got 50")
    assert "nothing else was checked" in line
    assert "no utility account" not in run.stdout + run.stderr


def test_it_says_which_form_of_account_the_tier_finds(e2e: RunningStack) -> None:
    """The disaggregation pages name the account by the utility's number; the gateway sends
    it so by default and the sandbox follows the page: found. A tier that answered only
    Opower's own id would fail here, with the setting to change."""
    run = opower_check(e2e, "UC-0002", "--writes", "0")

    line = next(r for r in run.stdout.splitlines()
                if r.startswith("GET /v1/me/energy-breakdown?accountId="))  # fmt: skip
    assert "the tier finds the account as the gateway names it" in line

    e2e.sandbox_control("POST", "answers", {"disaggregation": {"status": 404, "body": {
        "httpStatus": 404, "serviceErrorCode": "NOT_FOUND", "errorMessage": "no"}}})  # fmt: skip
    e2e.http.request("POST", f"{e2e.gateway}/_local/faults", json={"cache_expired": True})
    try:
        missing = opower_check(e2e, "UC-0002", "--writes", "0")
    finally:
        e2e.sandbox_control("POST", "answers", {"disaggregation": None})
    assert "skipped: no breakdown for the customer" in missing.stdout


def test_the_sample_in_the_customer_api_page_is_what_it_prints(e2e: RunningStack) -> None:
    """docs/customer-api.md shows UC-0003's check against the sandbox: the lines it shows
    are the real output's, in order (columns aside), so the page cannot drift from it."""
    page = (ROOT / "docs" / "customer-api.md").read_text()
    sample = page.split("`make opower-check CUSTOMER=UC-0003`", 1)[1].split("```text\n", 1)[1]
    shown = [line.split() for line in sample.split("```", 1)[0].splitlines()]

    run = opower_check(e2e, "UC-0003")

    printed = [line.split() for line in run.stdout.splitlines()][1:]  # after "Checking ... port"
    assert run.returncode == 0, run.stdout
    assert shown == printed
