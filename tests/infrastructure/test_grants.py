"""Each function's IAM policy against the AWS calls its code makes.

The handlers run in-process as Lambda would run them (each function in a container of
its own: the synthesized function's environment, its table, key and secret created in
moto server, Opower's sandbox and the development identity provider behind the
placeholder URLs), and every botocore call they make is recorded. Each recorded call is
then evaluated against that function's synthesized identity policy with IAM's rules
(tests/infrastructure/policy_eval.py): an AccessDenied in AWS is a failure here, e.g.
the authorizer deleting a cache entry for an accounts answer over
``cache_max_entry_bytes`` with only PutItem granted.

Two more checks keep the recording honest and the grants exact:

* every DynamoDB / KMS / Secrets Manager method the code calls (found by reading it) was
  called by the scenario, so a new call cannot escape this test;
* every action a function is granted on these services is one it was seen calling
  ("grant exactly what the code calls": least privilege, cdk-nag's IAM5 spirit).
"""

from __future__ import annotations

import ast
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import botocore.session
import pytest

from gateway import wiring
from handlers.authorizer import handler as authorizer_handler
from handlers.proxy import handler as proxy_handler
from local.aws import EmbeddedAws
from local.idp import DevIdentityProvider
from local.provision import create_cache_table, create_key, create_table, put_secret
from local.sandbox import OpowerSandbox
from tests.events import LambdaContext, api_gateway_context, authorizer_event, proxy_event
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.policy_eval import ALLOW, Request, Resolver, decide, listed

pytestmark = [pytest.mark.infrastructure, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
# The services whose grants are checked; a call to any other is refused outright.
SERVICES = ("dynamodb", "kms", "secretsmanager")
# Calls made for the gateway by a library rather than by its own code: Powertools'
# SecretsProvider reads the Opower secret (gateway.credentials).
LIBRARY_CALLS = {("secretsmanager", "GetSecretValue")}
ACCOUNTS = {"UC-0001": ["4100000001", "4100000002"], "UC-0002": ["4100000003"],
            "UC-0003": ["4100000004"]}  # fmt: skip
WINDOW = {"start": ["2026-10-01T00:00:00-05:00"], "end": ["2026-10-08T00:00:00-05:00"]}
# "Using IAM with DynamoDB transactions": "Permissions for Put, Update, Delete, and Get
# actions are governed by the permissions used for the underlying PutItem, UpdateItem,
# DeleteItem, and GetItem operations", ConditionCheck by dynamodb:ConditionCheckItem.
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}  # fmt: skip


@dataclass(frozen=True)
class Call:
    function: str
    service: str
    operation: str
    resource: str


class Recorder:
    """Every botocore call made while a function runs, with the resource it names
    (``arn_of``: service, operation, parameters, answer -> ARN)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        # (service, operation) of every call as the code made it (a transaction once).
        self.operations: set[tuple[str, str]] = set()
        self.function: str | None = None
        self.arn_of: Callable[[str, str, dict[str, Any], dict[str, Any]], str] | None = None
        self._lock = threading.Lock()

    def record(self, client: Any, operation: str, params: dict[str, Any], answer: Any) -> None:
        if self.function is None or self.arn_of is None:
            return
        service = client.meta.service_model.service_name
        with self._lock:
            self.operations.add((service, operation))
        if service == "dynamodb" and operation in {"TransactWriteItems", "TransactGetItems"}:
            # Authorized item by item, as its underlying operations.
            for item in params.get("TransactItems", []):
                for kind, action in item.items():
                    resource = self.arn_of(service, TRANSACT_ACTIONS[kind], action, {})
                    with self._lock:
                        self.calls.append(
                            Call(self.function, service, TRANSACT_ACTIONS[kind], resource)
                        )
            return
        resource = self.arn_of(service, operation, params, answer or {})
        with self._lock:
            self.calls.append(Call(self.function, service, operation, resource))


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    original = botocore.client.BaseClient._make_api_call
    recorder = Recorder()

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        answer = None
        try:
            answer = original(client, operation, params)
            return answer
        finally:
            recorder.record(client, operation, params, answer)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return recorder


def _code_calls() -> set[tuple[str, str]]:
    """(service, operation) of every DynamoDB, KMS and Secrets Manager client method the
    Lambda code calls (``x.put_item(...)``, ``x.get_paginator("query")``)."""
    session = botocore.session.get_session()
    methods: dict[str, set[tuple[str, str]]] = {}
    for service in SERVICES:
        client = session.create_client(
            service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        for method, operation in client.meta.method_to_api_mapping.items():
            methods.setdefault(method, set()).add((service, operation))
    found: set[tuple[str, str]] = set()
    for path in (ROOT / "lambdas").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            if name == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant):
                name = str(node.args[0].value)
            found |= methods.get(name, set())
    return found


def _wait_for_background_work() -> None:
    """The customer budget shares its count from a background thread: let it finish
    within the function that started it."""
    deadline = time.monotonic() + 10
    while any(t.name.startswith("customer-share") and t.is_alive() for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the customer-share thread did not finish"
        time.sleep(0.05)
    time.sleep(0.2)


def test_every_aws_call_of_each_function_is_granted_and_nothing_more(
    synthesized: Synthesized,
    embedded_aws: EmbeddedAws,
    sandbox: OpowerSandbox,
    idp: DevIdentityProvider,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack, raw = synthesized.stack, synthesized.raw
    # -- the stack's resources, made for real in moto server
    suffix = str(time.monotonic_ns())[-8:]
    table_id = synthesized.logical_id(stack.store.table)
    cache_id = synthesized.logical_id(stack.store.cache_table)
    key_id = synthesized.logical_id(stack.store.key)
    opower_secret_id = synthesized.logical_id(stack.credentials.node.find_child("Secret"))
    dynamodb = boto3.client("dynamodb")
    overrides: dict[str, dict[str, str]] = {}
    for logical_id, create in ((table_id, create_table), (cache_id, create_cache_table)):
        name = f"{logical_id[:20]}-{suffix}"
        create(name)
        arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
        overrides[logical_id] = {"Ref": name, "Arn": arn}
    key_arn = create_key(f"grants {suffix}")
    overrides[key_id] = {"Ref": key_arn.rsplit("/", 1)[1], "Arn": key_arn}
    # Every secret the stack creates: the Opower credentials (the sandbox's client), any
    # other a generated value, as Secrets Manager's GenerateSecretString would give it.
    secret_arns: dict[str, str] = {}  # name or ARN -> ARN
    for logical_id, secret in raw["Resources"].items():
        if secret["Type"] != "AWS::SecretsManager::Secret":
            continue
        name = f"{logical_id[:24]}-{suffix}"
        if logical_id == opower_secret_id:
            value = {
                "client_id": sandbox.config.client_id,
                "client_secret": sandbox.current_client_secret,
            }
            arn = put_secret(name, value)
        else:
            arn = boto3.client("secretsmanager").create_secret(
                Name=name, SecretString=secrets.token_hex(32)
            )["ARN"]
        overrides[logical_id] = {"Ref": arn, "Arn": arn}
        secret_arns.update({name: arn, arn: arn})
    resolve = Resolver(raw, overrides)
    table_arns = {o["Ref"]: o["Arn"] for i, o in overrides.items() if i in (table_id, cache_id)}

    def arn_of(service: str, operation: str, params: dict[str, Any], answer: dict[str, Any]) -> str:
        if service == "dynamodb":
            # BatchGetItem names its tables in RequestItems (one table here: the cache).
            (table,) = params.get("RequestItems") or {params.get("TableName", ""): None}
            return table_arns.get(table, f"unknown:{params}")
        if service == "kms":
            return str(params.get("KeyId") or answer.get("KeyId") or f"unknown:{params}")
        if service == "secretsmanager":
            secret = str(params.get("SecretId", ""))
            return secret_arns.get(secret, secret)
        return f"{service}:{operation}"

    record = recorder
    record.arn_of = arn_of

    def container(function: str, **changed: str) -> None:
        """A cold container of ``function``: its synthesized environment, with Opower and
        the identity provider at the sandbox's and the dev IdP's addresses."""
        _wait_for_background_work()
        fn = getattr(stack.functions, function).function
        props = raw["Resources"][synthesized.logical_id(fn)]["Properties"]
        env = {k: str(v) for k, v in resolve(props["Environment"]["Variables"]).items()}
        env.update(
            OPOWER_BASE_URL=sandbox.base_url,
            UTILITY_CODE=sandbox.config.utility_code,
            AUTH_ISSUER=idp.issuer,
            AUTH_AUDIENCE=idp.audience,
            AUTH_JWKS_URL=idp.jwks_url,
            **changed,
        )
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        wiring.reset()
        record.function = function

    def authorize(customer: str) -> dict[str, Any]:
        answer = authorizer_handler(
            authorizer_event(idp.mint(customer, ACCOUNTS[customer])),
            LambdaContext(),  # type: ignore[arg-type]
        )
        assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow", answer
        return answer

    # -- the authorizer: sessions bound through Opower (the token fetched, encrypted and
    # stored; the binding stored; the accounts answer seeded into the cache) ...
    container("authorizer")
    sessions = {customer: api_gateway_context(authorize(customer)) for customer in ACCOUNTS}
    # ... a second container reads what the first stored (the token decrypted) ...
    container("authorizer")
    authorize("UC-0001")
    # ... and an accounts answer too large for the cache removes any older copy (a
    # customer with many accounts: here a deployment with a small cache_max_entry_bytes).
    container("authorizer", CACHE_MAX_ENTRY_BYTES="64", BINDING_TTL_S="1")
    time.sleep(1.1)
    authorize("UC-0002")
    # ... and with a designated-customer cap of two: two customers counted (a
    # transaction), the third refused (gateway.designated).
    container("authorizer", DESIGNATED_CUSTOMERS_MAX="2")
    for customer in ACCOUNTS:
        authorize(customer)

    # -- the proxy: cached reads (both tiers), a write that invalidates, the token from
    # the store, the customers' shares
    container("proxy")

    def call(method: str, path: str, customer: str = "UC-0001", **options: Any) -> int:
        event = proxy_event(method, path, authorizer=sessions[customer], **options)
        answer = proxy_handler(event, LambdaContext(timeout_s=10))  # type: ignore[arg-type]
        return int(answer["statusCode"])

    assert call("GET", "/v1/me/accounts") == 200
    assert call("GET", "/v1/me/bill-forecast") == 200
    assert call("GET", "/v1/me/bill-forecast") == 200  # a memory hit: the markers read
    assert call("GET", "/v1/me/usage/day/ELECTRICITY", query=WINDOW) == 200
    assert call("GET", "/v1/me/threshold") in (200, 404)
    body = '{"threshold": 100, "percentage": 90}'
    assert (
        call("PUT", "/v1/me/threshold", body=body, headers={"Content-Type": "application/json"})
        == 204
    )
    assert call("GET", "/v1/me/threshold") == 200
    # A container that finds no token in the store (expired, removed by TTL) fetches one.
    record.function = None
    _wait_for_background_work()
    token_table = overrides[table_id]["Ref"]
    for item in dynamodb.scan(TableName=token_table, ProjectionExpression="pk")["Items"]:
        dynamodb.delete_item(TableName=token_table, Key={"pk": item["pk"]})
    container("proxy")
    assert call("GET", "/v1/me/bill-forecast", customer="UC-0003") == 200
    _wait_for_background_work()
    record.function = None

    # -- every call allowed by its function's own policy
    calls = record.calls
    assert {c.function for c in calls} == {"authorizer", "proxy"}
    refused: list[Call] = []
    unused: dict[str, list[tuple[str, str]]] = {}
    for function in ("authorizer", "proxy"):
        role = getattr(stack.functions, function).role
        document = next(
            p["Properties"]["PolicyDocument"]
            for p in raw["Resources"].values()
            if p["Type"] == "AWS::IAM::Policy"
            and {"Ref": synthesized.logical_id(role)} in p["Properties"]["Roles"]
        )
        statements = resolve(document)["Statement"]
        made = {c for c in calls if c.function == function}
        refused += [
            c
            for c in made
            if decide(statements, Request(f"{c.service}:{c.operation}", c.resource)) != ALLOW
        ]
        granted = {
            (action, resource)
            for s in statements
            if s["Effect"] == "Allow"
            for action in listed(s["Action"])
            if action.split(":")[0] in SERVICES
            for resource in listed(s["Resource"])
        }
        used = {(f"{c.service}:{c.operation}", c.resource) for c in made}
        unused[function] = sorted(granted - used)
    assert refused == []
    # ... and each function is granted no action it was not seen making, on each
    # resource ("grant exactly what the code calls").
    assert unused == {"authorizer": [], "proxy": []}

    # -- the scenario exercised every call the code makes
    seen = record.operations
    assert _code_calls() | LIBRARY_CALLS <= seen, sorted(_code_calls() - seen)
