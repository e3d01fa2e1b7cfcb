"""AWS's documented quotas, checked on the synthesized template.

A template CloudFormation accepts can still fail to deploy: Lambda refuses a permission
that takes a function's resource-based policy past 20 KB, or an environment past 4 KB,
partway through the deploy, which then rolls back. Each quota here is one AWS states, with
the page that states it; :func:`check` measures the template against every one, with
every value CloudFormation fills in at deploy time (an ARN, a generated name, a region)
taken at its longest (:class:`Resolver`), so that what passes here fits in any account
and region. ``infra.app.synthesize`` runs it on every ``cdk synth``: a configuration over
a quota stops there, in one line naming the quota, the setting and what to change.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LAMBDA_QUOTAS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
APIGW_QUOTAS = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
    "api-gateway-execution-service-limits-table.html"
)
IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
CFN_QUOTAS = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html"
)
WAF_QUOTAS = "https://docs.aws.amazon.com/waf/latest/developerguide/aws-waf-capacity-units.html"
KMS_QUOTAS = "https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html"
SNS_QUOTAS = (
    "https://docs.aws.amazon.com/sns/latest/dg/"
    "sns-access-policy-language-api-permissions-reference.html"
)
CLOUDWATCH_QUOTAS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html"
)
LOGS_QUOTAS = (
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"
)


@dataclass(frozen=True)
class Quota:
    name: str
    limit: int
    unit: str
    page: str
    fix: str  # which settings move the measure, and how


LAMBDA_POLICY = Quota(
    "Lambda function resource-based policy", 20 * 1024, "bytes", LAMBDA_QUOTAS,
    "each API method must not add a permission of its own (infra/api.py grants one per API)",
)  # fmt: skip
LAMBDA_ENVIRONMENT = Quota(
    "Lambda environment variables, all together", 4 * 1024, "bytes", LAMBDA_QUOTAS,
    "shorten the longest settings (auth_* URLs, service_principals, cors_allow_origins); "
    "companies are kept in the configuration layer, not the environment",
)  # fmt: skip
LAMBDA_LAYERS = Quota("Lambda layers per function", 5, "layers", LAMBDA_QUOTAS, "remove a layer")
LAMBDA_NAME = Quota("Lambda function name", 64, "characters", LAMBDA_QUOTAS, "a shorter name")
LAMBDA_PACKAGE = Quota(
    "Lambda deployment package, unzipped, with its layers", 250 * 1000 * 1000, "bytes",
    LAMBDA_QUOTAS, "fewer or smaller dependencies in lambdas/requirements.txt",
)  # fmt: skip
APIGW_RESOURCES = Quota(
    "API Gateway resources per REST API", 300, "resources", APIGW_QUOTAS,
    "fewer routes (each route and its service twin are resources)",
)  # fmt: skip
APIGW_POLICY = Quota(
    "API Gateway REST API resource policy", 8192, "characters", APIGW_QUOTAS,
    "list fewer service_principals (tag the workloads' roles with grant_invoke instead)",
)  # fmt: skip
APIGW_AUTHORIZERS = Quota(
    "API Gateway authorizers per REST API", 10, "authorizers", APIGW_QUOTAS, "fewer authorizers"
)
APIGW_TEMPLATE = Quota(
    "API Gateway mapping template", 300 * 1024, "bytes", APIGW_QUOTAS,
    "a smaller OpenAPI document (it is served from a mapping template)",
)  # fmt: skip
IAM_INLINE = Quota(
    "IAM role inline policies, all together", 10_240, "characters (whitespace excluded)",
    IAM_QUOTAS, "fewer companies' secrets or introspection secrets granted to one role",
)  # fmt: skip
IAM_MANAGED = Quota(
    "IAM managed policy", 6_144, "characters (whitespace excluded)", IAM_QUOTAS,
    "split the policy",
)  # fmt: skip
IAM_TRUST = Quota(
    "IAM role trust policy", 2_048, "characters (whitespace excluded)", IAM_QUOTAS,
    "fewer principals trusted by one role",
)  # fmt: skip
IAM_MANAGED_PER_ROLE = Quota(
    "IAM managed policies attached to a role", 10, "policies", IAM_QUOTAS,
    "attach fewer managed policies",
)  # fmt: skip
IAM_ROLE_NAME = Quota("IAM role name", 64, "characters", IAM_QUOTAS, "a shorter role name")
CFN_RESOURCES = Quota(
    "CloudFormation resources per stack", 500, "resources", CFN_QUOTAS,
    "fewer companies (each adds a secret, alarms and grants) or routes",
)  # fmt: skip
CFN_OUTPUTS = Quota(
    "CloudFormation outputs per stack", 200, "outputs", CFN_QUOTAS, "fewer companies"
)
CFN_PARAMETERS = Quota(
    "CloudFormation parameters per stack", 200, "parameters", CFN_QUOTAS, "fewer parameters"
)
CFN_TEMPLATE = Quota(
    "CloudFormation template body (uploaded to S3)", 1024 * 1024, "bytes", CFN_QUOTAS,
    "fewer companies or routes",
)  # fmt: skip
CFN_LOGICAL_ID = Quota(
    "CloudFormation logical id", 255, "characters", CFN_QUOTAS, "a shorter construct id"
)
WAF_CAPACITY = Quota(
    "AWS WAF web ACL capacity", 5_000, "WCUs", WAF_QUOTAS, "fewer or simpler WAF rules"
)
KMS_POLICY = Quota(
    "AWS KMS key policy", 32 * 1024, "bytes", KMS_QUOTAS, "fewer principals in the key policy"
)
SNS_POLICY = Quota("Amazon SNS topic policy", 30 * 1024, "bytes", SNS_QUOTAS, "fewer statements")
DASHBOARD_METRICS = Quota(
    "CloudWatch metrics per dashboard", 2_500, "metrics", CLOUDWATCH_QUOTAS,
    "fewer companies (each adds its budget and cache metrics)",
)  # fmt: skip
WIDGET_METRICS = Quota(
    "CloudWatch metrics per dashboard graph", 500, "metrics", CLOUDWATCH_QUOTAS,
    "fewer routes or companies on one graph",
)  # fmt: skip
LOG_GROUP_NAME = Quota(
    "CloudWatch Logs log group name", 512, "characters", LOGS_QUOTAS, "a shorter stack name"
)

QUOTAS = (
    LAMBDA_POLICY, LAMBDA_ENVIRONMENT, LAMBDA_LAYERS, LAMBDA_NAME, LAMBDA_PACKAGE,
    APIGW_RESOURCES,
    APIGW_POLICY, APIGW_AUTHORIZERS, APIGW_TEMPLATE, IAM_INLINE, IAM_MANAGED, IAM_TRUST,
    IAM_MANAGED_PER_ROLE, IAM_ROLE_NAME, CFN_RESOURCES, CFN_OUTPUTS, CFN_PARAMETERS,
    CFN_TEMPLATE, CFN_LOGICAL_ID, WAF_CAPACITY, KMS_POLICY, SNS_POLICY, DASHBOARD_METRICS,
    WIDGET_METRICS, LOG_GROUP_NAME,
)  # fmt: skip


@dataclass(frozen=True)
class Measure:
    """One thing the template holds, measured against one quota."""

    quota: Quota
    where: str  # the logical id (or "stack")
    value: int

    @property
    def over(self) -> bool:
        return self.value > self.quota.limit

    @property
    def headroom(self) -> float:
        return self.value / self.quota.limit

    def line(self) -> str:
        q = self.quota
        return (
            f"{self.where}: {q.name} would be {self.value:,} {q.unit}, over AWS's quota of "
            f"{q.limit:,} ({q.page}); {q.fix}"
        )


# -- values CloudFormation fills in at deploy time, at their longest ----------------------
LONGEST_REGION = "ap-southeast-2"  # 14 characters, as long as any region's name
ACCOUNT = "123456789012"
PARTITION = "aws-us-gov"  # the longest partition name of the three commercial/gov ones
URL_SUFFIX = "amazonaws.com.cn"
# CloudFormation's generated physical names: the stack name, the logical id and a random
# suffix of 12-13 characters, cut to the resource type's longest name.
_SUFFIX = "ABCDEFGHIJKLM"
_NAME_LIMITS = {
    "AWS::Lambda::Function": 64,
    "AWS::IAM::Role": 64,
    "AWS::DynamoDB::Table": 255,
    "AWS::Logs::LogGroup": 512,
    "AWS::SNS::Topic": 256,
    "AWS::SecretsManager::Secret": 512,
    "AWS::CloudWatch::Alarm": 255,
    "AWS::CloudWatch::Dashboard": 255,
    "AWS::WAFv2::WebACL": 128,
    "AWS::Lambda::LayerVersion": 140,
}
_NAME_PROPERTY = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::WAFv2::WebACL": "Name",
    "AWS::Lambda::LayerVersion": "LayerName",
}
_UUID = "12345678-1234-1234-1234-123456789012"


class Resolver:
    """Every intrinsic of a template resolved to the longest text it can deploy as."""

    def __init__(self, template: Mapping[str, Any], stack_name: str) -> None:
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.parameters: Mapping[str, Any] = template.get("Parameters", {})
        self.stack_name = stack_name

    def name(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id, {})
        kind = resource.get("Type", "")
        given = resource.get("Properties", {}).get(_NAME_PROPERTY.get(kind, ""))
        if given is not None:
            return self.text(given)
        generated = f"{self.stack_name}-{logical_id}-{_SUFFIX}"
        return generated[: _NAME_LIMITS.get(kind, 128)]

    def ref(self, target: str) -> str:
        pseudo = {
            "AWS::Region": LONGEST_REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{LONGEST_REGION}:{ACCOUNT}:"
            f"stack/{self.stack_name}/{_UUID}",
            "AWS::NoValue": "",
        }
        if target in pseudo:
            return pseudo[target]
        if target in self.parameters:
            default = self.parameters[target].get("Default")
            return str(default) if default is not None else "x" * 64
        kind = self.resources.get(target, {}).get("Type", "")
        if kind == "AWS::KMS::Key":
            return _UUID
        if kind == "AWS::ApiGateway::RestApi":
            return "abcdefghij"
        if kind in ("AWS::ApiGateway::Authorizer", "AWS::ApiGateway::Resource"):
            return "abcdef"
        if kind == "AWS::ApiGateway::Stage":
            return self.text(self.resources[target]["Properties"].get("StageName", "x" * 64))
        if kind in ("AWS::SecretsManager::Secret", "AWS::SNS::Topic"):
            return self.get_att(target, "Arn")
        return self.name(target)

    def get_att(self, target: str, attribute: str) -> str:
        kind = self.resources.get(target, {}).get("Type", "")
        region, account, p = LONGEST_REGION, ACCOUNT, PARTITION
        name = self.name(target)
        arns = {
            "AWS::Lambda::Function": f"arn:{p}:lambda:{region}:{account}:function:{name}",
            "AWS::IAM::Role": f"arn:{p}:iam::{account}:role/{name}",
            "AWS::DynamoDB::Table": f"arn:{p}:dynamodb:{region}:{account}:table/{name}",
            "AWS::KMS::Key": f"arn:{p}:kms:{region}:{account}:key/{_UUID}",
            "AWS::Logs::LogGroup": f"arn:{p}:logs:{region}:{account}:log-group:{name}:*",
            "AWS::SNS::Topic": f"arn:{p}:sns:{region}:{account}:{name}",
            "AWS::SecretsManager::Secret": (
                f"arn:{p}:secretsmanager:{region}:{account}:secret:{name}-abcdef"
            ),
            "AWS::WAFv2::WebACL": (
                f"arn:{p}:wafv2:{region}:{account}:regional/webacl/{name}/{_UUID}"
            ),
            "AWS::Lambda::LayerVersion": f"arn:{p}:lambda:{region}:{account}:layer:{name}:999",
        }
        if attribute == "Arn" and kind in arns:
            return arns[kind]
        if attribute == "RootResourceId":
            return "abcdefghij"
        if attribute.endswith("Arn"):
            return f"arn:{p}:service:{region}:{account}:{name}"
        return name

    def text(self, value: Any) -> str:
        """``value`` as the longest text it deploys as (a list joined by commas)."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, list):
            return ",".join(self.text(v) for v in value)
        if not isinstance(value, Mapping) or len(value) != 1:
            return json.dumps(self.value(value), separators=(",", ":"))
        ((function, argument),) = value.items()
        if function == "Ref":
            return self.ref(argument)
        if function == "Fn::GetAtt":
            target, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.get_att(target, attribute)
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(self.text(part) for part in self.list(parts))
        if function == "Fn::Sub":
            template, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._sub(template, variables)
        if function == "Fn::Select":
            index, items = argument
            found = self.list(items)
            return self.text(found[int(self.text(index))]) if found else ""
        if function == "Fn::If":
            _, yes, no = argument
            return max(self.text(yes), self.text(no), key=len)
        if function == "Fn::ImportValue":
            return "x" * 256
        if function == "Fn::Base64":
            return self.text(argument)
        # an intrinsic this does not resolve (Fn::FindInMap, ...): its own JSON, at least
        # as long as most values it could stand for
        return json.dumps(value, separators=(",", ":"))

    def list(self, value: Any) -> list[Any]:
        if isinstance(value, list):
            return value
        if isinstance(value, Mapping) and "Fn::Split" in value:
            separator, source = value["Fn::Split"]
            return list(self.text(source).split(separator))
        if isinstance(value, Mapping) and "Fn::GetAZs" in value:
            return [f"{LONGEST_REGION}a", f"{LONGEST_REGION}b", f"{LONGEST_REGION}c"]
        return [value]

    def value(self, value: Any) -> Any:
        """A JSON document (a policy, a dashboard) with every intrinsic in it resolved."""
        if isinstance(value, Mapping):
            if len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
                return self.text(value)
            return {str(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def _sub(self, template: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return self.text(variables[name])
            if "." in name:
                target, attribute = name.split(".", 1)
                return self.get_att(target, attribute)
            return self.ref(name)

        return re.sub(r"\$\{([^!}][^}]*)\}", replace, template)


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def _characters(document: Any) -> int:
    """IAM's measure: the policy's characters, whitespace excluded."""
    return len(re.sub(r"\s", "", _compact(document)))


def _of_type(template: Mapping[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == kind:
            yield logical_id, resource.get("Properties", {})


def _target(value: Any) -> str | None:
    """The logical id a Ref or GetAtt (or a Join of one) points at."""
    if isinstance(value, Mapping):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return str(att.split(".")[0] if isinstance(att, str) else att[0])
    return None


def _asset_bytes(resource: Mapping[str, Any], assets: Path) -> int:
    """The unzipped size of a function's or layer's staged asset in the cloud assembly."""
    staged = resource.get("Metadata", {}).get("aws:asset:path")
    folder = assets / staged if isinstance(staged, str) else None
    if folder is None or not folder.is_dir():
        return 0
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def measure(
    template: Mapping[str, Any], *, stack_name: str, assets: Path | None = None
) -> list[Measure]:
    """Every measure of the template against its quota (over or not); with ``assets``
    (the cloud assembly's folder), the functions' packages too, as built."""
    r = Resolver(template, stack_name)
    found: list[Measure] = []
    add = found.append
    resources: Mapping[str, Any] = template.get("Resources", {})

    # Lambda: each function's resource-based policy as Lambda stores it (one statement
    # per AWS::Lambda::Permission, its Sid the physical id CloudFormation generates).
    statements: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for logical_id, props in _of_type(template, "AWS::Lambda::Permission"):
        function = _target(props.get("FunctionName")) or r.text(props.get("FunctionName"))
        statement: dict[str, Any] = {
            "Sid": f"{stack_name}-{logical_id}-{_SUFFIX}"[:100],
            "Effect": "Allow",
            "Principal": {"Service": r.text(props.get("Principal", ""))},
            "Action": r.text(props.get("Action", "")),
            "Resource": r.get_att(function, "Arn") if function in resources else function,
        }
        conditions: dict[str, Any] = {}
        if "SourceArn" in props:
            conditions["ArnLike"] = {"AWS:SourceArn": r.text(props["SourceArn"])}
        if "SourceAccount" in props:
            conditions["StringEquals"] = {"AWS:SourceAccount": r.text(props["SourceAccount"])}
        if conditions:
            statement["Condition"] = conditions
        statements[function].append(statement)
    for function, listed in statements.items():
        policy = {"Version": "2012-10-17", "Id": "default", "Statement": listed}
        add(Measure(LAMBDA_POLICY, function, len(_compact(policy).encode())))
    # Lambda counts the environment as the JSON object of names and values (its refusal
    # quotes that JSON as the "String measured"; the quotas page says only "4 KB, for all
    # environment variables associated with the function, in aggregate").
    for logical_id, props in _of_type(template, "AWS::Lambda::Function"):
        variables = props.get("Environment", {}).get("Variables", {})
        resolved = {k: r.text(v) for k, v in variables.items()}
        add(Measure(LAMBDA_ENVIRONMENT, logical_id, len(_compact(resolved).encode())))
        add(Measure(LAMBDA_LAYERS, logical_id, len(props.get("Layers", []))))
        if "FunctionName" in props:
            add(Measure(LAMBDA_NAME, logical_id, len(r.text(props["FunctionName"]))))
        if assets is not None:
            # "250 MB ... including layers and custom runtimes (unzipped)"
            size = _asset_bytes(resources[logical_id], assets) + sum(
                _asset_bytes(resources.get(_target(layer) or "", {}), assets)
                for layer in props.get("Layers", [])
            )
            add(Measure(LAMBDA_PACKAGE, logical_id, size))

    # API Gateway
    for api, props in _of_type(template, "AWS::ApiGateway::RestApi"):
        owned = [
            p for _, p in _of_type(template, "AWS::ApiGateway::Resource")
            if _target(p.get("RestApiId")) == api
        ]  # fmt: skip
        add(Measure(APIGW_RESOURCES, api, len(owned) + 1))  # and its root
        if "Policy" in props:
            add(Measure(APIGW_POLICY, api, len(_compact(r.value(props["Policy"])))))
        authorizers = [
            p for _, p in _of_type(template, "AWS::ApiGateway::Authorizer")
            if _target(p.get("RestApiId")) == api
        ]  # fmt: skip
        add(Measure(APIGW_AUTHORIZERS, api, len(authorizers)))
    for logical_id, props in _of_type(template, "AWS::ApiGateway::Method"):
        integration = props.get("Integration", {})
        templates = list(integration.get("RequestTemplates", {}).values())
        for response in integration.get("IntegrationResponses", []):
            templates += list(response.get("ResponseTemplates", {}).values())
        for text in templates:
            add(Measure(APIGW_TEMPLATE, logical_id, len(r.text(text).encode())))
    for logical_id, props in _of_type(template, "AWS::ApiGateway::GatewayResponse"):
        for text in props.get("ResponseTemplates", {}).values():
            add(Measure(APIGW_TEMPLATE, logical_id, len(r.text(text).encode())))

    # IAM: a role's inline policies (its own and AWS::IAM::Policy resources on it)
    inline: dict[str, int] = defaultdict(int)
    for logical_id, props in _of_type(template, "AWS::IAM::Role"):
        for policy in props.get("Policies", []):
            inline[logical_id] += _characters(r.value(policy.get("PolicyDocument", {})))
        trust = props.get("AssumeRolePolicyDocument", {})
        add(Measure(IAM_TRUST, logical_id, _characters(r.value(trust))))
        add(Measure(IAM_MANAGED_PER_ROLE, logical_id, len(props.get("ManagedPolicyArns", []))))
        if "RoleName" in props:  # a generated name is cut to fit
            add(Measure(IAM_ROLE_NAME, logical_id, len(r.name(logical_id))))
    for _, props in _of_type(template, "AWS::IAM::Policy"):
        size = _characters(r.value(props.get("PolicyDocument", {})))
        for role in props.get("Roles", []):
            target = _target(role)
            if target:
                inline[target] += size
    for role, size in inline.items():
        add(Measure(IAM_INLINE, role, size))
    for logical_id, props in _of_type(template, "AWS::IAM::ManagedPolicy"):
        add(Measure(IAM_MANAGED, logical_id, _characters(r.value(props["PolicyDocument"]))))

    # CloudFormation: the template as `cdk synth` writes it (one-space indents)
    add(Measure(CFN_RESOURCES, "stack", len(resources)))
    add(Measure(CFN_OUTPUTS, "stack", len(template.get("Outputs", {}))))
    add(Measure(CFN_PARAMETERS, "stack", len(template.get("Parameters", {}))))
    add(Measure(CFN_TEMPLATE, "stack", len(json.dumps(template, indent=1).encode())))
    for logical_id in resources:
        add(Measure(CFN_LOGICAL_ID, logical_id, len(logical_id)))

    # WAF, KMS, SNS, CloudWatch
    for logical_id, props in _of_type(template, "AWS::WAFv2::WebACL"):
        add(Measure(WAF_CAPACITY, logical_id, sum(map(rule_capacity, props.get("Rules", [])))))
    for logical_id, props in _of_type(template, "AWS::KMS::Key"):
        add(Measure(KMS_POLICY, logical_id, len(_compact(r.value(props["KeyPolicy"])).encode())))
    for logical_id, props in _of_type(template, "AWS::SNS::TopicPolicy"):
        document = _compact(r.value(props["PolicyDocument"]))
        add(Measure(SNS_POLICY, logical_id, len(document.encode())))
    for logical_id, props in _of_type(template, "AWS::CloudWatch::Dashboard"):
        body = json.loads(r.text(props["DashboardBody"]))
        per_widget = [
            len(w.get("properties", {}).get("metrics", [])) for w in body.get("widgets", [])
        ]
        add(Measure(DASHBOARD_METRICS, logical_id, sum(per_widget)))
        add(Measure(WIDGET_METRICS, logical_id, max(per_widget, default=0)))
    for logical_id, props in _of_type(template, "AWS::Logs::LogGroup"):
        if "LogGroupName" in props:
            add(Measure(LOG_GROUP_NAME, logical_id, len(r.name(logical_id))))
    return found


# "AWS WAF web ACL capacity units (WCU)": what each rule of ours costs.
MANAGED_RULE_GROUP_WCU = {
    "AWSManagedRulesCommonRuleSet": 700,
    "AWSManagedRulesKnownBadInputsRuleSet": 200,
    "AWSManagedRulesAmazonIpReputationList": 25,
    "AWSManagedRulesAnonymousIpList": 50,
}


def rule_capacity(rule: Mapping[str, Any]) -> int:
    """The WCUs of one rule of ours: a managed group's stated capacity, a rate-based
    rule's 2 plus 30 per custom aggregation key (and 10 per text transformation), 1 for
    anything else (a conservative 50 for a statement this does not know)."""
    statement = rule.get("Statement", {})
    managed = statement.get("ManagedRuleGroupStatement")
    if managed:
        return MANAGED_RULE_GROUP_WCU.get(managed.get("Name", ""), 1_500)
    rate = statement.get("RateBasedStatement")
    if rate:
        keys = rate.get("CustomKeys", [])
        transforms = sum(
            len(part.get("TextTransformations", []))
            for key in keys
            for part in key.values()
            if isinstance(part, Mapping)
        )
        return 2 + 30 * len(keys) + 10 * transforms
    return 50


def over_quota(
    template: Mapping[str, Any], *, stack_name: str, assets: Path | None = None
) -> list[Measure]:
    return [m for m in measure(template, stack_name=stack_name, assets=assets) if m.over]
