"""GatewayConfig: context object, flat `-c` overrides, validation naming the setting."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs

from gateway.settings import RuntimeSettings
from infra.app import cdk_json_context, create_app
from infra.config import (
    STACK_FILLED_RUNTIME_SETTINGS,
    GatewayConfig,
    GatewayConfigError,
    deploy_field_names,
    runtime_field_names,
)

pytestmark = pytest.mark.infrastructure

VALID = {
    "utility_code": "ABC",
    "auth_issuer": "https://idp.example.org/",
    "auth_audience": "gateway",
    "auth_jwks_url": "https://idp.example.org/jwks.json",
}
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:introspection-AbCdEf"


def _config(**overrides: Any) -> GatewayConfig:
    return GatewayConfig.from_mapping({**VALID, **overrides})


def test_cdk_json_defaults_validate() -> None:
    config = GatewayConfig.from_mapping(cdk_json_context()["gateway"])

    assert config.runtime.utility_code == "UTX"
    assert config.runtime.opower_base_url == "https://cxapi.opower.com"
    assert config.waf_enabled is True
    assert (config.throttle_rate_limit, config.throttle_burst_limit) == (1000, 2000)
    assert config.stack_name == config.service == "OpowerGateway"
    assert config.cdk_removal_policy == cdk.RemovalPolicy.DESTROY
    assert config.retention == logs.RetentionDays.ONE_MONTH


def test_flat_context_strings_override_the_gateway_object() -> None:
    app = cdk.App(
        context={
            "gateway": {**VALID, "throttle_rate_limit": 20},
            "throttle_rate_limit": "10",
            "throttle_burst_limit": "15",
            "waf_enabled": "false",
            "auth_algorithms": "ES256",
            "binding_ttl_s": "60",
        }
    )

    config = GatewayConfig.from_node(app.node)

    assert config.throttle_rate_limit == 10
    assert config.throttle_burst_limit == 15
    assert config.waf_enabled is False
    assert config.runtime.auth_algorithms == ("ES256",)
    assert config.runtime.binding_ttl_s == 60


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"proxy_timeout_s": "29"}, "proxy_timeout_s"),
        ({"authorizer_timeout_s": 0}, "authorizer_timeout_s"),
        ({"log_retention_days": "31"}, "log_retention_days"),
        ({"removal_policy": "keep"}, "removal_policy"),
        ({"waf_enabled": "maybe"}, "waf_enabled"),
        ({"waf_rate_limit_per_5min": "5"}, "waf_rate_limit_per_5min"),
        ({"throttle_burst_limit": "10"}, "throttle_burst_limit"),
        ({"lambda_memory_mb": "64"}, "lambda_memory_mb"),
        ({"lambda_memory_mb": "lots"}, "lambda_memory_mb"),
        ({"stage_name": "my stage"}, "stage_name"),
        ({"alarm_email": "nobody"}, "alarm_email"),
        ({"opower_secret_arn": "my-secret"}, "opower_secret_arn"),
        # a partial ARN (no six-character suffix) matches no IAM resource of the secret
        (
            {"opower_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:opower"},
            "opower_secret_arn",
        ),
        ({"opower_secret_kms_key_arn": "alias/mine"}, "opower_secret_kms_key_arn"),
        (
            {"opower_secret_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/abc"},
            "opower_secret_kms_key_arn",
        ),
        ({"stack_name": "1stack"}, "stack_name"),
        ({"throttle_rate_limit": "20000"}, "throttle_rate_limit"),
        ({"system_log_level": "WARNING"}, "system_log_level"),
        ({"api_gateway_account_role": "always"}, "api_gateway_account_role"),
        ({"waf_rate_limit_per_session_per_5min": "5"}, "waf_rate_limit_per_session_per_5min"),
        ({"opower_secret_arn": SECRET_ARN, "opower_secret_name": "x"}, "opower_secret_arn"),
        ({"utility_code": "U T X"}, "UTILITY_CODE"),
        ({"utility_code": ""}, "UTILITY_CODE"),
        ({"auth_mode": "basic"}, "AUTH_MODE"),
        ({"auth_jwks_url": "http://idp.example.org/jwks"}, "AUTH_JWKS_URL"),
        ({"opower_base_url": "https://cxapi.opower.com/apis"}, "OPOWER_BASE_URL"),
        ({"authorizer_cache_ttl_s": "7200"}, "AUTHORIZER_CACHE_TTL_S"),
        ({"table_name": "mine"}, "table_name"),
        ({"opower_secret_id": "mine"}, "opower_secret_id"),
        ({"auth_mode": "introspection"}, "AUTH_INTROSPECTION_URL"),
        (
            {"auth_mode": "introspection", "auth_introspection_url": "https://idp.example.org/i"},
            "introspection_secret_arn",
        ),
        ({"no_such_setting": "1"}, "no_such_setting"),
    ],
)
def test_an_invalid_value_fails_naming_the_setting(overrides: dict[str, Any], named: str) -> None:
    with pytest.raises(GatewayConfigError, match=named):
        _config(**overrides)


def test_create_app_fails_on_an_invalid_flat_override() -> None:
    with pytest.raises(GatewayConfigError, match="log_retention_days"):
        create_app(context={"log_retention_days": "8"})


def test_deploy_fields_never_shadow_runtime_settings() -> None:
    assert not set(deploy_field_names()) & set(runtime_field_names())
    assert set(STACK_FILLED_RUNTIME_SETTINGS) <= set(runtime_field_names())


def test_lambda_environment_holds_every_runtime_setting_and_the_stack_resources() -> None:
    env = _config().lambda_environment(
        table_name="t", kms_key_id="k", opower_secret_id="s", introspection_secret_id="i"
    )

    assert set(RuntimeSettings().to_env()) <= set(env)
    assert (env["TABLE_NAME"], env["KMS_KEY_ID"], env["OPOWER_SECRET_ID"]) == ("t", "k", "s")
    assert env["AUTH_INTROSPECTION_SECRET_ID"] == "i"
    assert {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
    } <= set(env)


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _config().waf_enabled = False  # type: ignore[misc]


def test_introspection_secret_and_imported_opower_secret_are_granted_to_the_right_roles() -> None:
    opower_arn = SECRET_ARN.replace("introspection", "opower")
    _, stack = create_app(
        context={
            "aws:cdk:bundling-stacks": [],
            "auth_mode": "introspection",
            "auth_introspection_url": "https://idp.example.org/introspect",
            "introspection_secret_arn": SECRET_ARN,
            "opower_secret_arn": opower_arn,
            "waf_enabled": "false",
        }
    )

    def secrets_of(fn: Any) -> list[str]:
        policy = fn.role.node.find_child("DefaultPolicy")
        document = stack.resolve(policy.document.to_json())
        return [
            s["Resource"]
            for s in document["Statement"]
            if s["Action"] == "secretsmanager:GetSecretValue"
        ]

    def flat(resources: list[Any]) -> set[str]:
        return {
            json.dumps(r)
            for item in resources
            for r in (item if isinstance(item, list) else [item])
        }

    key = stack.resolve(stack.customer_key.secret_arn)  # the key of customers' names
    assert flat(secrets_of(stack.functions.authorizer)) == flat([key, opower_arn, SECRET_ARN])
    assert flat(secrets_of(stack.functions.proxy)) == flat([key, opower_arn])
    assert stack.credentials.created is False
    assert stack.waf is None


GROUP = {
    **{k: v for k, v in VALID.items() if k != "utility_code"},
    "companies": [
        {"utility_code": "NRTH", "opower_secret_arn": SECRET_ARN.replace("introspection", "n")},
        {
            "utility_code": "STH",
            "budget_per_second": 9,
            "opower_base_url": "https://cxapi-stage.opower.com",
        },
    ],
}


def test_a_group_of_companies_is_configured_with_a_secret_each() -> None:
    config = GatewayConfig.from_mapping(GROUP)

    assert [c.utility_code for c in config.runtime.company_list()] == ["NRTH", "STH"]
    assert config.is_group
    assert config.secrets()[0].secret_arn.endswith("n-AbCdEf")
    assert config.secrets()[1].secret_arn == ""  # created by the stack
    assert config.runtime.company_list()[1].budget_per_second == 9


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"companies": [{"utility_code": "N R"}]}, "companies[0]"),
        ({"companies": [{"utility_code": "AB"}, {"utility_code": "AB"}]}, "twice"),
        ({"companies": [{"utility_code": "AB", "opower_secret_arn": "x"}]},
         "companies[0] (AB).opower_secret_arn"),
        ({"companies": [{"utility_code": "AB", "budget_per_day": -1}]}, "companies[0] (AB)"),
        ({"companies": [{"utility_code": "AB", "opower_secret_id": "s"}]}, "by the stack"),
        ({"utility_code": "ABC"}, "UTILITY_CODE and COMPANIES"),
        ({"opower_secret_name": "x"}, "opower_secret_name"),
    ],
)  # fmt: skip
def test_a_group_error_names_the_company_and_setting(change: dict[str, Any], named: str) -> None:
    with pytest.raises(GatewayConfigError, match=re.escape(named)):
        GatewayConfig.from_mapping({**GROUP, **change})


def test_a_group_stack_has_a_secret_per_company_granted_to_both_functions() -> None:
    import json

    from aws_cdk.assertions import Template

    _, stack = create_app(context={"aws:cdk:bundling-stacks": [], "gateway": GROUP})
    raw = Template.from_stack(stack).to_json()

    secrets = [
        k
        for k, v in raw["Resources"].items()
        if v["Type"] == "AWS::SecretsManager::Secret" and not k.startswith("CustomerKey")
    ]
    assert len(secrets) == 1  # NRTH's is imported, STH's created (besides the CustomerKey)
    assert {"OpowerSecretArnNRTH", "OpowerSecretArnSTH", "FillOpowerSecretSTH"} <= set(
        raw["Outputs"]
    )
    for fn in (stack.functions.proxy, stack.functions.authorizer):
        document = json.dumps(
            stack.resolve(fn.role.node.find_child("DefaultPolicy").document.to_json())
        )
        assert "n-AbCdEf" in document
        assert secrets[0] in document
        env = raw["Resources"][stack.get_logical_id(fn.function.node.default_child)]["Properties"][
            "Environment"
        ]["Variables"]
        # The companies are in the configuration layer's file, each secret by a name or
        # ARN known at synthesis: Lambda's environment holds 4 KB (infra/quotas.py).
        assert env["COMPANIES"] == "@/opt/opower-gateway/companies.json"
        assert env["UTILITY_CODE"] == ""
    companies = json.loads(stack.functions.files["companies.json"])
    assert [c["utility_code"] for c in companies] == ["NRTH", "STH"]
    assert companies[0]["opower_secret_id"].endswith("n-AbCdEf")
    assert companies[1]["opower_secret_id"] == f"{stack.stack_name}/opower/STH"
    assert raw["Resources"][secrets[0]]["Properties"]["Name"] == f"{stack.stack_name}/opower/STH"
    layers = [k for k, v in raw["Resources"].items() if v["Type"] == "AWS::Lambda::LayerVersion"]
    assert len(layers) == 1


DEPLOYABLE = {
    "auth_issuer": "https://login.utility.com/",
    "auth_audience": "gateway",
    "auth_jwks_url": "https://login.utility.com/jwks.json",
    "deploy": True,
}


@pytest.mark.parametrize(
    ("company", "named"),
    [
        ({"utility_code": "UTX"}, "companies[1].utility_code"),
        ({"utility_code": "UTY"}, "companies[1].utility_code"),
        ({"utility_code": "WST", "opower_base_url": "https://opower.example.com"},
         "companies[1].opower_base_url"),
    ],
)  # fmt: skip
def test_a_deployment_refuses_a_companys_placeholder(company: dict[str, Any], named: str) -> None:
    """cdk.json's placeholder code (UTX) and the sandbox's (UTX, UTY: `make dev`'s group)
    are refused under deploy=true in companies as at the top level."""
    group = {**DEPLOYABLE, "companies": [{"utility_code": "NRTH"}, company]}
    with pytest.raises(GatewayConfigError, match=re.escape(named)):
        GatewayConfig.from_mapping(group)

    assert GatewayConfig.from_mapping({**group, "deploy": False}).placeholders()
    real = {**group, "companies": [{"utility_code": "NRTH"}, {"utility_code": "STH"}]}
    assert GatewayConfig.from_mapping(real).placeholders() == []


def test_each_capped_company_has_an_alarm_at_80_percent_of_its_designated_customers() -> None:
    """designated_customers_max: the gateway's for every company, a company's own wins; 0
    (the default) no cap and no alarm. The gauge is the count each container reports when
    it counts or refuses a customer (gateway.designated): quiet hours keep the state."""
    from aws_cdk.assertions import Template

    group = {
        **GROUP,
        "designated_customers_max": 1000,
        "companies": [
            {**GROUP["companies"][0], "designated_customers_max": 250},
            GROUP["companies"][1],
        ],
    }
    _, stack = create_app(context={"aws:cdk:bundling-stacks": [], "gateway": group})
    alarms = {
        name: r["Properties"]
        for name, r in Template.from_stack(stack).to_json()["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm" and "DesignatedCustomers" in name
    }

    by_company = {
        next(d["Value"] for d in a["Dimensions"] if d["Name"] == "utility"): a
        for a in alarms.values()
    }
    assert {code: a["Threshold"] for code, a in by_company.items()} == {"NRTH": 200, "STH": 800}
    for alarm in by_company.values():
        assert alarm["MetricName"] == "DesignatedCustomers"
        assert alarm["Statistic"] == "Maximum"
        assert alarm["TreatMissingData"] == "ignore"
    env = GatewayConfig.from_mapping(group).runtime
    assert [c.designated_customers_max for c in env.company_list()] == [250, 1000]
    _, uncapped = create_app(context={"aws:cdk:bundling-stacks": [], "gateway": GROUP})
    assert not any(
        "DesignatedCustomers" in name
        for name in Template.from_stack(uncapped).find_resources("AWS::CloudWatch::Alarm")
    )
