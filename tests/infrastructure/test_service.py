"""The service API in the template: the resource policy that admits only the principals
the utility named, grant_invoke, the budget carve-out's alarms, and the Step Functions
example in a stack of its own (infra/service.py, infra/examples/high_bill_alerts.py)."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from gateway.settings import RuntimeSettings
from infra.app import cdk_json_context, create_app
from infra.config import GatewayConfig
from infra.examples.high_bill_alerts import HighBillAlerts
from infra.gateway import OpowerGateway
from infra.service import SERVICE_RESOURCE, TAG_KEY, tag_value
from infra.stack import GatewayStack
from local.sigv4 import LocalPrincipal, admitted
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


def test_the_service_api_is_closed_by_default(synthesized: Synthesized) -> None:
    """No principal listed, no grant: the Deny admits only the gateway's tag, which no
    principal carries, and the proxy leaves the budget to customers."""
    statements = _policy(synthesized.raw)["Statement"]
    allow, deny = statements
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"AWS": "*"}
    assert allow["Resource"] == "execute-api:/*"
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Action"] == "execute-api:Invoke"
    assert deny["Resource"] == SERVICE_RESOURCE == "execute-api:/*/*/v1/service/*"
    assert deny["Condition"] == {
        "StringNotEquals": {
            f"aws:PrincipalTag/{TAG_KEY}": tag_value(synthesized.stack.gateway),
        }
    }
    assert _environment(synthesized.raw, "SERVICE_ENABLED") == "False"
    assert _environment(synthesized.raw, "SERVICE_PRINCIPALS") == ""
    alarms = synthesized.template.find_resources("AWS::CloudWatch::Alarm")
    assert not any("ServiceDailyQuota" in name for name in alarms)


def test_listed_principals_are_admitted_by_arn_and_get_their_share(tmp_path: Any) -> None:
    app, stack = _stack_with_service(tmp_path)
    app.synth()  # cdk-nag included
    raw = Template.from_stack(stack).to_json()

    deny = _policy(raw)["Statement"][1]
    assert deny["Condition"]["StringNotEquals"]["aws:PrincipalArn"] == [WORKFLOW_ROLE]
    assert _environment(raw, "SERVICE_PRINCIPALS") == WORKFLOW_ROLE
    # The customers' DailyQuota watches their share; the service API has its own alarm.
    settings = RuntimeSettings()
    alarms = {
        name.split("Monitoring")[1][:30]: r["Properties"]
        for name, r in raw["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    service = next(a for n, a in alarms.items() if n.startswith("ServiceDailyQuota"))
    daily = next(a for n, a in alarms.items() if n.startswith("DailyQuota"))
    assert service["Threshold"] == math.floor(settings.service_budget_per_day * 0.8)
    assert service["MetricName"] == "ServiceOpowerCallsToday"
    assert daily["Threshold"] == math.floor(
        (settings.budget_per_day - settings.service_budget_per_day) * 0.8
    )


def test_the_policy_is_what_the_emulator_evaluates() -> None:
    """local.sigv4.admitted is the Deny's condition read as IAM reads it: StringNotEquals
    over two keys is their AND, and a key the request lacks matches a negated operator
    ("IAM JSON policy elements: Condition operators"; "Condition with multiple context
    keys or values"). So a principal is admitted when its ARN is listed OR it has the tag."""
    tag = "OpowerGateway:OpowerGateway/Default"

    def principal(arn: str, tags: dict[str, str] | None = None) -> LocalPrincipal:
        return LocalPrincipal("k", "s", user_arn=arn, principal_arn=arn, tags=tags or {})

    listed = principal(WORKFLOW_ROLE)
    tagged = principal("arn:aws:iam::123456789012:role/other", {TAG_KEY: tag})
    wrong_tag = principal("arn:aws:iam::123456789012:role/other", {TAG_KEY: "Another:Gateway"})
    stranger = principal("arn:aws:iam::123456789012:role/other")

    assert admitted(listed, arns=(WORKFLOW_ROLE,), tag=(TAG_KEY, tag))
    assert admitted(tagged, arns=(WORKFLOW_ROLE,), tag=(TAG_KEY, tag))
    assert not admitted(wrong_tag, arns=(WORKFLOW_ROLE,), tag=(TAG_KEY, tag))
    assert not admitted(stranger, arns=(WORKFLOW_ROLE,), tag=(TAG_KEY, tag))


def test_a_step_functions_workflow_in_another_stack_calls_a_service_route(tmp_path: Any) -> None:
    """The README's example, synthesized with cdk-nag: the state machine's role is tagged
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
