"""The service API in the template: the resource policy that admits only the principals
the utility named, grant_invoke, the budget carve-out's alarms, and the Step Functions
example in a stack of its own (infra/service.py, infra/examples/high_bill_alerts.py)."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import math
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from gateway.settings import RuntimeSettings
from infra import quotas
from infra.app import cdk_json_context, create_app
from infra.config import GatewayConfig
from infra.examples.high_bill_alerts import HighBillAlerts
from infra.gateway import OpowerGateway
from infra.service import TAG_KEY, tag_value
from infra.stack import GatewayStack
from local.sigv4 import LocalPrincipal, refused
from tests.infrastructure.conftest import SKIP_BUNDLING, Synthesized

pytestmark = pytest.mark.infrastructure

WORKFLOW_ROLE = "arn:aws:iam::123456789012:role/cis-sync"


def _policy(template: dict[str, Any]) -> dict[str, Any]:
    (api,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    return dict(api["Properties"]["Policy"])


def _environment(template: dict[str, Any], name: str) -> str:
    values = {
        r["Properties"]["Environment"]["Variables"].get(name)
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "Environment" in r["Properties"]
        and "TABLE_NAME" in r["Properties"]["Environment"]["Variables"]
    }  # fmt: skip
    (value,) = values  # the same in both functions
    return str(value)


def _stack_with_service(tmp_path: Any) -> tuple[cdk.App, GatewayStack]:
    return create_app(
        context={**SKIP_BUNDLING, "service_principals": WORKFLOW_ROLE},
        outdir=str(tmp_path),
    )


ACCOUNT = "123456789012"
OTHER = "111111111111"
_PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT}


def _resolve(value: Any) -> Any:
    """The template's Fn::Join / pseudo-parameter Refs, as CloudFormation resolves them."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(_resolve(part)) for part in parts)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return _PSEUDO[value["Ref"]]
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return list(_resolve(_policy(template))["Statement"])


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _matches(patterns: Any, arn: str) -> bool:
    return any(fnmatch.fnmatchcase(arn, p) for p in _listed(patterns))


def _holds(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    """IAM's condition operators: the keys of one operator are ANDed, the values of one
    key ORed; a key the request lacks fails StringEquals and satisfies StringNotEquals
    ("IAM JSON policy elements: Condition operators"; "Condition with multiple context
    keys or values")."""
    for operator, keys in conditions.items():
        for key, values in keys.items():
            equal = key in context and context[key] in _listed(values)
            if operator == "StringEquals" and not equal:
                return False
            if operator == "StringNotEquals" and equal:
                return False
    return True


def _applies(statement: dict[str, Any], arn: str) -> bool:
    if "Resource" in statement:
        return _matches(statement["Resource"], arn)
    return not _matches(statement["NotResource"], arn)


def _decision(
    statements: list[dict[str, Any]], arn: str, context: dict[str, str], identity_allows: bool
) -> bool:
    """The resource policy with the caller's identity policy, as "How API Gateway resource
    policies affect authorization workflow" says: an explicit Deny wins; in the API's
    account either Allow admits (table A); from another account both must (table B)."""
    applicable = [
        st for st in statements if _applies(st, arn) and _holds(st.get("Condition", {}), context)
    ]
    if any(st["Effect"] == "Deny" for st in applicable):
        return False
    resource_allows = any(st["Effect"] == "Allow" for st in applicable)
    if context.get("aws:PrincipalAccount", ACCOUNT) == ACCOUNT:
        return resource_allows or identity_allows
    return resource_allows and identity_allows


def _method_arn(method: str, path: str) -> str:
    return f"arn:aws:execute-api:us-east-1:{ACCOUNT}:a1b2c3/prod/{method}{path}"


def test_the_service_api_is_closed_by_default(synthesized: Synthesized) -> None:
    """No principal listed, no grant: only the gateway's tag could admit, which no
    principal carries; the customer API and the catch-alls stay open to the authorizer;
    the proxy leaves the whole budget to customers."""
    statements = _statements(synthesized.raw)
    tag = tag_value(synthesized.stack.gateway)
    anyone = {"aws:PrincipalAccount": ACCOUNT, "aws:PrincipalArn": WORKFLOW_ROLE}
    for path in ("/v1/me/accounts", "/v1/openapi.json", "/", "/anything/else"):
        assert _decision(statements, _method_arn("GET", path), {}, False), path
    service = _method_arn("GET", "/v1/service/accounts")
    assert not _decision(statements, service, {}, False)  # anonymous
    assert not _decision(statements, service, anyone, True)  # its own policy allows it
    tagged = {**anyone, f"aws:PrincipalTag/{TAG_KEY}": tag}
    assert _decision(statements, service, tagged, True)
    assert _environment(synthesized.raw, "SERVICE_ENABLED") == "False"
    assert _environment(synthesized.raw, "SERVICE_PRINCIPALS") == ""
    alarms = synthesized.template.find_resources("AWS::CloudWatch::Alarm")
    assert not any("ServiceDailyQuota" in name for name in alarms)


def test_listed_principals_are_admitted_by_arn_and_get_their_share(tmp_path: Any) -> None:
    app, stack = _stack_with_service(tmp_path)
    app.synth()  # cdk-nag included
    raw = Template.from_stack(stack).to_json()

    service = _method_arn("PUT", "/v1/service/threshold")
    listed = {"aws:PrincipalAccount": ACCOUNT, "aws:PrincipalArn": WORKFLOW_ROLE}
    assert _decision(_statements(raw), service, listed, False)  # no identity policy needed
    # the functions learn only that the service API is on; the principals are the
    # resource policy's (and Lambda's environment holds 4 KB: infra/quotas.py)
    assert _environment(raw, "SERVICE_ENABLED") == "True"
    assert _environment(raw, "SERVICE_PRINCIPALS") == ""
    # The customers' DailyQuota watches their share; the service API has its own alarm.
    settings = RuntimeSettings()
    alarms = {
        name.split("Monitoring")[1][:30]: r["Properties"]
        for name, r in raw["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    service_alarm = next(a for n, a in alarms.items() if n.startswith("ServiceDailyQuota"))
    daily = next(a for n, a in alarms.items() if n.startswith("DailyQuota"))
    assert service_alarm["Threshold"] == math.floor(settings.service_budget_per_day * 0.8)
    assert service_alarm["MetricName"] == "ServiceOpowerCallsToday"
    # One count of the company's day, the service's calls included (gateway.budgets.day).
    assert daily["Threshold"] == math.floor(settings.budget_per_day * 0.8)


JOB = f"arn:aws:iam::{ACCOUNT}:role/job"
COPYCAT = f"arn:aws:iam::{OTHER}:role/copycat"
PARTNER = f"arn:aws:iam::{OTHER}:role/partner"


@pytest.mark.parametrize(
    ("arn", "tagged", "invoke", "method", "path", "admitted"),
    [
        (WORKFLOW_ROLE, False, (), "PUT", "/v1/service/threshold", True),
        (JOB, True, ("GET/v1/service/accounts",), "GET", "/v1/service/accounts", True),
        # grant_invoke(routes=...) narrows: the identity policy decides, not the tag
        (JOB, True, ("GET/v1/service/accounts",), "PUT", "/v1/service/threshold", False),
        (JOB, False, ("*",), "GET", "/v1/service/accounts", False),
        # another account's role with the (guessable) tag and a policy of its own
        (COPYCAT, True, ("*",), "GET", "/v1/service/accounts", False),
        # another account's role listed by ARN: both policies must allow
        (PARTNER, False, ("*",), "GET", "/v1/service/accounts", True),
        (PARTNER, False, (), "GET", "/v1/service/accounts", False),
    ],
)
def test_the_emulator_decides_as_the_synthesized_policy_does(
    tmp_path: Any,
    arn: str,
    tagged: bool,
    invoke: tuple[str, ...],
    method: str,
    path: str,
    admitted: bool,
) -> None:
    """local.sigv4.refused (the emulator's model) and the template's own statements,
    evaluated with IAM's rules, agree, and say what docs/service-api.md promises."""
    app = cdk.App(
        context={
            **cdk_json_context(),
            **SKIP_BUNDLING,
            "service_principals": f"{WORKFLOW_ROLE},{PARTNER}",
        },
        outdir=str(tmp_path),
    )
    stack = GatewayStack(app, "OpowerGateway", config=GatewayConfig.from_node(app.node))
    statements = _statements(Template.from_stack(stack).to_json())
    tag = tag_value(stack.gateway)
    account = arn.split(":")[4]
    context = {"aws:PrincipalAccount": account, "aws:PrincipalArn": arn}
    if tagged:
        context[f"aws:PrincipalTag/{TAG_KEY}"] = tag
    identity_allows = any(fnmatch.fnmatchcase(f"{method}{path}", p) for p in invoke)
    principal = LocalPrincipal(
        "key",
        "secret",
        user_arn=arn,
        principal_arn=arn,
        tags={TAG_KEY: tag} if tagged else {},
        invoke=invoke,
    )

    by_template = _decision(statements, _method_arn(method, path), context, identity_allows)
    by_emulator = not refused(
        principal,
        method,
        path,
        arns=(WORKFLOW_ROLE, PARTNER),
        tag=(TAG_KEY, tag),
        account=ACCOUNT,
    )

    assert by_template == by_emulator == admitted


def test_a_step_functions_workflow_in_another_stack_calls_a_service_route(tmp_path: Any) -> None:
    """docs/service-api.md's example, synthesized with cdk-nag: the state machine's role is tagged
    and may invoke the service routes, and only its stack depends on the other."""
    app = cdk.App(context={**cdk_json_context(), **SKIP_BUNDLING}, outdir=str(tmp_path))
    config = GatewayConfig.from_node(app.node)
    config = dataclasses.replace(config, runtime=_with_service(config.runtime))
    gateway_stack = GatewayStack(app, "OpowerGateway", config=config)
    workflow = HighBillAlerts(app, "HighBillAlerts", gateway=gateway_stack.gateway)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    app.synth()  # no dependency cycle, no unacknowledged cdk-nag finding

    assert gateway_stack in workflow.dependencies
    assert workflow not in gateway_stack.dependencies
    template = Template.from_stack(workflow)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {"Tags": Match.array_with([{"Key": TAG_KEY, "Value": tag_value(gateway_stack.gateway)}])},
    )
    definition = json.dumps(template.find_resources("AWS::StepFunctions::StateMachine"))
    assert ":states:::apigateway:invoke" in definition
    assert "IAM_ROLE" in definition
    assert "/v1/service/bill-forecast" in definition
    # the customer named in the query, which SigV4 signs whatever Step Functions signs
    # (tests/e2e/test_service_api.py sends that request as the state machine would)
    for name in ("utilityCustomerId", "accountNumber", "utilityCode"):
        assert f'\\"{name}.$\\":\\"States.Array($.{name})\\"' in definition, name
    assert "QueryParameters" in definition
    assert "Opower-" not in definition
    # the example stack is within AWS's quotas too (infra/quotas.py)
    assert quotas.over_quota(template.to_json(), stack_name="HighBillAlerts") == []
    policies = json.dumps(template.find_resources("AWS::IAM::Policy"))
    assert "execute-api:Invoke" in policies
    assert "/prod/GET/v1/service/bill-forecast" in policies  # only the route it calls
    assert "/v1/service/*" not in policies


def test_grant_invoke_refuses_what_it_cannot_admit(tmp_path: Any) -> None:
    app = cdk.App(context={**cdk_json_context(), **SKIP_BUNDLING}, outdir=str(tmp_path))
    config = GatewayConfig.from_node(app.node)
    closed = GatewayStack(app, "Closed", config=config)
    role = iam.Role(closed, "Job", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    with pytest.raises(ValueError, match="service_enabled"):
        closed.gateway.grant_invoke(role)

    config = dataclasses.replace(config, runtime=_with_service(config.runtime))
    open_stack = GatewayStack(app, "Open", config=config)
    imported = iam.Role.from_role_arn(open_stack, "Imported", WORKFLOW_ROLE)
    with pytest.raises(ValueError, match="service_principals"):
        open_stack.gateway.grant_invoke(imported)


def _with_service(runtime: RuntimeSettings) -> RuntimeSettings:
    return dataclasses.replace(runtime, service_enabled=True)


def test_grant_invoke_without_routes_gives_every_service_route(tmp_path: Any) -> None:
    """A second app's function, in the gateway's own stack: tagged, and allowed every
    method of /v1/service/* on the stage (no cycle: the API's policy names no role)."""
    from aws_cdk import aws_lambda as lambda_

    app = cdk.App(context={**cdk_json_context(), **SKIP_BUNDLING}, outdir=str(tmp_path))
    config = GatewayConfig.from_node(app.node)
    config = dataclasses.replace(config, runtime=_with_service(config.runtime))
    platform = cdk.Stack(app, "UtilityPlatform")
    gateway = OpowerGateway(platform, "Opower", config=config)
    sync = lambda_.Function(
        platform,
        "ThresholdSync",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )

    gateway.grant_invoke(sync)
    template = Template.from_stack(platform)

    template.has_resource_properties(
        "AWS::IAM::Role",
        {"Tags": Match.array_with([{"Key": TAG_KEY, "Value": tag_value(gateway)}])},
    )
    policies = json.dumps(platform.resolve(template.find_resources("AWS::IAM::Policy")))
    assert "/prod/*/v1/service/*" in policies
    # With the service API on, the proxy carves its share out of the customers' budget.
    assert _environment(template.to_json(), "SERVICE_ENABLED") == "True"


@pytest.mark.parametrize(
    "path",
    ["/v1/me/x/v1/service/y", "/v1/me/accounts/v1/service/accounts", "/nothing/v1/service/x"],
)
def test_a_path_holding_the_service_prefix_further_down_is_not_the_service_api(
    synthesized: Synthesized, path: str
) -> None:
    """IAM's ``*`` in a resource ARN matches any characters, ``/`` included ("IAM JSON
    policy elements: Resource"; re:Post "Can I use a wildcard for the HTTP verb with a
    specific resource path ...": ``GET/user/*`` also matches ``GET/user/x/sensitive``): a
    pattern ``*/*/*/v1/service/*`` took ``GET/v1/me/x`` for its method, and denied such a
    path (403) that the catch-all answers 404. The statements name each method, so the
    service prefix must follow it."""
    statements = _statements(synthesized.raw)
    anonymous: dict[str, str] = {}

    for method in ("GET", "PUT", "DELETE", "POST"):
        assert _decision(statements, _method_arn(method, path), anonymous, False), method
    # ... while the service routes stay closed to anyone unnamed, every method of them.
    for method in ("GET", "PUT", "DELETE", "POST", "PATCH", "HEAD", "OPTIONS"):
        service = _method_arn(method, "/v1/service/accounts")
        assert not _decision(statements, service, anonymous, False), method
        assert not _decision(statements, service, {"aws:PrincipalAccount": ACCOUNT}, True)
