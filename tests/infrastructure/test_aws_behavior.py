"""The template against AWS's documented behavior: each test names the behavior it encodes
(a page title of the AWS documentation, or the API field), so that a stack that passes only
against our own picture of AWS fails here instead of on a user's first `make deploy`."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from gateway.api_responses import GATEWAY_RESPONSES
from infra.account_logging import RESOURCE_TYPE
from infra.app import cdk_json_context, create_app
from infra.waf import RATE_RULE_NAMES, REDACTED_HEADERS
from tests.infrastructure.conftest import SKIP_BUNDLING, Synthesized

pytestmark = pytest.mark.infrastructure

ROOT = Path(__file__).resolve().parents[2]


def _resources(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in raw["Resources"].items() if v["Type"] == kind}


def _one(raw: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = _resources(raw, kind).items()
    return found


def _synth(**context: Any) -> tuple[Any, dict[str, Any]]:
    _, stack = create_app(context={**SKIP_BUNDLING, **context})
    return stack, Template.from_stack(stack).to_json()


# -- 1. the account's CloudWatch role ----------------------------------------------------
def test_access_logging_waits_for_the_account_cloudwatch_role_set_only_if_missing(
    synthesized: Synthesized,
) -> None:
    # "Set up CloudWatch logging for REST APIs in API Gateway": a stage with access logging
    # fails to create ("CloudWatch Logs role ARN must be set in account settings to enable
    # logging") until the account names a role; the setting (cloudwatchRoleArn of
    # GetAccount / UpdateAccount) is one per account and region, shared by every API.
    raw = synthesized.raw
    custom_id, custom = _one(raw, RESOURCE_TYPE)
    role_id = custom["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    role = raw["Resources"][role_id]

    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    # The account setting may name it after the stack is gone: never deleted with it.
    assert role["DeletionPolicy"] == "Retain"
    _, stage = _one(raw, "AWS::ApiGateway::Stage")
    assert custom_id in stage["DependsOn"]
    assert "AccessLogSetting" in stage["Properties"]
    # CDK's own AWS::ApiGateway::Account would overwrite another stack's role.
    assert not _resources(raw, "AWS::ApiGateway::Account")


def test_the_custom_resource_function_may_read_and_set_only_the_account_setting(
    synthesized: Synthesized,
) -> None:
    stack = synthesized.stack
    assert stack.account_role is not None
    function_role = stack.account_role.node.find_child("FunctionRole")
    statements = stack.resolve(function_role.node.find_child("DefaultPolicy").document.to_json())[
        "Statement"
    ]
    by_action = {json.dumps(s["Action"]): s for s in statements}

    account = by_action[json.dumps(["apigateway:GET", "apigateway:PATCH"])]
    assert "::/account" in json.dumps(account["Resource"])
    pass_role = by_action[json.dumps("iam:PassRole")]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "apigateway.amazonaws.com"}
    }


def test_leave_skips_the_account_role() -> None:
    stack, raw = _synth(api_gateway_account_role="leave", waf_enabled="false")

    assert stack.account_role is None
    assert not _resources(raw, RESOURCE_TYPE)


# -- 2. gateway responses ------------------------------------------------------------------
def _gateway_responses(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in _resources(raw, "AWS::ApiGateway::GatewayResponse").values()
    }


def test_both_authorizer_failure_types_answer_503_with_retry_after(
    synthesized: Synthesized,
) -> None:
    # "Gateway response types for API Gateway": a Lambda authorizer that raises (other than
    # "Unauthorized") or times out is AUTHORIZER_CONFIGURATION_ERROR, 500 by default; both
    # it and AUTHORIZER_FAILURE must say 503 and when to retry.
    responses = _gateway_responses(synthesized.raw)
    for kind in ("AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE"):
        props = responses[kind]
        assert props["StatusCode"] == "503", kind
        assert props["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'5'"
        template = props["ResponseTemplates"]["application/json"]
        assert '"code":"authorization_unavailable"' in template


def test_every_gateway_response_is_uncacheable_and_401_names_the_scheme(
    synthesized: Synthesized,
) -> None:
    responses = _gateway_responses(synthesized.raw)

    assert set(responses) == {r.type.replace("_4_XX", "_4XX").replace("_5_XX", "_5XX")
                              for r in GATEWAY_RESPONSES}  # fmt: skip
    for kind, props in responses.items():
        headers = props["ResponseParameters"]
        assert headers["gatewayresponse.header.Cache-Control"] == "'private, no-store'", kind
    unauthorized = responses["UNAUTHORIZED"]["ResponseParameters"]
    assert unauthorized["gatewayresponse.header.WWW-Authenticate"].startswith("'Bearer")
    assert responses["THROTTLED"]["ResponseParameters"]["gatewayresponse.header.Retry-After"]


@pytest.mark.parametrize(
    ("origins", "expected"),
    [("https://app.example.org", "'https://app.example.org'"),
     ("https://a.example.org,https://b.example.org", "'*'")],
)  # fmt: skip
def test_gateway_responses_carry_cors_whatever_the_number_of_origins(
    origins: str, expected: str
) -> None:
    # "Gateway responses in API Gateway": header values are static ('...') or a request
    # parameter; one of several origins cannot be chosen, so several origins give '*'.
    _, raw = _synth(cors_allow_origins=origins, waf_enabled="false")

    for kind, props in _gateway_responses(raw).items():
        headers = props["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == expected, kind
        exposed = headers["gatewayresponse.header.Access-Control-Expose-Headers"]
        assert "Retry-After" in exposed
        assert "WWW-Authenticate" in exposed


# -- 3. WAF metric names -------------------------------------------------------------------
def test_waf_alarm_uses_the_metric_names_waf_publishes(synthesized: Synthesized) -> None:
    # "Monitoring with Amazon CloudWatch" (AWS WAF): AWS/WAFV2 metrics are dimensioned by
    # WebACL = the web ACL's VisibilityConfig.MetricName and Rule = the rule's.
    raw = synthesized.raw
    _, acl = _one(raw, "AWS::WAFv2::WebACL")
    acl_metric = acl["Properties"]["VisibilityConfig"]["MetricName"]
    rule_metrics = {
        r["Name"]: r["VisibilityConfig"]["MetricName"] for r in acl["Properties"]["Rules"]
    }
    alarm = next(
        a["Properties"]
        for a in _resources(raw, "AWS::CloudWatch::Alarm").values()
        if "BlockedRequests" in json.dumps(a)
    )
    dimensions = [
        {d["Name"]: d["Value"] for d in q["MetricStat"]["Metric"]["Dimensions"]}
        for q in alarm["Metrics"]
        if "MetricStat" in q
    ]

    assert sorted(d["Rule"] for d in dimensions) == sorted(rule_metrics[r] for r in RATE_RULE_NAMES)
    assert {d["WebACL"] for d in dimensions} == {acl_metric}


# -- 4. the authorizer alarm ---------------------------------------------------------------
def test_authorizer_alarm_counts_outages_not_refusals(synthesized: Synthesized) -> None:
    # Every 401 is the authorizer raising "Unauthorized", which AWS/Lambda counts in Errors
    # ("Types of metrics for Lambda functions": Errors counts invocations that raised).
    alarms = {
        k: a["Properties"] for k, a in _resources(synthesized.raw, "AWS::CloudWatch::Alarm").items()
    }
    authorizer = next(a for k, a in alarms.items() if k.startswith("MonitoringAuthorizerFailures"))

    assert authorizer.get("MetricName") == "Auth_unavailable"
    assert "AWS/Lambda" not in json.dumps(authorizer)
    misconfigured = next(
        a for k, a in alarms.items() if k.startswith("MonitoringGatewayMisconfigured")
    )
    assert misconfigured["MetricName"] == "GatewayMisconfigured"


def test_degraded_tiers_alarm(synthesized: Synthesized) -> None:
    alarms = json.dumps(list(_resources(synthesized.raw, "AWS::CloudWatch::Alarm").values()))
    for metric in ("TokenStoreDegraded", "BudgetStoreDegraded", "SecretsDegraded"):
        assert metric in alarms


# -- 5. feature flags ----------------------------------------------------------------------
def _recommended_flags() -> dict[str, Any]:
    """What `cdk init` writes for this aws-cdk-lib: its recommended-feature-flags.json."""
    package = next((Path(cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz"))
    with tarfile.open(package) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        flags: dict[str, Any] = json.load(member)
    return flags


def test_cdk_json_sets_every_recommended_feature_flag() -> None:
    context = cdk_json_context()
    missing = {k: v for k, v in _recommended_flags().items() if context.get(k) != v}

    assert missing == {}


def test_changing_the_authorizer_changes_the_deployment() -> None:
    # Without @aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId, a changed
    # authorizer (its cache TTL) leaves the stage on the old deployment.
    _, before = _synth(waf_enabled="false")
    _, after = _synth(waf_enabled="false", authorizer_cache_ttl_s="60")

    deployment = "AWS::ApiGateway::Deployment"
    assert set(_resources(before, deployment)) != set(_resources(after, deployment))


# -- 6. imported secrets under a customer-managed key ----------------------------------------
def test_an_imported_secret_under_a_customer_key_may_be_decrypted_via_secrets_manager() -> None:
    # "Secret encryption and decryption in AWS Secrets Manager": GetSecretValue of a secret
    # under a customer-managed key needs kms:Decrypt on that key for the caller.
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:opower-AbCdEf"
    stack, _ = _synth(waf_enabled="false", opower_secret_arn=secret, opower_secret_kms_key_arn=key)

    for fn in (stack.functions.proxy, stack.functions.authorizer):
        document = stack.resolve(fn.role.node.find_child("DefaultPolicy").document.to_json())
        decrypt = [s for s in document["Statement"] if s["Action"] == "kms:Decrypt"]
        assert len(decrypt) == 1
        assert decrypt[0]["Resource"] == key
        via = decrypt[0]["Condition"]["StringEquals"]["kms:ViaService"]
        assert "secretsmanager." in json.dumps(via)


# -- 7. two copies in one account ------------------------------------------------------------
def test_two_copies_of_the_stack_share_no_name_and_no_metric() -> None:
    app = cdk.App(context={**cdk_json_context(), **SKIP_BUNDLING})
    from infra.config import GatewayConfig
    from infra.stack import GatewayStack

    stacks = [
        GatewayStack(
            app,
            name,
            config=GatewayConfig.from_mapping(
                {**cdk_json_context()["gateway"], "stack_name": name}
            ),
        )
        for name in ("OpowerGateway", "OpowerGatewayUat")
    ]
    first, second = (Template.from_stack(stack).to_json() for stack in stacks)

    def names(raw: dict[str, Any]) -> set[str]:
        found = set()
        for resource in raw["Resources"].values():
            props = resource.get("Properties", {})
            for key in ("Name", "ApiName", "DashboardName", "AlarmName", "LogGroupName"):
                if isinstance(props.get(key), str):
                    found.add(props[key])
        _, acl = _one(raw, "AWS::WAFv2::WebACL")
        found.add(acl["Properties"]["VisibilityConfig"]["MetricName"])
        for rule in acl["Properties"]["Rules"]:
            found.add(rule["VisibilityConfig"]["MetricName"])
        for fn in _resources(raw, "AWS::Lambda::Function").values():
            env = fn["Properties"].get("Environment", {}).get("Variables", {})
            if "POWERTOOLS_SERVICE_NAME" in env:
                found.add("service=" + env["POWERTOOLS_SERVICE_NAME"])
        return found

    assert names(first) & names(second) == set()
    assert "OpowerGatewayUat" in names(second)


# -- 8. stage limits -----------------------------------------------------------------------
def test_stage_limits_leave_fairness_to_the_budget_and_waf(synthesized: Synthesized) -> None:
    # "Throttle requests to your REST APIs": stage limits count every request before the
    # authorizer runs, so a few anonymous clients could starve everyone at Opower's 20/s.
    config = synthesized.stack.config
    _, stage = _one(synthesized.raw, "AWS::ApiGateway::Stage")
    settings = stage["Properties"]["MethodSettings"][0]

    assert settings["ThrottlingRateLimit"] == config.throttle_rate_limit >= 500
    assert config.waf_rate_limit_per_session_per_5min < config.waf_rate_limit_per_5min


# -- placeholders, WAF logging --------------------------------------------------------------
def test_cdk_jsons_placeholders_synthesize_but_refuse_to_deploy() -> None:
    from infra.config import GatewayConfig, GatewayConfigError

    settings = cdk_json_context()["gateway"]
    assert GatewayConfig.from_mapping(settings).placeholders()
    with pytest.raises(GatewayConfigError) as caught:
        GatewayConfig.from_mapping({**settings, "deploy": True})
    message = str(caught.value)
    for name in ("utility_code", "auth_issuer", "auth_jwks_url"):
        assert name in message


def test_waf_logs_with_credentials_redacted(synthesized: Synthesized) -> None:
    # "Logging web ACL traffic" (AWS WAF): a CloudWatch Logs destination must be named
    # aws-waf-logs-*, and is given by its ARN; RedactedFields hides header values.
    raw = synthesized.raw
    _, logging = _one(raw, "AWS::WAFv2::LoggingConfiguration")
    props = logging["Properties"]

    assert props["RedactedFields"] == [
        {"SingleHeader": {"Name": header}} for header in REDACTED_HEADERS
    ]
    destination = json.dumps(props["LogDestinationConfigs"])
    assert "aws-waf-logs-" in destination
    assert ":*" not in destination
