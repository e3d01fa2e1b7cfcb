"""AWS's documented quotas (infra/quotas.py, each with the page that states it), checked on
the synthesized template in every configuration a utility may deploy: the defaults; every
option on (alarm e-mail, CORS, the service API with principals, an identity provider with
long URLs, introspection); a group of 12 companies with 10 service principals. A
configuration over a quota stops at `cdk synth` in one line (#35).

Every value CloudFormation fills in at deploy (ARNs, generated names, the region) is taken
at its longest (quotas.Resolver), so a pass here holds in any account and region."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import quotas
from infra.app import create_app
from tests.infrastructure.conftest import ROOT, SKIP_BUNDLING

pytestmark = pytest.mark.infrastructure

LONG_IDP = (
    "https://login.a-very-long-utility-holding-company-name.example.com/realms/"
    "customer-portal-production"
)
PRINCIPALS = [
    f"arn:aws:iam::123456789012:role/opower-gateway-workload-number-{i:02d}-production"
    for i in range(10)
]
EVERY_OPTION: dict[str, Any] = {
    "utility_code": "ABCD",
    "auth_issuer": LONG_IDP + "/",
    "auth_audience": ["opower-gateway-customer-portal-production", "opower-gateway-mobile-app"],
    "auth_jwks_url": LONG_IDP + "/protocol/openid-connect/certs",
    "auth_userinfo_url": LONG_IDP + "/protocol/openid-connect/userinfo",
    "auth_claims_from": "userinfo",
    "alarm_email": "platform-oncall@a-very-long-utility-holding-company-name.example.com",
    "cors_allow_origins": [
        "https://portal.a-very-long-utility-holding-company-name.example.com",
        "https://app.a-very-long-utility-holding-company-name.example.com",
    ],
    "service_principals": PRINCIPALS,
    "designated_claim": "designatedForOpower",
    "waf_logging_enabled": True,
    # the day's curve at its longest: 24 weights of many digits
    "budget_day_curve": [123456.789 + i for i in range(24)],
    "budget_day_start_s": 86_399,
}
GROUP: dict[str, Any] = {
    **{k: v for k, v in EVERY_OPTION.items() if k != "utility_code"},
    "companies": [
        {
            "utility_code": f"C{i:02d}",
            "budget_per_second": 18,
            "budget_per_day": 90_000,
            "opower_base_url": "https://cxapi-stage.opower.com",
            "designated_customers_max": 250_000,
        }
        for i in range(12)
    ],
}
CONFIGURATIONS = {"default": {}, "every option": EVERY_OPTION, "12 companies": GROUP}


def synthesized_template(gateway: dict[str, Any], tmp: Path) -> tuple[dict[str, Any], str]:
    context: dict[str, Any] = dict(SKIP_BUNDLING)
    if gateway:
        context["gateway"] = gateway
    app, stack = create_app(context=context, outdir=str(tmp))
    app.synth()
    return json.loads((tmp / stack.template_file).read_text()), stack.stack_name


OUTDIRS: dict[str, Path] = {}


@pytest.fixture(scope="module", params=list(CONFIGURATIONS))
def measured(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, list[quotas.Measure], dict[str, Any]]:
    name = request.param
    OUTDIRS[name] = tmp_path_factory.mktemp("quota")
    template, stack_name = synthesized_template(CONFIGURATIONS[name], OUTDIRS[name])
    found = quotas.measure(template, stack_name=stack_name, assets=OUTDIRS[name])
    return name, found, template


def test_every_configuration_is_within_every_quota(
    measured: tuple[str, list[quotas.Measure], dict[str, Any]],
) -> None:
    name, found, _ = measured
    assert [m.line() for m in found if m.over] == [], name
    # and every quota the template touches was measured
    touched = {m.quota for m in found}
    expected = set(quotas.QUOTAS) - {
        quotas.LAMBDA_NAME, quotas.IAM_MANAGED, quotas.IAM_ROLE_NAME,  # no names given
    }  # fmt: skip
    # an SNS topic policy exists only with the alarm topic, a named log group with WAF
    # logging or API Gateway's execution logs
    assert expected - touched <= {quotas.SNS_POLICY, quotas.LOG_GROUP_NAME}, name


def test_the_proxys_resource_policy_does_not_grow_with_the_routes(
    measured: tuple[str, list[quotas.Measure], dict[str, Any]],
) -> None:
    # Lambda quotas: "Function resource-based policy: 20 KB". One permission per method
    # (54 methods) came to about 26 KB as Lambda stores it, and the deploy rolled back.
    _, found, template = measured
    permissions = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"
    ]
    assert len(permissions) == 2  # the API's on the proxy, the authorizer's on the authorizer
    policies = [m for m in found if m.quota is quotas.LAMBDA_POLICY]
    assert len(policies) == 2
    assert all(m.value < 1024 for m in policies)
    proxy = next(r for r in permissions if "authorizers" not in json.dumps(r["Properties"]))
    # scoped to this API's deployed stage, every method and path: in an execute-api ARN
    # "arn:aws:execute-api:*:*:a123456789/*/*/petstorewalkthrough/pets" a * stands for a
    # stage or a method, and a trailing * for the rest of the path (API Gateway, "IAM
    # policy examples for API execution permissions")
    assert json.dumps(proxy["Properties"]["SourceArn"]).endswith('"/prod/*/*"]]}')


def test_the_environment_does_not_grow_with_the_companies(
    measured: tuple[str, list[quotas.Measure], dict[str, Any]],
) -> None:
    # Lambda quotas: "4 KB, for all environment variables associated with the function,
    # in aggregate". Twelve companies' settings and secret ARNs came to about 7.5 KB.
    name, found, template = measured
    environments = [m for m in found if m.quota is quotas.LAMBDA_ENVIRONMENT]
    assert len(environments) >= 2
    # at most 3.5 KB with every option at its longest: a dozen companies add 44 bytes
    assert all(m.value <= 3584 for m in environments), [m.value for m in environments]
    functions = [
        r["Properties"] for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "Environment" in r["Properties"]
        and "TABLE_NAME" in r["Properties"]["Environment"]["Variables"]
    ]  # fmt: skip
    for function in functions:
        variables = function["Environment"]["Variables"]
        assert variables["SERVICE_PRINCIPALS"] == ""  # the resource policy's, not the code's
        if name == "12 companies":
            assert variables["COMPANIES"] == "@/opt/opower-gateway/companies.json"
            assert len(function["Layers"]) == 1
    if name == "12 companies":
        # "When you add a layer to a function, Lambda loads the layer content into the
        # /opt directory" (Lambda developer guide, "Packaging your layer content"): the
        # layer's asset holds opower-gateway/companies.json, every company in it.
        layer = next(
            r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"
        )
        key = json.dumps(layer["Properties"]["Content"]["S3Key"])
        (asset,) = [
            d for d in OUTDIRS[name].glob("asset.*") if d.name.removeprefix("asset.") in key
        ]
        companies = json.loads((asset / "opower-gateway" / "companies.json").read_text())
        assert [c["utility_code"] for c in companies] == [f"C{i:02d}" for i in range(12)]
        for company in companies:
            assert company["opower_secret_id"].endswith(f"/opower/{company['utility_code']}")


def test_the_quota_check_finds_a_policy_per_method() -> None:
    # The template as main had it (#35): one AWS::Lambda::Permission per method.
    resources: dict[str, Any] = {
        "Proxy": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}},
    }
    for i in range(54):
        resources[f"ApiV1MeRoute{i:02d}GETApiPermissionOpowerGatewayApiDB169C9BGETv1me{i:02d}"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Fn::GetAtt": ["Proxy", "Arn"]},
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {"Fn::Join": ["", [
                    "arn:", {"Ref": "AWS::Partition"}, ":execute-api:", {"Ref": "AWS::Region"},
                    ":", {"Ref": "AWS::AccountId"}, ":", {"Ref": "Api"},
                    f"/prod/GET/v1/me/some/route/{i:02d}",
                ]]},
            },
        }  # fmt: skip
    over = quotas.over_quota({"Resources": resources}, stack_name="OpowerGateway")
    assert [m.quota for m in over] == [quotas.LAMBDA_POLICY]
    assert over[0].value > 20 * 1024
    assert "gettingstarted-limits.html" in over[0].line()


def test_a_configuration_over_a_quota_stops_at_synth_in_one_line(tmp_path: Path) -> None:
    # API Gateway quotas: "Length, in characters, of API Gateway resource policy: 8192".
    many = [f"arn:aws:iam::123456789012:role/workload-{i:03d}-of-the-utility" for i in range(80)]
    env = dict(os.environ)
    env["CDK_OUTDIR"] = str(tmp_path)
    env["CDK_CONTEXT_JSON"] = json.dumps({**SKIP_BUNDLING, "service_principals": many})

    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("Invalid gateway configuration: Api")
    assert "API Gateway REST API resource policy would be" in lines[0]
    assert "over AWS's quota of 8,192" in lines[0]
    assert "service_principals" in lines[0]
    assert "api-gateway-execution-service-limits-table.html" in lines[0]


def test_a_package_over_250_mb_with_its_layers_is_found(tmp_path: Path) -> None:
    # Lambda quotas: "250 MB ... including layers and custom runtimes (unzipped)"; `make
    # synth` measures the asset it built (make test runs it), this the arithmetic.
    code, layer = tmp_path / "asset.code", tmp_path / "asset.layer"
    code.mkdir()
    layer.mkdir()
    with (code / "big.bin").open("wb") as file:
        file.truncate(200 * 1000 * 1000)  # sparse: no disk used
    with (layer / "config.bin").open("wb") as file:
        file.truncate(60 * 1000 * 1000)
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Metadata": {"aws:asset:path": "asset.code"},
                "Properties": {"Layers": [{"Ref": "Layer"}]},
            },
            "Layer": {
                "Type": "AWS::Lambda::LayerVersion",
                "Metadata": {"aws:asset:path": "asset.layer"},
            },
        }
    }
    over = quotas.over_quota(template, stack_name="S", assets=tmp_path)
    assert [(m.quota, m.where, m.value) for m in over] == [
        (quotas.LAMBDA_PACKAGE, "Fn", 260 * 1000 * 1000)
    ]


def test_more_companies_than_500_resources_hold_stop_at_synth_in_one_line(tmp_path: Path) -> None:
    # "CloudFormation quotas": 500 resources a stack; CDK refuses past it, and the app says
    # so in one line. 80 companies fit (docs/companies.md), 84 do not.
    group = {**GROUP, "companies": [
        {**GROUP["companies"][0], "utility_code": f"C{i:02d}"} for i in range(84)
    ]}  # fmt: skip
    env = dict(os.environ)
    env["CDK_OUTDIR"] = str(tmp_path)
    env["CDK_CONTEXT_JSON"] = json.dumps({**SKIP_BUNDLING, "gateway": group})

    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=180, check=False,
    )  # fmt: skip

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("Invalid gateway configuration: OpowerGateway: CloudFormation ")
    assert re.search(r"resources per stack would be 51\d resources, over AWS's quota of 500",
                     lines[0])  # fmt: skip
    assert "cloudformation-limits.html" in lines[0]
    assert "fewer companies" in lines[0]
