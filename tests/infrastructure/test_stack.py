"""The synthesized template: resources, least-privilege roles, encryption, limits, nag."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from gateway.api_responses import GATEWAY_RESPONSES, MOCK_MEDIA_TYPES, catch_alls
from gateway.routes import ROUTES, service_path
from gateway.settings import RuntimeSettings
from infra.api import OPENAPI_PATH
from infra.app import cdk_json_context, create_app
from infra.functions import ARCHITECTURE, AUTHORIZER_HANDLER, PROXY_HANDLER, RUNTIME
from infra.token_store import (
    CACHE_READ_WRITE_ACTIONS,
    CACHE_SEED_ACTIONS,
    KEY_ACTIONS,
    TABLE_ACTIONS,
)
from infra.waf import (
    MANAGED_RULE_GROUPS,
    NO_USER_AGENT_RULE,
    RATE_RULE_NAME,
    SESSION_RATE_RULE_NAME,
)
from tests.infrastructure.conftest import SKIP_BUNDLING, Synthesized

pytestmark = pytest.mark.infrastructure

# Sorted: with @aws-cdk/aws-iam:minimizePolicies, CDK merges and sorts statements' actions.
XRAY_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]


def _resources(s: Synthesized, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in s.raw["Resources"].items() if v["Type"] == kind}


def _api_paths(s: Synthesized) -> dict[str, str]:
    """Logical id of each AWS::ApiGateway::Resource (and of the root) -> its full path."""
    resources = _resources(s, "AWS::ApiGateway::Resource")
    api_id = s.logical_id(s.stack.api.api)
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
            paths[logical_id] = f"{prefix}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    paths[api_id] = "/"
    return paths


def _methods(s: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    paths = _api_paths(s)
    methods = {}
    for method in _resources(s, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"]
        logical_id = resource["Ref"] if "Ref" in resource else resource["Fn::GetAtt"][0]
        methods[(paths[logical_id], props["HttpMethod"])] = props
    return methods


def test_resource_counts(synthesized: Synthesized) -> None:
    t = synthesized.template
    # the proxy, the authorizer and the account-role custom resource's function
    t.resource_count_is("AWS::Lambda::Function", 3)
    # their three roles: API Gateway's account role is made by that function, only where
    # the account names none (test_aws_behavior.py)
    t.resource_count_is("AWS::IAM::Role", 3)
    t.resource_count_is("AWS::DynamoDB::Table", 2)  # token store, response cache
    t.resource_count_is("AWS::KMS::Key", 1)
    t.resource_count_is("AWS::SecretsManager::Secret", 2)  # Opower's client, CustomerKey
    t.resource_count_is("AWS::ApiGateway::RestApi", 1)
    t.resource_count_is("AWS::ApiGateway::Stage", 1)
    t.resource_count_is("AWS::ApiGateway::Authorizer", 1)
    t.resource_count_is("AWS::ApiGateway::GatewayResponse", len(GATEWAY_RESPONSES))
    t.resource_count_is("AWS::WAFv2::WebACL", 1)
    t.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)
    t.resource_count_is("AWS::WAFv2::LoggingConfiguration", 1)
    # proxy, authorizer, custom resource, access log, execution log, WAF log
    t.resource_count_is("AWS::Logs::LogGroup", 6)
    t.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    # ... OptionalScreensShed, ReservesSpent and DailyQuota
    t.resource_count_is("AWS::CloudWatch::Alarm", 13)
    t.resource_count_is("AWS::SNS::Topic", 0)  # only with alarm_topic_enabled / alarm_email


def test_every_route_and_method_of_the_route_table_is_behind_the_authorizer(
    synthesized: Synthesized,
) -> None:
    methods = _methods(synthesized)
    authorizer = synthesized.logical_id(synthesized.stack.api.authorizer)
    proxy = synthesized.logical_id(synthesized.stack.functions.proxy.function)
    expected = {(route.path, m) for route in ROUTES for m in route.methods}

    service = {(service_path(route), m) for route in ROUTES for m in route.methods}

    explicit = {key for key in methods if key[1] != "ANY"}
    assert explicit == expected | service | {(OPENAPI_PATH, "GET")}
    for key in expected:
        props = methods[key]
        assert props["AuthorizationType"] == "CUSTOM", key
        assert props["AuthorizerId"] == {"Ref": authorizer}, key
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert proxy in json.dumps(props["Integration"]["Uri"])
    # The service API: the same routes, AWS IAM (SigV4), the same proxy (gateway.service).
    for key in service:
        props = methods[key]
        assert props["AuthorizationType"] == "AWS_IAM", key
        assert "AuthorizerId" not in props, key
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert proxy in json.dumps(props["Integration"]["Uri"])


def test_every_resource_and_every_other_path_has_a_catch_all_mock(
    synthesized: Synthesized,
) -> None:
    from local.vtl import render

    methods = _methods(synthesized)
    resources = (
        {route.path: route.methods for route in ROUTES}
        | {service_path(route): route.methods for route in ROUTES}
        | {OPENAPI_PATH: ("GET",)}
    )
    expected = {c.path: c for c in catch_alls(resources)}

    # every resource of the API has one, and the greedy path catches every other path
    assert set(_api_paths(synthesized).values()) == set(expected)
    assert {path for path, method in methods if method == "ANY"} == set(expected)
    for path, catch_all in expected.items():
        props = methods[(path, "ANY")]
        integration = props["Integration"]
        assert props["AuthorizationType"] == "NONE"  # no authorizer: no Bearer echo either
        assert integration["Type"] == "MOCK"  # no Lambda runs, nothing billed
        assert integration["PassthroughBehavior"] == "NEVER"  # 415, not a MOCK's 500
        assert set(integration["RequestTemplates"]) == set(MOCK_MEDIA_TYPES)
        answer = integration["IntegrationResponses"][0]
        assert answer["StatusCode"] == str(catch_all.status)
        body = json.loads(
            render(answer["ResponseTemplates"]["application/json"], {"requestId": "r"})
        )
        assert body == {
            "error": {"code": catch_all.code, "message": catch_all.message, "requestId": "r"}
        }
        if catch_all.status == 405:
            assert answer["ResponseParameters"]["method.response.header.Allow"] == (
                "'" + ", ".join(resources[path]) + "'"
            )


def test_the_openapi_document_is_a_mock_integration_rendering_exactly_the_document(
    synthesized: Synthesized,
) -> None:
    from gateway.proxy import openapi as document
    from local.vtl import render

    method = _methods(synthesized)[(OPENAPI_PATH, "GET")]
    integration = method["Integration"]

    assert method["AuthorizationType"] == "NONE"
    assert integration["Type"] == "MOCK"  # no Lambda runs for it
    template = integration["IntegrationResponses"][0]["ResponseTemplates"]["application/json"]
    # API Gateway runs the template through Velocity; rendered, it is the document.
    assert json.loads(render(template)) == document.document()
    headers = integration["IntegrationResponses"][0]["ResponseParameters"]
    assert headers["method.response.header.Cache-Control"] == "'private, no-store'"


def test_required_query_parameters_come_from_the_route_table(synthesized: Synthesized) -> None:
    methods = _methods(synthesized)
    usage = next(r for r in ROUTES if r.name == "usage")

    params = methods[(usage.path, "GET")]["RequestParameters"]

    assert params["method.request.querystring.start"] is True
    assert params["method.request.path.resolution"] is True


def test_authorizer_reads_the_authorization_header_and_caches_per_runtime_setting(
    synthesized: Synthesized,
) -> None:
    synthesized.template.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "REQUEST",
            "IdentitySource": "method.request.header.Authorization",
            "AuthorizerResultTtlInSeconds": synthesized.stack.config.runtime.authorizer_cache_ttl_s,
        },
    )


def _policy_statements(s: Synthesized, role: Any) -> list[dict[str, Any]]:
    role_id = s.logical_id(role)
    policies = [
        p["Properties"]
        for p in _resources(s, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    assert len(policies) == 1
    statements: list[dict[str, Any]] = policies[0]["PolicyDocument"]["Statement"]
    return statements


@pytest.mark.parametrize("function", ["authorizer", "proxy"])
def test_each_role_holds_exactly_what_its_function_needs(
    synthesized: Synthesized, function: str
) -> None:
    stack = synthesized.stack
    fn = getattr(stack.functions, function)

    def getatt(construct: Any) -> dict[str, Any]:
        return {"Fn::GetAtt": [synthesized.logical_id(construct), "Arn"]}

    expected = [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": getatt(fn.log_group),
        },
        {"Action": XRAY_ACTIONS, "Effect": "Allow", "Resource": "*"},
        {
            "Action": sorted(TABLE_ACTIONS),
            "Effect": "Allow",
            "Resource": getatt(stack.store.table),
        },
        {"Action": sorted(KEY_ACTIONS), "Effect": "Allow", "Resource": getatt(stack.store.key)},
        # The response cache: the proxy reads, writes and invalidates; the authorizer puts
        # the accounts answer of a binding it looked up, or deletes it when too large
        # (test_grants.py checks these against the calls the code makes).
        {
            "Action": sorted(CACHE_SEED_ACTIONS)
            if function == "authorizer"
            else sorted(CACHE_READ_WRITE_ACTIONS),
            "Effect": "Allow",
            "Resource": getatt(stack.store.cache_table),
        },
        # Opower's client, and the key of customers' names (gateway.customer_keys).
        {
            "Action": "secretsmanager:GetSecretValue",
            "Effect": "Allow",
            "Resource": sorted(
                [
                    {"Ref": synthesized.logical_id(stack.customer_key)},
                    {"Ref": synthesized.logical_id(stack.credentials.node.find_child("Secret"))},
                ],
                key=json.dumps,
            ),
        },
    ]

    assert sorted(_policy_statements(synthesized, fn.role), key=json.dumps) == sorted(
        expected, key=json.dumps
    )
    role = synthesized.raw["Resources"][synthesized.logical_id(fn.role)]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role


def test_the_only_wildcard_resource_is_x_ray_which_requires_it(synthesized: Synthesized) -> None:
    for policy in _resources(synthesized, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Resource"] == "*":
                assert sorted(statement["Action"]) == XRAY_ACTIONS
            assert "*" not in json.dumps(statement["Action"])


def test_the_cache_table_is_per_customer_with_ttl_and_encrypted_with_the_stacks_key(
    synthesized: Synthesized,
) -> None:
    """The shared tier of the response cache: partition per customer, sort key per request,
    TTL, encrypted at rest with the stack's customer-managed key (DynamoDB caches the table
    key it derives from it, so reads are no KMS call of the functions: "How Amazon DynamoDB
    uses AWS KMS", https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html)."""
    key_id = synthesized.logical_id(synthesized.stack.store.key)
    synthesized.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            },
        },
    )
    env = synthesized.template.find_resources("AWS::Lambda::Function")
    names = {
        json.dumps(r["Properties"]["Environment"]["Variables"].get("CACHE_TABLE_NAME"))
        for r in env.values()
        if "Environment" in r["Properties"]
    }
    assert json.dumps({"Ref": synthesized.logical_id(synthesized.stack.store.cache_table)}) in names


def test_the_daily_quota_alarm_fires_before_the_days_budget_is_spent(
    synthesized: Synthesized,
) -> None:
    synthesized.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "OpowerCallsToday",
            "Statistic": "Maximum",
            "Threshold": 79_200,  # 80 % of budget_per_day (99,000)
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            # A gauge sent on each reservation: a quiet period keeps the alarm's state
            # ("Configuring how CloudWatch alarms treat missing data": ignore, the current
            # alarm state is maintained; PutMetricAlarm TreatMissingData).
            "TreatMissingData": "ignore",
        },
    )
    dashboard = json.dumps(synthesized.template.find_resources("AWS::CloudWatch::Dashboard"))
    for name in ("Cache_bill_forecast_Stale", "Cache_threshold_Invalidated", "CacheHitShared"):
        assert name in dashboard


def test_table_is_keyed_by_pk_on_demand_with_ttl_and_encrypted_with_the_rotating_cmk(
    synthesized: Synthesized,
) -> None:
    key_id = synthesized.logical_id(synthesized.stack.store.key)
    synthesized.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            },
        },
    )
    synthesized.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_default_removal_policy_destroys_the_cache_resources(synthesized: Synthesized) -> None:
    for kind in ("AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::SecretsManager::Secret"):
        synthesized.template.has_resource(kind, {"DeletionPolicy": "Delete"})


@pytest.mark.parametrize(("policy", "deletion"), [("destroy", "Delete"), ("retain", "Retain")])
def test_every_key_follows_the_removal_policy_the_alarm_topics_too(
    policy: str, deletion: str
) -> None:
    # The alarm topic's key was kept whatever removal_policy said (#35): a destroyed
    # stack left a key billed at $1 a month.
    gateway = {**cdk_json_context()["gateway"], "alarm_email": "oncall@example.com",
               "removal_policy": policy}  # fmt: skip
    _, stack = create_app(context={**SKIP_BUNDLING, "gateway": gateway})
    keys = Template.from_stack(stack).find_resources("AWS::KMS::Key")
    assert len(keys) == 2  # the token store's and the alarm topic's
    assert {k["DeletionPolicy"] for k in keys.values()} == {deletion}


def test_created_secret_has_no_value_in_the_template(synthesized: Synthesized) -> None:
    secret = next(iter(_resources(synthesized, "AWS::SecretsManager::Secret").values()))

    assert "SecretString" not in secret["Properties"]
    assert "GenerateSecretString" not in secret["Properties"]
    fill = synthesized.raw["Outputs"]["FillOpowerSecret"]["Value"]
    assert "put-secret-value" in json.dumps(fill)


def test_stage_throttling_tracing_and_json_access_logs(synthesized: Synthesized) -> None:
    config = synthesized.stack.config
    logs_id = synthesized.logical_id(synthesized.stack.api.access_logs)
    synthesized.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": config.stage_name,
            "TracingEnabled": True,
            "MethodSettings": [
                Match.object_like(
                    {
                        "HttpMethod": "*",
                        "ResourcePath": "/*",
                        "ThrottlingRateLimit": config.throttle_rate_limit,
                        "ThrottlingBurstLimit": config.throttle_burst_limit,
                        "LoggingLevel": "ERROR",
                        "DataTraceEnabled": False,
                    }
                )
            ],
            "AccessLogSetting": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp(r'^\{"requestId": "\$context.requestId"'),
            },
        },
    )
    stage = next(iter(_resources(synthesized, "AWS::ApiGateway::Stage").values()))
    destination = json.dumps(stage["Properties"]["AccessLogSetting"]["DestinationArn"])
    assert logs_id in destination
    assert ":*" not in destination  # @aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard
    synthesized.template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"EndpointConfiguration": {"Types": ["REGIONAL"]}, "Name": config.stack_name},
    )


def test_gateway_responses_speak_the_error_envelope(synthesized: Synthesized) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in _resources(synthesized, "AWS::ApiGateway::GatewayResponse").values()
    }
    expected_status = {
        "UNAUTHORIZED": "401",
        "ACCESS_DENIED": "403",
        "THROTTLED": "429",
        "UNSUPPORTED_MEDIA_TYPE": "415",
        "REQUEST_TOO_LARGE": "413",
        "AUTHORIZER_FAILURE": "503",
        "INTEGRATION_TIMEOUT": "504",
        "DEFAULT_4XX": None,
        "DEFAULT_5XX": None,
    }
    for kind, status in expected_status.items():
        props = responses[kind]
        assert props.get("StatusCode") == status, kind
        template = props["ResponseTemplates"]["application/json"]
        assert template.startswith('{"error":{"code":"'), kind
        assert '"requestId":"$context.requestId"' in template, kind
    assert (
        '"message":$context.error.messageString'
        in (responses["DEFAULT_4XX"]["ResponseTemplates"]["application/json"])
    )


def test_waf_is_associated_with_the_stage(synthesized: Synthesized) -> None:
    config = synthesized.stack.config
    acl = next(iter(_resources(synthesized, "AWS::WAFv2::WebACL").values()))["Properties"]
    rules = {rule["Name"]: rule for rule in acl["Rules"]}

    assert acl["Scope"] == "REGIONAL"
    assert list(rules) == [
        *MANAGED_RULE_GROUPS,
        NO_USER_AGENT_RULE,
        RATE_RULE_NAME,
        SESSION_RATE_RULE_NAME,
    ]
    # "Baseline rule groups": NoUserAgent_HEADER ("Inspects for requests that are missing
    # the HTTP User-Agent header. Rule action: Block", label ...:NoUserAgent_Header) counts;
    # the next rule blocks what it labels, but on the service API (Step Functions' calls
    # may carry no User-Agent; IAM authenticates them)
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [
        {"Name": "NoUserAgent_HEADER", "ActionToUse": {"Count": {}}}
    ]
    no_agent = rules[NO_USER_AGENT_RULE]
    assert no_agent["Action"] == {"Block": {}}
    first, unless = no_agent["Statement"]["AndStatement"]["Statements"]
    assert first["LabelMatchStatement"] == {
        "Scope": "LABEL",
        "Key": "awswaf:managed:aws:core-rule-set:NoUserAgent_Header",
    }
    path = unless["NotStatement"]["Statement"]["ByteMatchStatement"]
    assert (path["SearchString"], path["PositionalConstraint"]) == ("/v1/service/", "CONTAINS")
    assert [r["Priority"] for r in rules.values()] == list(range(len(rules)))
    per_ip = rules[RATE_RULE_NAME]["Statement"]["RateBasedStatement"]
    assert per_ip == {"AggregateKeyType": "IP", "Limit": config.waf_rate_limit_per_5min}
    per_session = rules[SESSION_RATE_RULE_NAME]["Statement"]["RateBasedStatement"]
    assert per_session["AggregateKeyType"] == "CUSTOM_KEYS"
    assert per_session["Limit"] == config.waf_rate_limit_per_session_per_5min
    assert per_session["CustomKeys"][0]["Header"]["Name"] == "authorization"
    association = next(iter(_resources(synthesized, "AWS::WAFv2::WebACLAssociation").values()))
    stage_id = synthesized.logical_id(synthesized.stack.api.stage)
    assert stage_id in json.dumps(association["Properties"]["ResourceArn"])


def test_every_log_group_has_the_configured_retention(synthesized: Synthesized) -> None:
    days = synthesized.stack.config.log_retention_days
    groups = _resources(synthesized, "AWS::Logs::LogGroup").values()

    assert [g["Properties"].get("RetentionInDays") for g in groups] == [days] * 6


@pytest.mark.parametrize(
    ("function", "handler", "timeout"),
    [
        ("authorizer", AUTHORIZER_HANDLER, "authorizer_timeout_s"),
        ("proxy", PROXY_HANDLER, "proxy_timeout_s"),
    ],
)
def test_functions_runtime_architecture_tracing_and_environment(
    synthesized: Synthesized, function: str, handler: str, timeout: str
) -> None:
    config = synthesized.stack.config
    fn = getattr(synthesized.stack.functions, function)
    props = synthesized.raw["Resources"][synthesized.logical_id(fn.function)]["Properties"]

    assert props["Runtime"] == RUNTIME.name == "python3.14"
    assert props["Architectures"] == [ARCHITECTURE.name] == ["arm64"]
    assert props["Handler"] == handler
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["MemorySize"] == config.lambda_memory_mb
    assert props["Timeout"] == getattr(config, timeout)
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": synthesized.logical_id(fn.log_group)}
    env = props["Environment"]["Variables"]
    assert set(RuntimeSettings().to_env()) <= set(env)
    assert env["POWERTOOLS_SERVICE_NAME"] == config.service == config.stack_name
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == config.metrics_namespace
    # One log level: Lambda's JSON log filter and Powertools agree ("Log-level filtering";
    # Powertools reads AWS_LAMBDA_LOG_LEVEL, which Lambda sets from it, first).
    assert env["POWERTOOLS_LOG_LEVEL"] == config.log_level
    assert "LOG_LEVEL" not in env
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    assert props["LoggingConfig"]["SystemLogLevel"] == config.system_log_level
    assert env["TABLE_NAME"] == {"Ref": synthesized.logical_id(synthesized.stack.store.table)}
    assert env["KMS_KEY_ID"] == {
        "Fn::GetAtt": [synthesized.logical_id(synthesized.stack.store.key), "Arn"]
    }
    assert env["UTILITY_CODE"] == config.runtime.utility_code


def test_proxy_timeout_is_under_api_gateways_integration_limit(synthesized: Synthesized) -> None:
    assert synthesized.stack.config.proxy_timeout_s < 29


def test_outputs(synthesized: Synthesized) -> None:
    assert {"ApiUrl", "OpowerSecretArn", "TableName", "DashboardUrl", "FillOpowerSecret"} <= set(
        synthesized.raw["Outputs"]
    )


def test_alarms_cover_the_failure_modes(synthesized: Synthesized) -> None:
    alarms = json.dumps(list(_resources(synthesized, "AWS::CloudWatch::Alarm").values()))
    for metric in ("5XXError", "TokenFetchFailure", "BudgetShed", "Throttles", "BlockedRequests"):
        assert metric in alarms
    assert '"Stat": "p99"' in alarms  # with its SampleCount (test_aws_behavior.py)


def test_cdk_nag_reports_nothing_unacknowledged(synthesized: Synthesized) -> None:
    violations = [
        v for r in synthesized.validation_report.get("pluginReports", []) for v in r["violations"]
    ]
    assert violations == []
    artifact = synthesized.assembly.get_stack_artifact(synthesized.stack.artifact_id)
    errors = [m for m in artifact.messages if m.level.value == "error"]
    assert errors == []


def test_a_deployed_stack_allows_no_browser_origin_until_configured(
    synthesized: Synthesized,
) -> None:
    """make dev allows local dev servers (local.stack.DEV_SERVER_ORIGINS); cdk.json's
    stack does not: no preflight method, no origin in the functions' settings."""
    assert synthesized.stack.config.runtime.cors_allow_origins == ()
    options = [
        r
        for r in synthesized.raw["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Method" and r["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    assert options == []
    assert "localhost" not in json.dumps(synthesized.raw)
