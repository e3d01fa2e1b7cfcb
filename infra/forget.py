"""`make forget CUSTOMER=<utilityCustomerId>`: forget one customer (gateway.forget).

How a utility answers a customer's privacy deletion request, and releases a designated
customer's place: every cached answer and usage day held, the bindings of the customer's
sessions, their budget items and, with ``RELEASE=1``, their designated place. The customer
is named as the utility knows them (company, customer id); the tool reads the stack's
customer key from Secrets Manager to find their items, as the functions do, and prints
what it removed (a keyed name and counts, never an id), which is also recorded in the
table (``forgotten#<keyed name>#<epoch second>``: the counts) for the audit. Running it again
removes nothing more and says so.

    make forget CUSTOMER=UC-0001                       # the running `make dev`
    make forget CUSTOMER=UC-0001 STACK=OpowerGateway   # a deployed stack
    make forget CUSTOMER=UC-0001 COMPANY=NRTH RELEASE=1

A workload automates it the same way (``python -m infra.forget --stack ... --json``), or
calls ``gateway.forget.Forgetter`` itself, with these permissions: secretsmanager:
GetSecretValue on the customer key (output ``CustomerKeySecretArn``); dynamodb:GetItem,
DeleteItem, PutItem, UpdateItem and TransactWriteItems on the table (``TableName``);
dynamodb:Query, DeleteItem and UpdateItem on the cache table (``CacheTableName``);
cloudformation:DescribeStacks on the stack. AWS credentials and region come from the usual
places (AWS_PROFILE, AWS_REGION ...).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

# The mark that makes older answers no answers outlives any entry asked before it: the
# longest lifetime a deployment can set (cache_settled_fresh_s, at most two years) and a
# day of stale-if-error past it.
MARKER_KEEP_S = 2 * 366 * 86_400


class ForgetError(Exception):
    """What went wrong, in one line for the terminal."""


def deployed(stack_name: str, cloudformation: Any) -> dict[str, str]:
    """The tables and the customer key of a deployed stack, from its outputs."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError as exc:
        raise ForgetError(
            f"stack {stack_name!r} not found in this account and region (STACK=..., AWS_REGION)"
        ) from exc
    outputs = {o["OutputKey"]: str(o["OutputValue"]) for o in stacks[0].get("Outputs", [])}
    wanted = ("TableName", "CacheTableName", "CustomerKeySecretArn")
    missing = [name for name in wanted if name not in outputs]
    if missing:
        raise ForgetError(
            f"stack {stack_name!r} has no {', '.join(missing)} output: deploy this version first"
        )
    return {name: outputs[name] for name in wanted} | {"companies": outputs.get("UtilityCodes", "")}


def local_stack() -> dict[str, str]:
    """The running `make dev`'s tables and customer key, on its embedded AWS."""
    from pathlib import Path

    from local.stack import STATE_DIR
    from local.token import NotRunningError, running_stack

    try:
        running = running_stack(Path(os.environ.get("LOCAL_STATE_DIR") or STATE_DIR))
    except NotRunningError as exc:
        raise ForgetError(f"{exc}; or name a deployed stack with STACK=...") from None
    os.environ["AWS_ENDPOINT_URL"] = running["aws"]
    os.environ.setdefault("AWS_DEFAULT_REGION", running["region"])
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")  # the embedded AWS takes any
    return {
        "TableName": running["table_name"],
        "CacheTableName": running["cache_table_name"],
        "CustomerKeySecretArn": running["customer_key_secret_id"],
        "companies": ",".join(running.get("companies", [])),
    }


def forget(
    stack: dict[str, str], utility_code: str, customer: str, *, release: bool
) -> dict[str, Any]:
    import boto3

    from gateway import customer_keys
    from gateway.forget import Forgetter

    secrets = boto3.client("secretsmanager")
    customer_keys.use(customer_keys.secret_loader(stack["CustomerKeySecretArn"], lambda: secrets))
    dynamodb = boto3.client("dynamodb")
    forgetter = Forgetter(
        table_name=stack["TableName"],
        cache_table_name=stack["CacheTableName"],
        clock=_Clock(),
        marker_keep_s=MARKER_KEEP_S,
        dynamodb=dynamodb,
    )
    try:
        forgotten = forgetter.forget(utility_code, customer, release_designated=release)
    except Exception as exc:  # noqa: BLE001 - one line for the terminal, never a traceback
        raise ForgetError(f"could not forget the customer ({type(exc).__name__}: {exc})") from None
    return {"utilityCode": utility_code, **forgotten.to_json()}


class _Clock:
    @staticmethod
    def now() -> float:
        return time.time()

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Forget one customer (a deletion request)")
    parser.add_argument("customer", nargs="?", help="the utility's customer id (utilityCustomerId)")
    parser.add_argument("--company", default="", help="utility code (default: the only one)")
    parser.add_argument("--stack", default="", help="a deployed stack (default: `make dev`)")
    parser.add_argument(
        "--release-designated", action="store_true", help="also free their designated place"
    )
    parser.add_argument("--json", action="store_true", help="print the record as JSON only")
    args = parser.parse_args(argv)
    try:
        if not args.customer:
            raise ForgetError("name the customer: make forget CUSTOMER=<utilityCustomerId>")
        if args.stack:
            import boto3

            stack = deployed(args.stack, boto3.client("cloudformation"))
        else:
            stack = local_stack()
        company = args.company or _only_company(stack)
        record = forget(stack, company, args.customer, release=args.release_designated)
    except ForgetError as exc:
        print(f"forget: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(record))
        return 0
    place = record["designated_place"]
    print(
        f"Forgot customer {record['customer']} of {company}: {record['cached_answers']} cached "
        f"answers, {record['bindings']} bindings, {record['budget_days']} budget days removed; "
        f"designated place {place}.\n"
        + ("Nothing of theirs was held (forgotten before, or never seen).\n"
           if not any(record[k] for k in ("cached_answers", "bindings", "budget_days")) else "")
        + "Their answers held in warm containers are not served again; docs/operations.md "
        "says what else expires, and when."
    )  # fmt: skip
    return 0


def _only_company(stack: dict[str, str]) -> str:
    companies = [c for c in stack.get("companies", "").split(",") if c]
    if len(companies) == 1:
        return companies[0]
    raise ForgetError(
        "name the company: COMPANY=<utility code>"
        + (f" ({', '.join(companies)})" if companies else "")
    )


if __name__ == "__main__":
    sys.exit(main())
