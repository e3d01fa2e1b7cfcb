"""The per-customer limits' cost: DynamoDB calls per request at 1, 10 and 100 active
customers (and for one customer at its limit), against moto server's DynamoDB.

Ten containers (``CustomerBudget`` instances sharing one table) serve a simulated five
minutes: each active customer opens the app once a minute (a visit of 7 calls, each
landing on a random container, as Lambda spreads requests), one "hot" customer calls 90
times a minute. Time is simulated (a clock advanced between visits): what is measured is
calls, not seconds. Every DynamoDB call of the limiter is counted at the client.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import uuid
from typing import Any

import boto3

from bench.environment import CountingDynamoDb, SimulatedClock, restored
from local.aws import EmbeddedAws
from local.provision import create_table

CONTAINERS = 10
VISIT_CALLS = 7
MINUTES = 5


def _run(active: int, hot: bool, table: str, minutes: int) -> dict[str, Any]:
    from gateway.budgets.customer import CustomerBudget, CustomerLimits, DynamoDbCustomerStore

    dynamodb = CountingDynamoDb(boto3.client("dynamodb"), "update_item")
    clock = SimulatedClock()
    store = DynamoDbCustomerStore(table, dynamodb=dynamodb)  # type: ignore[arg-type]
    # Shares run at once (not beside the request): counted the same, without the timing.
    fleet = [
        CustomerBudget(store, limits=CustomerLimits(), clock=clock, background=lambda s: s())
        for _ in range(CONTAINERS)
    ]
    rng = random.Random(7)
    requests = refused = 0
    for minute in range(minutes):
        calls = [f"c{minute % 2}-{i}" for i in range(active) for _ in range(VISIT_CALLS)]
        if hot:
            calls += ["hot"] * 90
        rng.shuffle(calls)
        for index, customer in enumerate(calls):
            clock.t = 1_800_000_000.0 + minute * 60 + index * 50 / len(calls)
            requests += 1
            refused += not rng.choice(fleet).acquire(customer).allowed
    return {
        "active_customers": active,
        "hot_customer": hot,
        "requests": requests,
        "refused": refused,
        "dynamodb_calls": dynamodb.calls,
        "dynamodb_calls_per_request": round(dynamodb.calls / requests, 3),
    }


def run(actives: tuple[int, ...] = (1, 10, 100), minutes: int = MINUTES) -> dict[str, Any]:
    with restored(), EmbeddedAws() as aws:
        os.environ.update(aws.environment())
        table = f"bench-{uuid.uuid4().hex[:6]}"
        create_table(table)
        rows = [_run(active, False, table, minutes) for active in actives]
        rows.append(_run(min(10, max(actives)), True, table, minutes))
    return {
        "benchmark": "customer_limits",
        "containers": CONTAINERS,
        "visit_calls": VISIT_CALLS,
        "minutes": minutes,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None).parse_args(
        argv
    )
    print(json.dumps(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
