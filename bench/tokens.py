"""`make bench-tokens`: how many Opower tokens does a fleet of containers ask for?

N independent brokers (separate memory caches, as N warm Lambda containers) share one
moto-server DynamoDB table and KMS key and call the sandbox for ``L`` token lifetimes,
each request getting a token from its broker and using it on a real data call.

The sandbox issues short-lived tokens (``--token-lifetime``, default 20 s: long enough
that a busy machine's scheduling noise, a DynamoDB call delayed by a second, does not
decide the result) and the broker replaces a token when a quarter of its life is left,
as with Opower's 3599 s tokens; every other setting is the default. Each token serves
three quarters of its lifetime: that is the "lifetime" counted here, and 1.0 token
request per lifetime is the minimum a single perfectly coordinated container would need.
Without the shared tier the fleet would need N per lifetime.

Requests are scheduled over the first 97 % of the span, so that late-running requests on
a busy machine do not spill into a fourth lifetime (``last_request_at_s`` shows when the
last one finished).

Prints one JSON line; ``--help`` for the knobs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import uuid

from bench.environment import restored
from local.aws import EmbeddedAws
from local.provision import provision
from local.sandbox import OpowerSandbox, SandboxConfig


def run(
    *, containers: int, lifetimes: int, token_lifetime_s: int, requests: int
) -> dict[str, object]:
    # Imported here: the environment must point boto3 at moto first.
    import boto3

    from gateway.clock import SYSTEM_CLOCK
    from gateway.credentials import SecretsManagerCredentials
    from gateway.opower_client import OpowerClient
    from gateway.token.broker import BrokerSettings, TokenBroker
    from gateway.token.endpoint import TokenEndpoint
    from gateway.token.store import DynamoDbTokenStore

    sandbox_config = SandboxConfig(
        port=0, token_lifetime_s=token_lifetime_s, rate_per_second=10**6, rate_per_day=10**9
    )
    with restored(), EmbeddedAws() as aws, OpowerSandbox(sandbox_config) as sandbox:
        os.environ.update(aws.environment())
        resources = provision(
            table_name=f"bench-{uuid.uuid4().hex[:6]}",
            secret_name="opower/bench",
            credentials={
                "client_id": sandbox_config.client_id,
                "client_secret": sandbox_config.client_secret,
            },
        )
        settings = BrokerSettings(refresh_min_s=token_lifetime_s * 0.25)
        margin = max(token_lifetime_s * settings.refresh_fraction, settings.refresh_min_s)
        used_lifetime = token_lifetime_s - min(margin, token_lifetime_s / 2)
        span = lifetimes * used_lifetime

        # Each container's clients are made before the load starts, as in a Lambda's init
        # phase (and boto3's default session is not safe to share between threads).
        clients = []
        for _ in range(containers):
            broker = TokenBroker(
                endpoint=TokenEndpoint(sandbox.base_url, clock=SYSTEM_CLOCK),
                credentials=SecretsManagerCredentials(
                    resources.secret_arn, client=boto3.client("secretsmanager")
                ),
                store=DynamoDbTokenStore(
                    resources.table_name,
                    resources.kms_key_arn,
                    dynamodb=boto3.client("dynamodb"),
                    kms=boto3.client("kms"),
                ),
                clock=SYSTEM_CLOCK,
                settings=settings,
            )
            clients.append(OpowerClient(sandbox.base_url, broker, clock=SYSTEM_CLOCK))

        customer = sandbox.customers()[0]
        path = (
            f"/apis/customer-data-v2/{sandbox_config.utility_code}/customers/"
            f"{customer['customerId']}/utility_accounts"
        )
        per_container = max(1, requests // containers)
        failed = 0
        done = 0
        last_offset = 0.0
        errors: dict[str, int] = {}
        lock = threading.Lock()
        start_at = time.monotonic() + 0.5

        def container(client: OpowerClient, seed: int) -> None:
            nonlocal failed, done, last_offset
            rng = random.Random(seed)
            # Spread over the span, less a little at the end: on a busy machine the last
            # requests run late, and one past the span would need a 4th token.
            for offset in sorted(rng.uniform(0, span * 0.97) for _ in range(per_container)):
                time.sleep(max(0.0, start_at + offset - time.monotonic()))
                try:
                    ok = client.request("GET", path, deadline=time.time() + 5).status == 200
                except Exception as exc:  # noqa: BLE001 - a failed request is what we count
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    ok = False
                with lock:
                    done += 1
                    failed += not ok
                    last_offset = max(last_offset, time.monotonic() - start_at)

        threads = [threading.Thread(target=container, args=(c, i)) for i, c in enumerate(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        token_requests = int(str(sandbox.stats()["token_requests"]))
    return {
        "containers": containers,
        "lifetimes": lifetimes,
        "requests": done,
        "failed": failed,
        "token_requests": token_requests,
        "token_requests_per_lifetime": round(token_requests / lifetimes, 3),
        "last_request_at_s": round(last_offset, 3),
        "token_lifetime_s": token_lifetime_s,
        "token_used_for_s": round(used_lifetime, 3),
        "span_s": round(span, 3),
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--containers", type=int, default=int(os.environ.get("N", "50")))
    parser.add_argument("--lifetimes", type=int, default=3)
    parser.add_argument("--token-lifetime", type=int, default=20)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args(argv)
    result = run(
        containers=args.containers,
        lifetimes=args.lifetimes,
        token_lifetime_s=args.token_lifetime,
        requests=args.requests,
    )
    print(json.dumps(result), flush=True)
    ok = result["failed"] == 0 and float(result["token_requests_per_lifetime"]) <= 1.1  # type: ignore[arg-type]
    print(
        f"{'PASS' if ok else 'MISS'}: target failed == 0 and token_requests_per_lifetime <= 1.1",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
