"""The customer portal (portal/), as a customer uses it in Chromium: sign-in with the code
flow and PKCE at the dev IdP, usage drawn from the sandbox's numbers, accounts, settings,
and each thing an app must handle (Retry-After, a stale answer, Opower down, a refusal,
an expired session), with the keyboard and at phone width.

What the gateway answers is docs/customer-api.md's; the numbers compared are the
sandbox's, as the gateway passes its answers through unchanged (Get Daily Interval Usage,
Get Raw Interval Usage, Get Bill Comparison: Oracle's pages, named in the OpenAPI document).
"""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser import screenshot
from tests.browser.conftest import PHONE, Portal

pytestmark = pytest.mark.browser


def _table(portal: Portal) -> tuple[list[str], list[list[str]]]:
    """The usage table under the chart: its column heads and its rows."""
    table = portal.page.locator("#usage-table")
    heads = table.locator("thead th").all_text_contents()
    rows = [row.locator("th, td").all_text_contents() for row in table.locator("tbody tr").all()]
    return heads, rows


def _last_request(portal: Portal, fragment: str) -> str:
    """The path and query of the portal's last call whose path holds ``fragment``."""
    url = next(u for u in reversed(portal.requests) if fragment in urlsplit(u).path)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _sums(answers: list[dict[str, Any]], key: Any) -> dict[str, dict[str, float]]:
    """Per service point, the usage per bucket (``key`` of an interval's start)."""
    sums: dict[str, dict[str, float]] = {}
    for answer in answers:
        for stream in answer["response"]["streams"]:
            point = sums.setdefault(stream["utilityServicePointId"], {})
            for interval in stream["intervals"]:
                bucket = key(interval["start"])
                point[bucket] = point.get(bucket, 0.0) + interval["usage"]
    return sums


def test_a_customer_signs_in_and_sees_each_service_points_days_drawn(portal: Portal) -> None:
    portal.sign_in("Ada Lovelace")
    page = portal.page
    portal.wait_loaded("usage")
    expect(page.locator("#customer-name")).to_have_text("Ada Lovelace")
    # the sign-in left no code in the address bar, and no token anywhere but memory
    assert urlsplit(page.url).query == ""
    stored = page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage),"
        " document.cookie])"
    )
    assert all(token not in stored for token in portal.sessions)
    assert stored == '[[],[],""]'

    # the chart and its table are the gateway's answer to the portal's own request
    path = _last_request(portal, "/v1/me/usage/day/ELECTRICITY")
    answer = portal.gateway_get(path, "UC-0001")
    expected = _sums([answer], lambda start: start[5:10])
    heads, rows = _table(portal)
    assert heads == ["", *(f"{point} (kWh)" for point in expected)]
    assert len(rows) == len({day for days in expected.values() for day in days}) >= 28
    for row in rows:
        for point, cell in zip(expected, row[1:], strict=True):
            assert float(cell) == pytest.approx(expected[point][row[0]], abs=0.0005)
    # one bar per service point per day, each carrying its number
    bars = page.locator("#chart rect.bar")
    assert bars.count() == sum(len(days) for days in expected.values())
    first = bars.first
    assert float(first.get_attribute("data-value") or "nan") == pytest.approx(
        expected[first.get_attribute("data-series") or ""][first.get_attribute("data-label") or ""],
        abs=0.0005,
    )
    expect(page.locator("#legend li")).to_have_text(
        ["Service point SP-7001", "Service point SP-7002"]
    )
    expect(page.locator("#usage .status")).to_have_text(re.compile(r"^As of \d\d:\d\d( [AP]M)?\.$"))


def test_hours_of_a_day_for_gas_add_up_the_raw_intervals(portal: Portal) -> None:
    portal.sign_in("Grace Hopper")
    page = portal.page
    portal.wait_loaded("usage")
    page.get_by_label("Hours of a day").check()
    page.get_by_label("Fuel").select_option("GAS")
    day = page.get_by_label("Day", exact=True)
    day.fill("2026-11-01")  # the clocks went back in Chicago that night
    day.dispatch_event("change")
    expect(page.locator("#chart-caption")).to_contain_text("Gas use per hour on 2026-11-01")
    portal.wait_loaded("usage")
    answer = portal.gateway_get(_last_request(portal, "/v1/me/usage/raw/GAS"), "UC-0002")
    expected = _sums([answer], lambda start: start[11:13] + start[19:])
    heads, rows = _table(portal)
    assert heads == ["", "SP-7004 (therms)"]
    assert len(rows) == 25  # a day of 25 hours: 01:00 twice, told apart by the offset
    assert [row[0] for row in rows[:3]] == ["00:00", "01:00 (-05:00)", "01:00 (-06:00)"]
    drawn = sum(float(row[1]) for row in rows)
    assert drawn == pytest.approx(sum(expected["SP-7004"].values()), abs=0.01)


def test_a_customer_with_no_account_yet_is_told_so_and_shown_no_empty_card(
    portal: Portal,
) -> None:
    portal.sign_in("Katherine Johnson")  # Opower lists no utility account for her
    page = portal.page
    portal.wait_loaded("usage")
    expect(page.locator("#usage .body")).to_have_text("Your utility lists no account for you yet.")
    for card in ("bill", "forecast", "neighbors", "tips", "settings"):
        expect(page.locator(f"#{card}")).to_be_hidden()


def test_switching_accounts_shows_that_accounts_bill(portal: Portal) -> None:
    portal.sign_in("Ada Lovelace")
    page = portal.page
    portal.wait_loaded("bill")
    account = page.get_by_label("Account")
    expect(account.locator("option")).to_have_count(2)
    for account_id in ("2000002", "2000001"):
        account.select_option(account_id)
        expect(page.locator("#bill .status")).not_to_have_text("Loading…")
        portal.wait_loaded("bill")
        path = _last_request(portal, f"/v1/me/accounts/{account_id}/bill-comparison")
        bill = portal.gateway_get(path, "UC-0001")["response"]
        text = page.locator("#bill .body").inner_text()
        assert f"${bill['reference']['charges']:.2f}" in text
        assert f"${bill['compared']['charges']:.2f}" in text
        for result in bill["analysisResults"]:
            assert f"{result['analysisName'].capitalize()}: " in text


def test_a_threshold_is_set_refused_with_the_gateways_reason_and_cleared(portal: Portal) -> None:
    portal.sign_in("Alan Turing")
    page = portal.page
    portal.wait_loaded("settings")
    expect(page.locator("#threshold-current")).to_have_text("No high bill alert is set.")

    page.get_by_label("Threshold (amount)").fill("180")
    page.get_by_label("Percentage (0 to 1000)").fill("5000")
    page.get_by_role("button", name="Save alert").click()
    # the envelope's own message, next to the fields it is about
    expect(page.locator("#threshold-error")).to_contain_text("percentage")
    assert portal.stack.call("GET", "/v1/me/threshold", customer="UC-0003").status == 404

    page.get_by_label("Percentage (0 to 1000)").fill("90")
    page.get_by_role("button", name="Save alert").click()
    expect(page.locator("#threshold-current")).to_have_text("Set: 180 at 90%.")
    assert portal.gateway_get("/v1/me/threshold", "UC-0003")["response"]["threshold"] == 180

    page.get_by_role("button", name="Remove alert").click()
    expect(page.locator("#threshold-current")).to_have_text("No high bill alert is set.")
    assert portal.stack.call("GET", "/v1/me/threshold", customer="UC-0003").status == 404


def test_a_tips_action_is_saved(portal: Portal) -> None:
    portal.sign_in("Grace Hopper")
    page = portal.page
    portal.wait_loaded("tips")
    choice = page.locator("#tips select").first
    tip = portal.gateway_get("/v1/me/tips?limit=5", "UC-0002")["response"][0]
    choice.select_option("WILL_DO")
    expect(page.locator("#tips li").first.get_by_role("status")).to_have_text("Saved.")
    statuses = {
        t["tipName"]: t["status"]
        for t in portal.gateway_get("/v1/me/tips?limit=5", "UC-0002")["response"]
    }
    # (a write removes the customer's cached list: this is Opower's answer again)
    assert statuses[tip["tipName"]] == "WILL_DO"


def test_an_expired_session_goes_back_to_sign_in(portal: Portal, context: BrowserContext) -> None:
    portal.page.clock.install()
    portal.sign_in("Alan Turing")
    page = portal.page
    portal.wait_loaded("usage")
    page.clock.fast_forward("01:00:01")  # the dev IdP's sessions last an hour
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#signin-reason")).to_have_text(
        "Your session has ended. Sign in again to continue."
    )
    expect(page.locator("#dashboard")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    # and signing in again brings the customer back (the page's clock back to the real one,
    # whose hour the IdP's new session starts)
    page.clock.set_system_time(datetime.now(UTC))
    portal.sign_in("Alan Turing")
    portal.wait_loaded("usage")
    expect(page.locator("#customer-name")).to_have_text("Alan Turing")


def test_a_429_says_when_and_asks_again_by_itself(portal: Portal) -> None:
    portal.sign_in("Grace Hopper")
    page = portal.page
    portal.wait_loaded("bill")
    portal.sandbox_faults(data_endpoints="429", retry_after_s=3)
    page.get_by_label("Compare with").select_option("YEAR_AGO")
    status = page.locator("#bill .status")
    expect(status).to_have_text(
        re.compile(r"Too many requests right now\. Trying again in [1-3] s\.")
    )
    assert status.get_attribute("data-retry-after") == "3"  # the gateway's Retry-After
    portal.stack.sandbox_control("POST", "reset")
    expect(status).to_have_text(re.compile(r"^As of "), timeout=15_000)
    year_ago = portal.gateway_get(_last_request(portal, "/bill-comparison"), "UC-0002")
    expect(page.locator("#bill .body")).to_contain_text(
        f"${year_ago['response']['reference']['charges']:.2f}"
    )


def test_opower_down_is_said_and_a_kept_answer_is_marked_as_of(portal: Portal) -> None:
    portal.sign_in("Alan Turing")
    page = portal.page
    portal.wait_loaded("bill")
    shown = page.locator("#bill .body").text_content()
    portal.sandbox_faults(data_endpoints="5xx")
    # nothing kept for this one: Opower's failure is said, with a way to try again
    page.get_by_label("Compare with").select_option("YEAR_AGO")
    status = page.locator("#bill .status")
    expect(status).to_have_class(re.compile(r"\bproblem\b"))
    expect(status).to_contain_text("did not answer")
    expect(status.get_by_role("button", name="Try again")).to_be_visible()
    # the previous bill's comparison is kept: past its freshness, it stands in, as of then
    portal.stack.http.request(
        "POST", f"{portal.stack.gateway}/_local/faults", json={"cache_expired": True}
    )
    page.get_by_label("Compare with").select_option("PREVIOUS")
    expect(status).to_have_class(re.compile(r"\bstale\b"))
    expect(status).to_have_text(
        re.compile(r"didn't answer just now, so this is your data as of \d\d:\d\d( [AP]M)?\.")
    )
    assert page.locator("#bill .body").text_content() == shown
    # Opower back: Try again on the card that failed
    portal.stack.sandbox_control("POST", "reset")
    page.get_by_label("Compare with").select_option("YEAR_AGO")
    expect(status).to_have_text(re.compile(r"^As of "))


def test_a_customer_the_utility_has_not_designated_is_told_why(portal: Portal) -> None:
    portal.sign_in("Edsger Dijkstra", designated=False)
    page = portal.page
    expect(page.locator("#blocked")).to_be_visible()
    expect(page.locator("#blocked-message")).to_contain_text(
        "Your utility can show energy data online to a limited number of customers"
    )
    expect(page.locator("#dashboard")).to_be_hidden()
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#signin-reason")).to_have_text("You have signed out.")


@pytest.mark.parametrize(
    "query",
    [
        "error=server_error&error_description=Call+555-0100+to+restore+your+account",
        "code=made-up&state=made-up",
    ],
)
def test_a_return_this_page_did_not_start_is_refused_and_its_words_not_shown(
    portal: Portal, query: str
) -> None:
    """A link to the portal as if the IdP sent the customer back: its state is no sign-in
    of this tab's, so nothing is redeemed, and no text of the link's is shown."""
    page = portal.page
    page.goto(f"{portal.url}?{query}")
    expect(page.locator("#signin-reason")).to_have_text(
        "That sign-in was not started from this page. Sign in again."
    )
    assert urlsplit(page.url).query == ""  # gone from the address bar
    assert "555" not in page.locator("body").inner_text()
    assert not any(urlsplit(url).path == "/token" for url in portal.requests)


def test_the_portal_is_used_with_the_keyboard_alone(portal: Portal) -> None:
    page = portal.page
    page.goto(portal.url)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_role("button", name="Sign in").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/authorize?**")
    page.keyboard.press("Tab")  # the first customer's choice
    page.keyboard.press("ArrowDown")  # the next: Grace Hopper
    expect(page.get_by_label("Grace Hopper")).to_be_checked()
    page.keyboard.press("Enter")  # submits the form: Sign in
    page.wait_for_url(portal.url)
    portal.wait_loaded("settings")
    # every control has a name a screen reader reads
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input, select, button')]
              .filter((el) => !el.closest('[hidden]'))
              .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                              && !el.textContent.trim())
              .map((el) => el.outerHTML)"""
    )
    assert unnamed == []
    # from the account switch, Tab goes on in reading order: the usage controls, the bill's
    page.get_by_label("Account").focus()
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate(
                "() => { const e = document.activeElement; return e.id || e.name || e.localName; }"
            )
        )
    assert order == ["sign-out", "view", "fuel", "summary"]  # summary: the table's


def test_at_phone_width_nothing_scrolls_sideways(portal: Portal) -> None:
    portal.page.set_viewport_size(PHONE)
    portal.sign_in("Ada Lovelace")
    page = portal.page
    portal.wait_loaded("settings")
    portal.wait_loaded("usage")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    # the cards stack in one column
    lefts = page.evaluate(
        "() => ['usage', 'bill', 'forecast', 'tips']"
        ".map((id) => document.getElementById(id).getBoundingClientRect().left)"
    )
    assert len(set(lefts)) == 1


def test_the_readmes_picture_is_retaken_by_its_command(portal: Portal, tmp_path: Path) -> None:
    """`make portal-screenshot` (tests/browser/screenshot.py) signs in and pictures the
    first screen; docs/images/portal.png is its output, shown in the README."""
    picture = tmp_path / "portal.png"
    screenshot.take(portal.page, portal.url, picture)
    header = picture.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert (width, height) == (screenshot.VIEWPORT["width"], screenshot.VIEWPORT["height"])
    committed = Path(__file__).resolve().parents[2] / "docs/images/portal.png"
    assert struct.unpack(">II", committed.read_bytes()[16:24]) == (width, height)
