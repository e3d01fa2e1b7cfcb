"""`make opower-check CUSTOMER=<utilityCustomerId> [ACCOUNTS=<number>[,<number>]]`:
every route of the customer API, called through the running `make dev` for one customer,
each answer checked against the schema the gateway documents for it (Oracle's, from the
operation's page: gateway.schemas). A table says, per call, the status and whether the
answer conforms or what differs; the exit status is 1 when one does not.

Against the sandbox it is a contract test of the sandbox (`make test` runs it); against a
real Opower tier (`make dev OPOWER_URL=...`) it is what a utility runs before going live:
it shows, with the utility's own customers, that what Opower answers is what the pages
(and so the gateway's document, and the clients generated from it) say.

What it calls, for the customer's own ids only (through the gateway, as their session):
GET accounts, home profile, usage (raw, day, billing) for each fuel of their utility
accounts, the bill comparison of each account, bill forecast, neighbor comparison and
threshold. Writes (``WRITES=1``; on by default against the sandbox only) change nothing
for good: the home profile is written back as it is, and a threshold is set and removed
only when the customer has none (one they have is written back unchanged, never removed).
A 404 on a route that may have nothing for a customer (no home profile, no forecast yet)
is reported as "none", not as a failure; a check that cannot be made for want of what an
earlier answer gives (no contact, no tip) is listed as skipped, with its reason. Beyond
the document's schema it holds each answer to what the pages show: the `response`
wrapper, a neighbor comparison keyed by fuel, a breakdown's categories. Every operation is
called (writes with WRITES=1). When the first call fails (Opower unreachable, the customer
unknown), it says so in one line and checks nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import urllib3
from jsonschema import Draft202012Validator

from gateway import opower_answers, schemas
from gateway.proxy import openapi
from gateway.routes import ROUTES_BY_NAME
from local.stack import STATE_DIR
from local.token import (
    NotRunningError,
    TokenRequestError,
    mint,
    parse_accounts,
    real_opower,
    running_stack,
)

USAGE_FUEL = {"ELEC": "ELECTRICITY", "GAS": "GAS"}
# Routes where Opower may have nothing for a customer: a 404 is an answer, not a fault.
MAY_BE_NONE = {"home_profile", "bill_forecast", "neighbor_comparison", "threshold",
               "energy_breakdown", "bill_energy_breakdown", "neighbor_history", "bill_period",
               "contacts", "tip_names", "always_on"}  # fmt: skip
_WRITE_CONTACT = {"name": "Opower check", "email": "opower-check@example.com"}
_WRITE_THRESHOLD = {"threshold": 100.0, "percentage": 90.0}
_THROTTLED_ATTEMPTS = 3
_THROTTLED_WAIT_S = 5


class OpowerUnreachable(Exception):
    """The first call failed: nothing else is checked, and the run says so in one line."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.verdict)
        self.result = result


@dataclass(frozen=True)
class Result:
    call: str  # "GET /v1/me/usage/raw/ELECTRICITY"
    status: int
    verdict: str
    ok: bool


@dataclass(frozen=True)
class Gateway:
    base_url: str
    token: str
    http: urllib3.PoolManager

    def request(
        self, method: str, path: str, query: Mapping[str, str] | None = None, body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        for _ in range(_THROTTLED_ATTEMPTS):
            response = self.http.request(
                method,
                self.base_url + path,
                fields=dict(query) if query and method == "GET" else None,
                body=json.dumps(body) if body is not None else None,
                headers=headers,
                retries=False,
                timeout=30,
            )
            wait = response.headers.get("Retry-After", "")
            if response.status != 429 or not wait.isdigit() or int(wait) > _THROTTLED_WAIT_S:
                break
            # Opower's 20 calls a second (or the gateway's budget) is not the answer being
            # checked: the call is made again after the wait it names.
            time.sleep(int(wait))
        try:
            document = json.loads(response.data) if response.data else None
        except ValueError:
            document = response.data.decode("utf-8", "replace")[:200]
        return response.status, document


# What the pages document beyond what the gateway's document can require (it reads answers
# tolerantly): every success answer of the pages is wrapped in `response` (opower-api.md,
# "Answers": Get Bill Forecast and Get Bill Period publish no schema, and are held to the
# same wrapper); Get Latest Neighbor Comparison is keyed by fuel, ELEC, GAS or COMBINED (a
# fuel may be absent, not all of them); the disaggregation pages' answers hold categories.
_FUEL_KEYS = ("ELEC", "GAS", "COMBINED")


def strict_departures(route: str, answer: Any) -> list[str]:
    """Where an answer departs from its page in ways a tolerant schema lets pass."""
    if not isinstance(answer, dict) or "response" not in answer:
        return ["(root): no `response` wrapper, as every documented answer has"]
    response = answer["response"]
    if route == "neighbor_comparison" and (
        not isinstance(response, dict) or not any(k in response for k in _FUEL_KEYS)
    ):
        return [f"response: none of the fuels the page keys it by ({', '.join(_FUEL_KEYS)})"]
    if route in {"energy_breakdown", "bill_energy_breakdown"}:
        categories = response.get("categories") if isinstance(response, dict) else None
        if not isinstance(categories, list) or not categories:
            return ["response/categories: the page's breakdown has its categories; none here"]
    return []


def differences(template: str, answer: Any) -> list[str]:
    """Where the answer departs from the route's documented schema (empty: it conforms).
    Within a choice (a list or one object), the alternative that got furthest says it."""
    document = openapi.document()
    content = document["paths"][template]["get"]["responses"]["200"]["content"]
    schema = {**content["application/json"]["schema"], "components": document["components"]}
    found = []
    for error in Draft202012Validator(schema).iter_errors(answer):
        while error.context:
            error = max(error.context, key=lambda e: len(e.absolute_path))
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        found.append(f"{where}: {error.message[:120]}")
    return found


class Checker:
    def __init__(self, gateway: Gateway, *, writes: bool, today: date) -> None:
        self._gateway = gateway
        self._writes = writes
        self._today = today
        self.results: list[Result] = []

    def run(self) -> list[Result]:
        accounts = self._read("accounts", "/v1/me/accounts", "/v1/me/accounts")
        if accounts is None:
            # Nothing else can be asked meaningfully: Opower (or the gateway) did not answer
            # the first call, which says who the customer is (OpowerUnreachable).
            raise OpowerUnreachable(self.results[-1])
        items = opower_answers.items(accounts)
        fuels = list(
            dict.fromkeys(
                USAGE_FUEL[m] for a in items if (m := str(a.get("meterType"))) in USAGE_FUEL
            )
        )
        profile = self._read("home_profile", "/v1/me/home-profile", "/v1/me/home-profile")
        for fuel in fuels:
            for resolution, query in self._windows():
                self._read(
                    "usage",
                    f"/v1/me/usage/{resolution}/{fuel}",
                    "/v1/me/usage/{resolution}/{fuel}",
                    query,
                )
        for account in items:
            if account.get("id") is not None:
                self._read(
                    "bill_comparison",
                    f"/v1/me/accounts/{account['id']}/bill-comparison",
                    "/v1/me/accounts/{accountId}/bill-comparison",
                )
        self._read("bill_forecast", "/v1/me/bill-forecast", "/v1/me/bill-forecast")
        self._read(
            "neighbor_comparison", "/v1/me/neighbor-comparison", "/v1/me/neighbor-comparison"
        )
        threshold = self._read("threshold", "/v1/me/threshold", "/v1/me/threshold")
        self._customer_app(items, fuels)
        if not fuels:
            self.results.append(
                Result(
                    "usage, bill comparison",
                    0,
                    "not called: the customer has no utility account",
                    True,
                )
            )
        if self._writes:
            self._write_home_profile(profile)
            self._write_threshold(threshold)
            self._write_contact()
            self._write_tip()
        return self.results

    def _customer_app(self, accounts: list[dict[str, Any]], fuels: list[str]) -> None:
        """The customer-app routes: contacts and the first one's preferences, the energy
        breakdown, tips and the first tip, each account's bill period, the neighbor
        comparison history of each fuel."""
        listed = self._read("contacts", "/v1/me/contacts", "/v1/me/contacts")
        contacts = opower_answers.items(listed) if listed is not None else []
        if contacts and contacts[0].get("id") is not None:
            self._read(
                "contact_preferences",
                f"/v1/me/contacts/{contacts[0]['id']}/preferences",
                "/v1/me/contacts/{contactId}/preferences",
            )
        else:
            self._skipped(
                "GET /v1/me/contacts/{contactId}/preferences", "the customer has no contact"
            )
        whole = self._read("energy_breakdown", "/v1/me/energy-breakdown",
                           "/v1/me/energy-breakdown")  # fmt: skip
        self._account_form(accounts, whole is not None)
        electric = next((a for a in accounts if a.get("meterType") == "ELEC"
                         and a.get("id") is not None), None)  # fmt: skip
        if electric is not None:
            self._read("always_on", "/v1/me/energy-breakdown/always-on",
                       "/v1/me/energy-breakdown/always-on",
                       {"accountId": str(electric["id"])})  # fmt: skip
        else:
            self._skipped("GET /v1/me/energy-breakdown/always-on", "no electric account")
        last = self._today.replace(day=1) - timedelta(days=1)  # last month's bill, by dates
        self._read("bill_energy_breakdown", "/v1/me/energy-breakdown/bill",
                   "/v1/me/energy-breakdown/bill",
                   {"billStartDate": last.replace(day=1).isoformat(),
                    "billEndDate": last.isoformat()})  # fmt: skip
        self._read("tips", "/v1/me/tips", "/v1/me/tips")
        names = self._read("tip_names", "/v1/me/tip-names", "/v1/me/tip-names")
        tips = opower_answers.payload(names) if names is not None else []
        if isinstance(tips, list) and tips and isinstance(tips[0], str):
            self._read("tip", f"/v1/me/tips/{tips[0]}", "/v1/me/tips/{tipId}")
        else:
            self._skipped("GET /v1/me/tips/{tipId}", "the customer has no tip")
        for account in accounts:
            if account.get("id") is not None:
                self._read(
                    "bill_period",
                    f"/v1/me/accounts/{account['id']}/bill-period",
                    "/v1/me/accounts/{accountId}/bill-period",
                )
        for fuel in fuels:
            self._read(
                "neighbor_history",
                f"/v1/me/neighbor-comparison/history/{fuel}",
                "/v1/me/neighbor-comparison/history/{fuel}",
            )

    def _account_form(self, accounts: list[dict[str, Any]], whole: bool) -> None:
        """Whether the tier finds an account named as the gateway names it to the
        disaggregation pages' utilityAccountId (the pages: "Utility customer account ID",
        the utility's number; the gateway's disaggregation_account_id). The customer's
        breakdown for one account of theirs must be found when their whole one is."""
        account = next((a for a in accounts if a.get("id") is not None
                        and str(a.get("meterType")) in {"ELEC", "GAS"}), None)  # fmt: skip
        call = "GET /v1/me/energy-breakdown?accountId=…"
        if account is None or not whole:
            self._skipped(call, "no breakdown for the customer, or no account to name")
            return
        query = {"accountId": str(account["id"]), "fuelType": str(account["meterType"])}
        status, answer = self._gateway.request("GET", "/v1/me/energy-breakdown", query)
        if status == 200:
            found = "the tier finds the account as the gateway names it"
            self.results.append(Result(call, status, found, True))
            return
        self.results.append(Result(call, status, (
            f"the tier did not find account {account['id']} as the gateway names it "
            f"({_error(answer)}): set disaggregation_account_id to the other form, number "
            "(the utility's account number, as the pages say) or opower_id (Opower's id)"),
            False))  # fmt: skip

    def _skipped(self, call: str, why: str) -> None:
        """A check that could not be made, listed with its reason (never silently)."""
        self.results.append(Result(call, 0, f"skipped: {why}", True))

    def _write_contact(self) -> None:
        """A contact added, changed, subscribed by e-mail and removed: nothing stays."""
        status, answer = self._gateway.request("POST", "/v1/me/contacts", body=_WRITE_CONTACT)
        created = opower_answers.payload(answer) if status == 200 else None
        ok = isinstance(created, dict) and created.get("id") is not None
        verdict = "as documented" if ok else f"expected 200, got {_error(answer)}"
        self.results.append(Result("POST /v1/me/contacts", status, verdict, ok))
        if not ok:
            return
        assert isinstance(created, dict)
        path = f"/v1/me/contacts/{created['id']}"
        self._expect("PUT", path, 200, {**_WRITE_CONTACT, "name": "Opower check (changed)"})
        status, answer = self._gateway.request(
            "POST",
            f"{path}/preferences",
            body={"notificationChannel": "EMAIL", "eventType": "HOME_ENERGY"},
        )
        preference = opower_answers.payload(answer) if status == 200 else None
        self.results.append(Result(f"POST {path}/preferences", status,
                                   "as documented" if status == 200 else _error(answer),
                                   status == 200))  # fmt: skip
        if isinstance(preference, dict) and preference.get("id") is not None:
            self._expect("DELETE", f"{path}/preferences/{preference['id']}", 200)
        # Delete NotificationChannel: 200, every preference of the channel gone.
        self._expect("DELETE", f"{path}/channels/EMAIL", 200)
        self._expect("DELETE", path, 200)

    def _write_tip(self) -> None:
        """The first tip's status written back as it is."""
        status, answer = self._gateway.request("GET", "/v1/me/tips")
        tips = opower_answers.payload(answer) if status == 200 else None
        if not isinstance(tips, list) or not tips or not isinstance(tips[0], dict):
            self.results.append(Result("POST /v1/me/tips/{tipId}/action", 0,
                                       "not called: no tip to write back", True))  # fmt: skip
            return
        tip = tips[0]
        action = f"/v1/me/tips/{tip.get('tipName')}/action"
        was = tip.get("status") or "NOT_YET"
        # Delete Tip Action (back to NOT_YET), then Update Tip Action back to what it was.
        self._expect("DELETE", action, 200)
        self._expect("POST", action, 200, {"status": was})

    def _windows(self) -> Iterator[tuple[str, dict[str, str]]]:
        """Past windows well inside each resolution's cap: an hour of raw intervals (60 of
        a one-minute meter), a week of days (as dates, the form the pages also allow), the
        last twelve bills."""
        raw_start = datetime.combine(self._today - timedelta(days=3), datetime.min.time(), UTC)
        yield (
            "raw",
            {
                "start": _opower_instant(raw_start),
                "end": _opower_instant(raw_start + timedelta(hours=1)),
            },
        )
        yield (
            "day",
            {
                "start": (self._today - timedelta(days=8)).isoformat(),
                "end": (self._today - timedelta(days=1)).isoformat(),
            },
        )
        first = self._today.replace(day=1)
        year_ago = first.replace(year=first.year - 1)
        yield (
            "billing",
            {
                "start": f"{year_ago.isoformat()}T00:00:00-00:00",
                "end": f"{first.isoformat()}T00:00:00-00:00",
            },
        )

    def _read(
        self, route: str, path: str, template: str, query: Mapping[str, str] | None = None
    ) -> Any:
        status, answer = self._gateway.request("GET", path, query)
        call = f"GET {path}"
        if status == 200:
            found = strict_departures(route, answer) + differences(template, answer)
            page = _page_title(route, path)
            verdict = f"conforms ({page})" if not found else "differs: " + "; ".join(found[:3])
            self.results.append(Result(call, status, verdict, not found))
            return answer
        if status == 404 and route in MAY_BE_NONE:
            self.results.append(Result(call, status, "none for this customer", True))
            return None
        self.results.append(Result(call, status, _error(answer), False))
        return None

    def _expect(self, method: str, path: str, expected: int, body: Any = None) -> bool:
        status, answer = self._gateway.request(method, path, body=body)
        ok = status == expected
        verdict = "as documented" if ok else f"expected {expected}, got {_error(answer)}"
        self.results.append(Result(f"{method} {path}", status, verdict, ok))
        return ok

    def _write_home_profile(self, answer: Any) -> None:
        profile = opower_answers.payload(answer) if answer is not None else None
        if not isinstance(profile, dict):
            self.results.append(
                Result("PUT /v1/me/home-profile", 0, "not called: no profile to write back", True)
            )
            return
        # Written back as it is: the fields the route takes, where Opower's values are ones
        # the gateway accepts (a value outside Oracle's enumeration is left out).
        put = ROUTES_BY_NAME["home_profile"].operation("PUT")
        assert put is not None
        assert put.body is not None
        fields = {
            name: value
            for name, value in profile.items()
            if name in put.body.fields
            and name not in put.body.bound
            and value is not None
            and (not put.body.fields[name].values or value in put.body.fields[name].values)
        }
        self._expect("PUT", "/v1/me/home-profile", 204, fields)

    def _write_threshold(self, answer: Any) -> None:
        held = opower_answers.payload(answer) if answer is not None else None
        if isinstance(held, dict) and {"threshold", "percentage"} <= set(held):
            # The customer's own alert: written back unchanged, never removed.
            self._expect(
                "PUT",
                "/v1/me/threshold",
                204,
                {"threshold": held["threshold"], "percentage": held["percentage"]},
            )
            return
        if self._expect("PUT", "/v1/me/threshold", 204, _WRITE_THRESHOLD):
            self._read("threshold", "/v1/me/threshold", "/v1/me/threshold")
            self._expect("DELETE", "/v1/me/threshold", 204)
            # Delete Threshold: 400 "No threshold found" from Opower, 404 to the customer.
            self._expect("DELETE", "/v1/me/threshold", 404)


def _opower_instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "-00:00")


def _page_title(route: str, path: str) -> str:
    """The title of the Oracle page that documents the answer."""
    key = "usage/" + path.split("/")[4] if route == "usage" else route
    return schemas.TITLES[key]


def _error(answer: Any) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        error = answer["error"]
        return f"{error.get('code')}: {str(error.get('message'))[:120]}"
    return str(answer)[:120]


def table(results: list[Result]) -> str:
    width = max([len(r.call) for r in results] + [4])
    lines = [f"{'call':<{width}}  status  result", f"{'-' * width}  ------  ------"]
    for r in results:
        mark = "" if r.ok else "FAIL "
        status = str(r.status) if r.status else "-"
        lines.append(f"{r.call:<{width}}  {status:<6}  {mark}{r.verdict}")
    failed = sum(not r.ok for r in results)
    lines.append(
        f"opower-check: {len(results)} checks, {failed} failed"
        + ("" if failed else ": every answer is as Oracle's pages document it")
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("customer", nargs="?", default="", help="utilityCustomerId")
    parser.add_argument("--accounts", default="", help="account numbers, comma-separated")
    parser.add_argument("--company", default=None, help="operating company (default the first)")
    parser.add_argument(
        "--writes",
        choices=("0", "1"),
        default=None,
        help="1: also PUT and DELETE (default: only against the sandbox)",
    )
    args = parser.parse_args(argv)
    state_dir = Path(os.environ.get("LOCAL_STATE_DIR") or STATE_DIR)
    try:
        running = running_stack(state_dir, command="make opower-check")
        if not args.customer:
            raise TokenRequestError(
                "name the customer: make opower-check CUSTOMER=<utilityCustomerId> "
                "[ACCOUNTS=<number>[,<number>]]"
            )
        accounts = parse_accounts(args.accounts) if args.accounts else None
        token = mint(
            args.customer,
            company=args.company,
            accounts=accounts,
            state_dir=state_dir,
            lifetime_s=600,
        )
    except (TokenRequestError, NotRunningError) as exc:
        print(f"make opower-check: {exc}", file=sys.stderr)
        return 2
    opower = real_opower(running)
    writes = args.writes == "1" if args.writes is not None else opower is None
    against = f"{opower['url']} ({opower['utility_code']})" if opower else "the sandbox"
    print(
        f"Checking every route for {args.customer} through {running['gateway']}, "
        f"against {against}{'' if writes else ', reads only (WRITES=1 adds writes)'}:"
    )
    gateway = Gateway(running["gateway"], token, urllib3.PoolManager())
    try:
        results = Checker(gateway, writes=writes, today=datetime.now(UTC).date()).run()
    except OpowerUnreachable as failed:
        print(
            f"make opower-check: the first call, {failed.result.call}, got "
            f"{failed.result.status}: {failed.result.verdict}; nothing else was checked "
            "(is Opower reachable, and the customer known to it?)",
            file=sys.stderr,
        )
        return 1
    except urllib3.exceptions.HTTPError as exc:
        print(f"make opower-check: the gateway at {running['gateway']} did not answer "
              f"({type(exc).__name__}): is `make dev` running?", file=sys.stderr)  # fmt: skip
        return 2
    print(table(results))
    print(f"Oracle's pages: {schemas.PAGES['accounts'].rsplit('/', 1)[0]}/")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
