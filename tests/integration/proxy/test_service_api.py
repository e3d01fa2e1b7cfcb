"""The service API (gateway.service) through the real proxy handler: the Opower sandbox
over HTTP, moto server for DynamoDB, API Gateway's AWS_IAM event shape.

A service caller names the customer in headers; the customer is bound as a session is,
so the caller reaches that customer's Opower ids and nobody else's.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from gateway import opower_answers, wiring
from gateway.clock import SYSTEM_CLOCK
from gateway.settings import RuntimeSettings
from handlers.proxy import handler as proxy_handler
from local.sandbox import OpowerSandbox
from tests.events import ACCOUNT, LambdaContext, proxy_event, service_event, signed_identity
from tests.fakes import FakeClock
from tests.integration.proxy.conftest import CUSTOMERS, Call, forwarded

Service = Callable[..., dict[str, Any]]
_AUDIT_FIELDS = {"principal_arn", "principal", "route", "method", "utility", "customer",
                 "status", "outcome"}  # fmt: skip
ROLE = "high-bill-alerts"


def _with_service(
    monkeypatch: pytest.MonkeyPatch, settings: RuntimeSettings, **changes: Any
) -> RuntimeSettings:
    """``settings`` with the service API on (and ``changes``), in the environment."""
    changed = dataclasses.replace(
        settings, service_principals=(f"arn:aws:iam::{ACCOUNT}:role/{ROLE}",), **changes
    )
    for name, value in changed.to_env().items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    return changed


@pytest.fixture
def service_env(
    gateway_env: RuntimeSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RuntimeSettings]:
    yield _with_service(monkeypatch, gateway_env)
    wiring.reset()


@pytest.fixture
def cached_service_env(
    gateway_env: RuntimeSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RuntimeSettings]:
    yield _with_service(monkeypatch, gateway_env, cache_enabled=True)
    wiring.reset()


@pytest.fixture
def service(service_env: RuntimeSettings) -> Service:
    """A service call as API Gateway hands it to the proxy, naming ``customer`` by one of
    their account numbers (the first, unless ``account`` is given)."""

    def invoke(
        method: str,
        path: str,
        *,
        customer: str | None = "UC-0001",
        account: str | None = None,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        # named in the query (Opower's names), as every SigV4 signer signs it; the
        # headers, when a test sends them, instead
        if customer is not None and not any(h.startswith("Opower-") for h in headers or {}):
            query = dict(options.pop("query", None) or {})
            query.setdefault("utilityCustomerId", [customer])
            query.setdefault("accountNumber", [account or CUSTOMERS[customer][0][0]])
            options["query"] = query
        elif customer is not None:
            headers = dict(headers or {})
            headers.setdefault("Opower-Utility-Customer-Id", customer)
            headers.setdefault("Opower-Account-Number", account or CUSTOMERS[customer][0][0])
        event = service_event(method, path, headers=headers, **options)
        return proxy_handler(event, LambdaContext())  # type: ignore[arg-type]

    return invoke


def _error(answer: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(answer["body"])["error"])


def test_a_service_call_gets_the_named_customers_answer_as_their_session_would(
    service: Service, call: Call
) -> None:
    by_service = service("GET", "/v1/service/accounts")
    by_session = call("GET", "/v1/me/accounts", customer="UC-0001")

    assert by_service["statusCode"] == 200
    assert json.loads(by_service["body"]) == json.loads(by_session["body"])
    accounts = opower_answers.items(json.loads(by_service["body"]))
    assert {a["id"] for a in accounts} == {2000001, 2000002}


def test_the_customer_named_in_the_query_or_the_headers_gets_the_same_answer(
    service: Service, sandbox: OpowerSandbox
) -> None:
    # The query is signed by every SigV4 signer (it is part of the canonical request):
    # Step Functions' apigateway:invoke, awscurl and requests-aws4auth with their defaults.
    window = {"start": ["2026-01-01T00:00:00Z"], "end": ["2026-01-03T00:00:00Z"]}
    by_query = service("GET", "/v1/service/usage/day/ELECTRICITY", query=dict(window))
    by_headers = service(
        "GET", "/v1/service/usage/day/ELECTRICITY", query=dict(window),
        headers={"Opower-Utility-Customer-Id": "UC-0001"},
    )  # fmt: skip

    assert by_query["statusCode"] == by_headers["statusCode"] == 200, by_query["body"]
    assert by_query["body"] == by_headers["body"]
    # the naming parameters are not Opower's: only the route's own query went upstream
    sent = forwarded(sandbox)
    assert sent
    for request in sent:
        assert set(request.query) <= {"startDate", "endDate", "start", "end"}, request.query


@pytest.mark.parametrize(
    ("query", "headers", "says"),
    [
        (
            {"utilityCustomerId": ["UC-0001"], "accountNumber": ["4100000001"]},
            {"Opower-Utility-Customer-Id": "UC-0001"},
            "Name the customer one way",
        ),
        ({"utilityCustomerId": ["UC-0001"]}, {}, "accountNumber query parameter"),
        (
            {"utilityCustomerId": ["UC-0001", "UC-0002"], "accountNumber": ["4100000001"]},
            {},
            "Send the utilityCustomerId query parameter once",
        ),
        (
            {"utilityCustomerId": ["UC-0001"], "accountNumber": ["4100000001"],
             "utilityCode": ["NOPE"]},
            {},
            "utilityCode must be one of UTX",
        ),
        (
            {"utilityCustomerId": [" "], "accountNumber": ["4100000001"]},
            {},
            "utilityCustomerId must be 1-128 printable characters",
        ),
    ],
)  # fmt: skip
def test_a_customer_named_wrongly_in_the_query_is_a_400_saying_what_to_fix(
    service: Service,
    sandbox: OpowerSandbox,
    query: dict[str, list[str]],
    headers: dict[str, str],
    says: str,
) -> None:
    answer = service("GET", "/v1/service/accounts", customer=None, headers=headers, query=query)

    assert answer["statusCode"] == 400
    assert says in _error(answer)["message"]
    assert forwarded(sandbox) == []


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/service/accounts", None),
        ("/v1/service/bill-forecast", None),
        ("/v1/service/neighbor-comparison", None),
        ("/v1/service/threshold", None),
        ("/v1/service/home-profile", None),
        ("/v1/service/accounts/2000002/bill-comparison", None),
        (
            "/v1/service/usage/day/ELECTRICITY",
            {"start": ["2026-01-01T00:00:00Z"], "end": ["2026-01-10T00:00:00Z"]},
        ),
    ],
)
def test_every_route_reaches_only_the_named_customers_opower_ids(
    service: Service, sandbox: OpowerSandbox, path: str, query: dict[str, list[str]] | None
) -> None:
    answer = service("GET", path, query=query)

    assert answer["statusCode"] in {200, 404}, answer["body"]  # 404: no such data
    others = {
        str(v)
        for name, (_, opower_id, accounts) in CUSTOMERS.items()
        if name != "UC-0001"
        for v in (name, opower_id, *accounts)
    }
    sent = [r.path for r in forwarded(sandbox)]
    assert sent, "nothing reached Opower"
    for upstream in sent:
        segments = set(upstream.split("/"))
        assert not segments & others, upstream


def test_an_account_id_of_another_customer_is_404_and_never_reaches_opower(
    service: Service, sandbox: OpowerSandbox
) -> None:
    # UC-0002's utility account, asked for by a caller naming UC-0001
    answer = service("GET", "/v1/service/accounts/2000003/bill-comparison")

    assert answer["statusCode"] == 404
    assert forwarded(sandbox) == []


def test_naming_a_customer_with_someone_elses_account_number_binds_no_one(
    service: Service, sandbox: OpowerSandbox
) -> None:
    # UC-0002's account number with UC-0001's id: no Opower customer has both
    answer = service("GET", "/v1/service/accounts", account="4100000003")

    assert answer["statusCode"] == 404
    assert _error(answer)["code"] == "customer_not_found"
    assert forwarded(sandbox) == []


def test_an_account_number_two_customers_share_binds_only_the_one_named(service: Service) -> None:
    # 4100000004 is an account number of UC-0003 and of UC-0005 (a move-in)
    third = service("GET", "/v1/service/accounts", customer="UC-0003")
    fifth = service("GET", "/v1/service/accounts", customer="UC-0005")

    assert {a["id"] for a in opower_answers.items(json.loads(third["body"]))} == {2000005}
    assert {a["id"] for a in opower_answers.items(json.loads(fifth["body"]))} == {2000006}


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "Name the customer with the utilityCustomerId and accountNumber query parameters"),
        ({"Opower-Utility-Customer-Id": "UC-0001"}, "Opower-Account-Number"),
        (
            {"Opower-Utility-Customer-Id": "UC-0001", "Opower-Account-Number": "4" * 65},
            "Opower-Account-Number must be 1-64 printable characters",
        ),
        (
            {"Opower-Utility-Customer-Id": "UC\x000001", "Opower-Account-Number": "4100000001"},
            "Opower-Utility-Customer-Id must be 1-128 printable characters",
        ),
        (
            {
                "Opower-Utility-Customer-Id": "UC-0001",
                "Opower-Account-Number": "4100000001",
                "Opower-Utility-Code": "NOPE",
            },
            "Opower-Utility-Code must be one of UTX",
        ),
    ],
)
def test_a_customer_not_named_properly_is_a_400_saying_what_to_fix(
    service: Service, sandbox: OpowerSandbox, headers: dict[str, str], says: str
) -> None:
    answer = service("GET", "/v1/service/accounts", customer=None, headers=headers)

    assert answer["statusCode"] == 400
    assert says in _error(answer)["message"]
    assert forwarded(sandbox) == []


def test_a_header_sent_twice_is_refused(service_env: RuntimeSettings) -> None:
    event = service_event(
        "GET",
        "/v1/service/accounts",
        headers={"Opower-Utility-Customer-Id": "UC-0001", "Opower-Account-Number": "4100000001"},
    )
    event["multiValueHeaders"]["Opower-Utility-Customer-Id"] = ["UC-0001", "UC-0002"]

    answer = proxy_handler(event, LambdaContext())  # type: ignore[arg-type]

    assert answer["statusCode"] == 400
    assert "Send the Opower-Utility-Customer-Id header once" in _error(answer)["message"]


def test_a_request_without_a_signed_caller_is_refused(
    service_env: RuntimeSettings, sandbox: OpowerSandbox
) -> None:
    """Only reachable if a service method were not AWS_IAM: the proxy refuses it anyway."""
    event = service_event(
        "GET",
        "/v1/service/accounts",
        identity={"sourceIp": "198.51.100.9"},
        headers={"Opower-Utility-Customer-Id": "UC-0001", "Opower-Account-Number": "4100000001"},
    )

    answer = proxy_handler(event, LambdaContext())  # type: ignore[arg-type]

    assert answer["statusCode"] == 403
    assert sandbox.received() == []


def test_with_the_service_api_off_a_service_call_is_refused(
    gateway_env: RuntimeSettings, sandbox: OpowerSandbox
) -> None:
    event = service_event(
        "GET",
        "/v1/service/accounts",
        headers={"Opower-Utility-Customer-Id": "UC-0001", "Opower-Account-Number": "4100000001"},
    )

    answer = proxy_handler(event, LambdaContext())  # type: ignore[arg-type]

    assert answer["statusCode"] == 403
    assert _error(answer)["code"] == "service_api_disabled"
    assert sandbox.received() == []


def test_a_write_is_scoped_to_the_named_customer(service: Service, sandbox: OpowerSandbox) -> None:
    answer = service(
        "PUT",
        "/v1/service/threshold",
        customer="UC-0002",
        body=json.dumps({"threshold": 120, "percentage": 80}),
        headers={"Content-Type": "application/json"},
    )

    assert answer["statusCode"] in {200, 204}, answer["body"]
    (put,) = [r for r in forwarded(sandbox) if r.method == "PUT"]
    assert "/customers/UC-0002/threshold" in put.path


def test_every_service_call_leaves_an_audit_line_and_is_counted_per_principal(
    service: Service, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.service")
    service("GET", "/v1/service/bill-forecast", customer="UC-0003")
    service("GET", "/v1/service/accounts", account="4100000003")  # no such customer

    audits = [
        {k: v for k, v in vars(r).items() if k in _AUDIT_FIELDS}
        for r in caplog.records
        if getattr(r, "audit", "") == "service_call"
    ]
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    assert [(a["route"], a["status"], a["outcome"]) for a in audits] == [
        ("bill_forecast", 200, "ok"),
        ("accounts", 404, "customer_not_found"),
    ]
    for audit in audits:
        assert audit["principal_arn"] == signed_identity()["userArn"]
        assert audit["principal"] == f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
        assert audit["method"] == "GET"
        assert len(audit["customer"]) == 20  # the customer's hash, never their ids
        text = json.dumps(audit)
        assert "UC-0003" not in text
        assert "UC-0001" not in text
        assert "41000000" not in text
    metrics = [line for line in lines if "_aws" in line]
    names = {m["Name"] for line in metrics for d in line["_aws"]["CloudWatchMetrics"]
             for m in d["Metrics"]}  # fmt: skip
    assert {"ServiceCalls", f"ServiceCalls_{ROLE}", "ServiceStatus_2xx",
            "ServiceStatus_4xx"} <= names  # fmt: skip


def test_a_service_call_and_the_customers_session_share_the_cache(
    cached_service_env: RuntimeSettings, sandbox: OpowerSandbox, call: Call
) -> None:
    headers = {"Opower-Utility-Customer-Id": "UC-0003", "Opower-Account-Number": "4100000004"}

    first = proxy_handler(
        service_event("GET", "/v1/service/bill-forecast", headers=headers),
        LambdaContext(),  # type: ignore[arg-type]
    )
    second = call("GET", "/v1/me/bill-forecast", customer="UC-0003")

    assert first["statusCode"] == second["statusCode"] == 200
    assert second["headers"]["Cache-Status"].startswith("OpowerGateway; hit")
    assert len([r for r in forwarded(sandbox) if r.path.endswith("bill_forecast")]) == 1


def test_a_batch_job_never_makes_customers_see_a_429(
    gateway_env: RuntimeSettings,
    monkeypatch: pytest.MonkeyPatch,
    session: Callable[[str], dict[str, Any]],
    sandbox: OpowerSandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Budget shares under a mixed load: 6 calls a second and 100 a day for the company,
    2 and 20 of them the service API's. Each simulated second a batch job sends 10 service
    calls before 4 customers send one each (their whole share). Every customer call is
    served; the job gets 2 a second and 429s for the rest, never more than 6 Opower calls
    in a second between them, and once its day's share is spent, only 429s. Simulated
    time (gateway.wiring.use_clock): the budget's seconds are the clock's, not the
    machine's."""
    settings = _with_service(
        monkeypatch,
        gateway_env,
        budget_per_second=6,
        budget_per_day=100,
        service_budget_per_second=2,
        service_budget_per_day=20,
    )
    now = math.floor(time.time())
    if now % 86_400 > 86_400 - 600:  # the simulated day must not end within the test
        now += 900
    clock = FakeClock(start=float(now))
    wiring.use_clock(clock)
    try:
        customers = ["UC-0001", "UC-0002", "UC-0003", "UC-0005"]
        sessions = {c: session(c) for c in customers}  # bound now, in the customers' share
        capsys.readouterr()  # (binding 4 customers at once spends more than a second's share)
        named = [
            {"Opower-Utility-Customer-Id": c, "Opower-Account-Number": CUSTOMERS[c][0][0]}
            for c in customers
        ]
        served: dict[str, Counter[int]] = {"customer": Counter(), "service": Counter()}
        # Opower calls answered, by simulated second: (pool, second) -> count
        per_second: Counter[tuple[str, int]] = Counter()
        retry_after: set[int] = set()
        for second in range(12):
            clock.t = max(clock.t, math.floor(clock.t) + 1.0)  # the next second begins
            for i in range(10):
                event = service_event("GET", "/v1/service/accounts", headers=named[i % 4])
                answer = proxy_handler(event, LambdaContext())  # type: ignore[arg-type]
                served["service"][answer["statusCode"]] += 1
                if answer["statusCode"] == 429:
                    retry_after.add(int(answer["headers"]["Retry-After"]))
                if answer["statusCode"] == 200:
                    per_second["service", math.floor(clock.t)] += 1
            for customer in customers:
                event = proxy_event("GET", "/v1/me/accounts", authorizer=sessions[customer])
                answer = proxy_handler(event, LambdaContext())  # type: ignore[arg-type]
                assert answer["statusCode"] == 200, (second, answer["body"])
                served["customer"][answer["statusCode"]] += 1
                per_second["customer", math.floor(clock.t)] += 1
    finally:
        wiring.use_clock(SYSTEM_CLOCK)

    assert served["customer"] == Counter({200: 48})
    assert set(served["service"]) == {200, 429}
    # Its day's share exactly: 20, less the two lookups that bound UC-0001 by one account
    # number (the others' bindings were the sessions', by the same claims: one store).
    assert served["service"][200] == 20 - 2
    # Over the second's share the client waits for the next second (the per-second check
    # below); over the day's, 429 with Retry-After: the seconds to midnight UTC.
    assert retry_after
    assert all(300 < wait <= 86_400 for wait in retry_after), retry_after
    seconds = {t for _, t in per_second}
    assert max(per_second["service", t] for t in seconds) == 2  # its per-second share
    assert max(per_second["service", t] + per_second["customer", t] for t in seconds) <= 6
    items = boto3.client("dynamodb").scan(TableName=settings.table_name)["Items"]
    days = [i for i in items if "#day#" in i["pk"]["S"]]
    # One count of the company's day (gateway.budgets.day), the service's part in it.
    assert [d["pk"]["S"].split("#day#")[0] for d in days] == ["budget"]
    assert int(days[0]["svc"]["N"]) == 20  # the service's share, no more
    assert int(days[0]["used"]["N"]) <= 100
    # The service pool's sheds and day count are its own metrics, never the customers'
    # (whose BudgetShed alarm and DailyQuota gauge they would otherwise set off).
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if line.startswith('{"_aws"')]  # fmt: skip
    names = {m["Name"] for line in emitted for d in line["_aws"]["CloudWatchMetrics"]
             for m in d["Metrics"]}  # fmt: skip
    assert {"ServiceBudgetShed", "ServiceBudgetShed_per_day", "ServiceOpowerCallsToday"} <= names
    assert "BudgetShed" not in names
    answered = [r for r in forwarded(sandbox) if r.path.endswith("/utility_accounts")]
    assert len(answered) == 48 + served["service"][200]


def test_a_service_write_removes_the_customers_cached_answer(
    cached_service_env: RuntimeSettings, sandbox: OpowerSandbox, call: Call
) -> None:
    headers = {
        "Opower-Utility-Customer-Id": "UC-0002",
        "Opower-Account-Number": "4100000003",
        "Content-Type": "application/json",
    }
    before = call("GET", "/v1/me/threshold", customer="UC-0002")  # cached for the customer

    written = proxy_handler(
        service_event(
            "PUT",
            "/v1/service/threshold",
            headers=headers,
            body=json.dumps({"threshold": 321, "percentage": 90}),
        ),
        LambdaContext(),  # type: ignore[arg-type]
    )
    after = call("GET", "/v1/me/threshold", customer="UC-0002")

    assert before["statusCode"] in {200, 404}
    assert written["statusCode"] in {200, 204}, written["body"]
    assert after["statusCode"] == 200
    assert "hit" not in after["headers"]["Cache-Status"].split(";")[1]
    assert json.loads(after["body"])["response"]["threshold"] == 321


def test_customer_headers_the_signature_does_not_cover_are_refused_before_opower(
    service_env: RuntimeSettings,
    sandbox: OpowerSandbox,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue #25, item 1. API Gateway verified the signature, but SignedHeaders says what
    it covers ("Create a signed AWS API request", IAM User Guide): signed as
    requests-aws4auth does by default, the customer headers could be another customer's
    in a replay. Refused with 403, counted, audited, and Opower is never asked."""
    caplog.set_level(logging.INFO, logger="gateway.service")
    event = service_event(
        "PUT",
        "/v1/service/threshold",
        headers={
            "Opower-Utility-Customer-Id": "UC-0002",
            "Opower-Account-Number": "4100000003",
            "Content-Type": "application/json",
            "Authorization": "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE01/20260101/"
            "us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, "
            f"Signature={'0' * 64}",
        },
        body=json.dumps({"threshold": 120, "percentage": 80}),
    )

    answer = proxy_handler(event, LambdaContext())  # type: ignore[arg-type]

    assert answer["statusCode"] == 403
    error = _error(answer)
    assert error["code"] == "unsigned_customer_header"
    assert "Sign the Opower-Account-Number, Opower-Utility-Customer-Id headers" in error["message"]
    assert sandbox.received() == []
    (audit,) = [r for r in caplog.records if getattr(r, "audit", "") == "service_call"]
    assert vars(audit)["outcome"] == "unsigned_customer_header"
    assert vars(audit)["status"] == 403
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if line.startswith('{"_aws"')]  # fmt: skip
    names = {m["Name"] for line in emitted for d in line["_aws"]["CloudWatchMetrics"]
             for m in d["Metrics"]}  # fmt: skip
    assert "ServiceUnsignedCustomerHeader" in names


def test_a_signature_covering_the_customer_headers_is_served(service: Service) -> None:
    # tests.events.service_event signs every header it is given, as botocore does
    answer = service("GET", "/v1/service/accounts")

    assert answer["statusCode"] == 200, answer["body"]
