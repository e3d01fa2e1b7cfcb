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
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Template

from gateway.api_responses import GATEWAY_RESPONSES
from infra.account_logging import RESOURCE_TYPE
from infra.app import cdk_json_context, create_app
from infra.waf import RATE_RULE_NAMES, REDACTED_HEADERS
from tests.infrastructure.conftest import SKIP_BUNDLING, Synthesized
from tests.infrastructure.policy_eval import ACCOUNT, ALLOW, Request, Resolver, decide, resources_of

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
    wanted = custom["Properties"]
    # One role for the account, made by the function only where the account names none
    # (infra/custom_resources/api_gateway_account; test_account_role_handler.py): no
    # stack holds it, so none deletes it while the setting names it, and a second stack
    # makes no second role.
    assert (wanted["RolePath"], wanted["RoleName"]) == (
        "/opower-gateway/",
        "ApiGatewayCloudWatchLogs",
    )
    assert json.dumps(wanted["RoleArn"]).endswith(
        ':role/opower-gateway/ApiGatewayCloudWatchLogs"]]}'
    )
    assert json.dumps(wanted["PolicyArn"]).endswith(
        ':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"]]}'
    )
    trusted = [
        r for r in _resources(raw, "AWS::IAM::Role").values()
        if "apigateway" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]  # fmt: skip
    assert trusted == []
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
    # the one role it may make, with AWS's managed policy only
    role = json.dumps(pass_role["Resource"])
    assert role.endswith(':role/opower-gateway/ApiGatewayCloudWatchLogs"]]}')
    assert json.dumps(by_action[json.dumps(["iam:GetRole", "iam:CreateRole"])]["Resource"]) == role
    attach = by_action[json.dumps("iam:AttachRolePolicy")]
    assert json.dumps(attach["Resource"]) == role
    assert json.dumps(attach["Condition"]["ArnEquals"]["iam:PolicyARN"]).endswith(
        ':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"]]}'
    )


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


def test_the_access_log_holds_no_query_string() -> None:
    # A service call names its customer in the query (gateway.service): the access log
    # format has the resource path only ("$context.resourcePath": the template, no
    # values), never "$context.path" or a query variable ("API Gateway $context variables").
    from infra.api import ACCESS_LOG_FORMAT

    variables = " ".join(ACCESS_LOG_FORMAT.values())
    assert "$context.resourcePath" in variables
    assert "$context.path" not in variables.replace("$context.resourcePath", "")
    assert "querystring" not in variables.lower()
    assert "$input" not in variables


def test_waf_logs_with_credentials_redacted(synthesized: Synthesized) -> None:
    # "Logging web ACL traffic" (AWS WAF): a CloudWatch Logs destination must be named
    # aws-waf-logs-*, and is given by its ARN; RedactedFields hides header values, and
    # the whole query string ("AWS::WAFv2::LoggingConfiguration FieldToMatch": QueryString,
    # "the part of a URL that appears after a ? character"), where a service call names
    # its customer (utilityCustomerId, accountNumber).
    raw = synthesized.raw
    _, logging = _one(raw, "AWS::WAFv2::LoggingConfiguration")
    props = logging["Properties"]

    assert props["RedactedFields"] == [
        *({"SingleHeader": {"Name": header}} for header in REDACTED_HEADERS),
        {"QueryString": {}},
    ]
    destination = json.dumps(props["LogDestinationConfigs"])
    assert "aws-waf-logs-" in destination
    assert ":*" not in destination


# -- 9. alarm notifications ------------------------------------------------------------------
def test_cloudwatch_may_publish_every_alarm_to_the_encrypted_topic() -> None:
    # "Amazon SNS access control case examples" (CloudWatch alarms publishing to a topic:
    # Principal cloudwatch.amazonaws.com, aws:SourceArn the alarm): a topic policy replaces
    # SNS's default one, so enforce_ssl's TLS Deny alone leaves CloudWatch no Allow, and the
    # alarm's history says "is not authorized to perform: SNS:Publish ... because no
    # resource-based policy allows" (aws-solutions/automated-security-response-on-aws#43).
    # A topic under a customer-managed key also needs the key to let CloudWatch use it
    # ("Managing Amazon SNS encryption keys", compatibility with AWS services: kms:Decrypt
    # and kms:GenerateDataKey*; ASFHyP3/hyp3#762 is the KMS AccessDenied without it).
    _, stack = create_app(context={**SKIP_BUNDLING, "alarm_email": "oncall@utility.org"})
    # ... and an alarm of the utility's own on the gateway, sent to the same topic.
    own = cloudwatch.Alarm(
        stack,
        "UtilitysOwnAlarm",
        metric=stack.functions.proxy.function.metric_duration(),
        threshold=20_000,
        evaluation_periods=1,
    )
    stack.monitoring.notify(own)
    raw = Template.from_stack(stack).to_json()
    resolve = Resolver(raw)
    ((topic_id, topic),) = resources_of(raw, "AWS::SNS::Topic").items()
    topic_arn = resolve({"Ref": topic_id})
    (policy,) = [
        p["Properties"]
        for p in resources_of(raw, "AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    topic_statements = resolve(policy["PolicyDocument"])["Statement"]
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key_arn = resolve({"Fn::GetAtt": [key_id, "Arn"]})
    key_statements = resolve(raw["Resources"][key_id]["Properties"]["KeyPolicy"])["Statement"]
    alarms = resources_of(raw, "AWS::CloudWatch::Alarm")
    service = {"Service": "cloudwatch.amazonaws.com"}

    assert len(alarms) >= 12
    assert stack.get_logical_id(own.node.default_child) in alarms
    for alarm_id, alarm in alarms.items():
        props = alarm["Properties"]
        assert {"Ref": topic_id} in props["AlarmActions"], alarm_id
        assert {"Ref": topic_id} in props["OKActions"], alarm_id
        context = {
            "aws:SourceArn": resolve({"Fn::GetAtt": [alarm_id, "Arn"]}),
            "aws:SourceAccount": ACCOUNT,
            "aws:SecureTransport": "true",
        }
        publish = Request("sns:Publish", topic_arn, service, context)
        assert decide(topic_statements, publish) == ALLOW, alarm_id
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            use = Request(action, key_arn, service, context)
            assert decide(key_statements, use) == ALLOW, (alarm_id, action)

    # Not any alarm of any account (the confused deputy), and never over plain HTTP.
    stranger = {
        "aws:SourceArn": "arn:aws:cloudwatch:us-east-1:999999999999:alarm:theirs",
        "aws:SourceAccount": "999999999999",
        "aws:SecureTransport": "true",
    }
    theirs = Request("sns:Publish", topic_arn, service, stranger)
    assert decide(topic_statements, theirs) != ALLOW
    assert decide(key_statements, Request("kms:Decrypt", key_arn, service, stranger)) != ALLOW
    anyone = {"AWS": f"arn:aws:iam::{ACCOUNT}:role/someone"}
    plain = Request("sns:Publish", topic_arn, anyone, {"aws:SecureTransport": "false"})
    assert decide(topic_statements, plain) != ALLOW


# -- 10. metrics at every log level --------------------------------------------------------
# "Log-level filtering" (Lambda developer guide): with the JSON log format, Lambda sends a
# function's line to CloudWatch Logs only at or above the ApplicationLogLevel, and "if the
# 'level' value field is invalid or missing, Lambda assigns the log output the level INFO".
# Powertools prints metrics as EMF lines with no "level", so a function filtered at WARN
# or ERROR would drop every metric, and every alarm on them would stay silent.
_LAMBDA_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
# Python's names of two of them, as the Python runtime's and Powertools' JSON lines carry them.
_PYTHON_NAMES = {"WARNING": "WARN", "CRITICAL": "FATAL"}

_EMIT = """
import logging
from handlers.observability import logger, metrics
logger.info("an info line")
logging.getLogger("gateway.probe").info("a library info line")
logger.warning("a warning")
logging.getLogger("gateway.probe").warning("a library warning")
logger.error("an error")
metrics.add_metric(name="AuthAllowed", unit="Count", value=1)
metrics.flush_metrics()
"""


def _lambda_keeps(line: str, application_level: str) -> bool:
    """Lambda's documented filter: a JSON line's "level" (missing or invalid: INFO)."""
    try:
        record = json.loads(line)
    except ValueError:
        record = {}
    level = str(record.get("level", "")).upper() if isinstance(record, dict) else ""
    level = _PYTHON_NAMES.get(level, level)
    if level not in _LAMBDA_LEVELS:
        level = "INFO"
    return _LAMBDA_LEVELS.index(level) >= _LAMBDA_LEVELS.index(application_level)


@pytest.mark.parametrize("log_level", ["WARNING", "ERROR"])
def test_metrics_reach_cloudwatch_whatever_the_log_level(log_level: str) -> None:
    import os
    import subprocess
    import sys

    stack, raw = _synth(log_level=log_level, waf_enabled="false")
    for fn in (stack.functions.authorizer, stack.functions.proxy):
        props = raw["Resources"][stack.get_logical_id(fn.function.node.default_child)]["Properties"]
        application_level = props["LoggingConfig"]["ApplicationLogLevel"]
        env = props["Environment"]["Variables"]
        # Lambda's filter lets the EMF lines (INFO, for want of a level) through ...
        assert _LAMBDA_LEVELS.index(application_level) <= _LAMBDA_LEVELS.index("INFO")
        # ... and the functions' own Logger filters at log_level.
        assert env["POWERTOOLS_LOG_LEVEL"] == log_level

        # The handlers' Logger and Metrics, in the environment Lambda gives the function
        # (it sets AWS_LAMBDA_LOG_LEVEL from ApplicationLogLevel, which Powertools reads first).
        ran = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
            [sys.executable, "-c", _EMIT],
            env={
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": str(ROOT / "lambdas"),
                "AWS_LAMBDA_LOG_FORMAT": "JSON",
                "AWS_LAMBDA_LOG_LEVEL": application_level,
                **{k: v for k, v in env.items() if k.startswith("POWERTOOLS_")},
            },
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        kept = [
            json.loads(line)
            for line in ran.stdout.splitlines()
            if line.strip() and _lambda_keeps(line, application_level)
        ]

        metric_lines = [r for r in kept if "_aws" in r]
        assert metric_lines
        assert metric_lines[0]["AuthAllowed"] == [1.0]
        messages = {r.get("message") for r in kept}
        assert "an error" in messages
        assert (
            ("a warning" in messages)
            == ("a library warning" in messages)
            == (log_level == "WARNING")
        )
        assert "an info line" not in ran.stdout
        assert "a library info line" not in ran.stdout


# -- 11. the account-role custom resource answers in minutes --------------------------------
def test_the_account_role_custom_resource_cannot_keep_cloudformation_waiting_an_hour(
    synthesized: Synthesized,
) -> None:
    # AWS::CloudFormation::CustomResource ServiceTimeout: "the maximum time, in seconds,
    # that can elapse before a custom resource operation times out ... The default value
    # is 3600 seconds (1 hour)". A Lambda-backed custom resource that never answers (its
    # function timed out) holds the stack for that long.
    from infra.custom_resources.api_gateway_account import index

    raw = synthesized.raw
    _, custom = _one(raw, RESOURCE_TYPE)
    function_id = custom["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    function_timeout = raw["Resources"][function_id]["Properties"]["Timeout"]
    service_timeout = int(custom["Properties"]["ServiceTimeout"])

    assert function_timeout == index.FUNCTION_TIMEOUT_S
    assert function_timeout < service_timeout <= 600
    # The handler's plan fits in the function: one bounded call and the answer, at least.
    assert function_timeout > index.CALL_BOUND_S + index.RESPOND_TIMEOUT_S + 1


# -- 12. alarms that mean what they say --------------------------------------------------------
def _alarm(raw: dict[str, Any], name: str) -> dict[str, Any]:
    (props,) = [
        a["Properties"]
        for k, a in _resources(raw, "AWS::CloudWatch::Alarm").items()
        if k.startswith(f"Monitoring{name}")
    ]
    return props


def _alarm_value(alarm: dict[str, Any], values: dict[tuple[str, str], float]) -> float:
    """The value the alarm compares with its threshold for one period, given each metric's
    (name, statistic): its metric math evaluated ("Using metric math": IF, FILL, the
    arithmetic and comparison operators), or its single metric."""
    if "Metrics" not in alarm:
        stat = alarm.get("Statistic") or alarm["ExtendedStatistic"]
        return values[(alarm["MetricName"], stat)]
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    functions = {
        "IF": lambda condition, yes, no: yes if condition else no,
        "FILL": lambda value, fill: fill if value is None else value,
        "MAX": lambda values: max(values),
    }

    def value(query_id: str) -> Any:
        query = queries[query_id]
        if "MetricStat" in query:
            stat = query["MetricStat"]
            return values.get((stat["Metric"]["MetricName"], stat["Stat"]))
        names = {q: value(q) for q in queries if q != query_id and q in query["Expression"]}
        expression = query["Expression"].replace(" AND ", " and ")
        return eval(expression, {"__builtins__": {}, **functions}, names)  # noqa: S307

    (returned,) = [q["Id"] for q in alarm["Metrics"] if q.get("ReturnData", True)]
    return float(value(returned))


def test_server_error_rate_leaves_out_customers_past_their_own_limit(
    synthesized: Synthesized,
) -> None:
    # An authorizer that raises gets AUTHORIZER_CONFIGURATION_ERROR ("Gateway response
    # types for API Gateway"), a 5XX response (503 here) that AWS/ApiGateway counts in
    # 5XXError ("Amazon API Gateway dimensions and metrics"). The authorizer raises for a
    # customer past their own share of Opower (Auth_limited): their limit, not a failure.
    alarm = _alarm(synthesized.raw, "ServerErrorRate")
    threshold = alarm["Threshold"]

    def rate(requests: float, errors: float, limited: float) -> float:
        return _alarm_value(
            alarm,
            {("Count", "Sum"): requests, ("5XXError", "Sum"): errors,
             ("Auth_limited", "Sum"): limited},
        )  # fmt: skip

    assert rate(100, 40, 40) < threshold  # every 503 a customer's own limit
    assert rate(100, 40, 0) >= threshold
    assert rate(100, 40, 30) >= threshold  # ten real errors in a hundred
    assert rate(10, 5, 0) < threshold  # too few requests to judge


def test_latency_p99_needs_enough_requests_to_be_a_percentile(synthesized: Synthesized) -> None:
    # "Percentile-based alarms and low data samples": a p99 is statistically significant
    # from 10/(1-0.99) = 1000 data points in the period; below that one slow request is
    # the p99. The alarm counts the period's requests (SampleCount) first.
    alarm = _alarm(synthesized.raw, "LatencyP99")
    threshold = alarm["Threshold"]

    def p99(samples: float, latency_ms: float) -> float:
        return _alarm_value(
            alarm, {("Latency", "p99"): latency_ms, ("Latency", "SampleCount"): samples}
        )

    assert p99(samples=5, latency_ms=9000) < threshold  # one slow request at night
    assert p99(samples=999, latency_ms=9000) < threshold
    assert p99(samples=1000, latency_ms=9000) >= threshold
    assert p99(samples=50_000, latency_ms=800) < threshold


def test_a_request_waf_blocks_is_answered_in_the_envelope_saying_so(
    synthesized: Synthesized,
) -> None:
    # "Gateway response types for API Gateway": WAF_FILTERED is "the gateway response
    # when a request is blocked by AWS WAF"; unset, it falls back to DEFAULT_4XX, whose
    # envelope here would say bad_request and API Gateway's own "Forbidden".
    from local.vtl import render

    responses = _gateway_responses(synthesized.raw)
    blocked = responses["WAF_FILTERED"]

    assert blocked["StatusCode"] == "403"
    body = json.loads(
        render(blocked["ResponseTemplates"]["application/json"], {"requestId": "r-1"})
    )
    assert body["error"]["code"] == "request_blocked"
    assert "firewall" in body["error"]["message"]
    assert body["error"]["requestId"] == "r-1"
    assert blocked["ResponseParameters"]["gatewayresponse.header.Cache-Control"] == (
        "'private, no-store'"
    )
