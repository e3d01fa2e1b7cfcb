"""The two functions: the REQUEST authorizer and the proxy, each with its own role."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import acknowledge

# The newest Python that both Lambda and aws-cdk-lib 2.275 offer (python3.14, on Amazon
# Linux 2023, supported by Lambda until 2029).
RUNTIME = lambda_.Runtime.PYTHON_3_14
# Graviton: cheaper per GB-second than x86_64, and every dependency ships aarch64 wheels.
ARCHITECTURE = lambda_.Architecture.ARM_64
AUTHORIZER_HANDLER = "handlers.authorizer.handler"
PROXY_HANDLER = "handlers.proxy.handler"
AUTHORIZER_ID = "Authorizer"
PROXY_ID = "Proxy"

# Lambda's filter (LoggingConfig.ApplicationLogLevel) for each log_level. Lambda gives a
# JSON line without a "level" the level INFO ("Log-level filtering"), and Powertools
# prints its metrics (EMF) without one: a filter at WARN or ERROR would drop every metric
# and silence every alarm on them. So Lambda's filter stays at INFO (DEBUG for DEBUG), and
# the functions' Logger applies log_level itself (handlers/observability.py, from
# POWERTOOLS_LOG_LEVEL).
APPLICATION_LOG_LEVELS = {
    "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
    "INFO": lambda_.ApplicationLogLevel.INFO,
    "WARNING": lambda_.ApplicationLogLevel.INFO,
    "ERROR": lambda_.ApplicationLogLevel.INFO,
}

XRAY_REASON = (
    "Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which "
    "support no resource-level permissions: AWS requires Resource '*'."
)


class GatewayFunction(Construct):
    """One function with its own role, its own log group and nothing granted yet."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        handler: str,
        code: lambda_.Code,
        memory_mb: int,
        timeout_s: int,
        environment: Mapping[str, str],
        log_level: str,
        system_log_level: str,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        layers: Sequence[lambda_.ILayerVersion] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, removal_policy=removal_policy
        )
        # A role of our own instead of AWSLambdaBasicExecutionRole: that managed policy
        # lets the function create any log group and write to all of them.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Opower gateway {construct_id.lower()} function",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=code,
            memory_size=memory_mb,
            timeout=cdk.Duration.seconds(timeout_s),
            environment=dict(environment),
            layers=list(layers) or None,
            role=self.role,
            log_group=self.log_group,
            # JSON logs let Lambda filter by level ("Log-level filtering"): Powertools'
            # records are JSON already, and the platform's lines become JSON too. The
            # filter never drops the metrics (APPLICATION_LOG_LEVELS says why).
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=APPLICATION_LOG_LEVELS[log_level],
            system_log_level_v2=getattr(lambda_.SystemLogLevel, system_log_level),
            tracing=lambda_.Tracing.ACTIVE,
        )
        allow_role_dependency(self.function)
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            acknowledge(policy, "AwsSolutions-IAM5[Resource::*]", reason=XRAY_REASON)


# Where Lambda puts a layer's content: "When you add a layer to a function, Lambda loads
# the layer content into the /opt directory of that execution environment" (Lambda
# developer guide, "Packaging your layer content").
CONFIG_DIR = "/opt/opower-gateway"


def config_layer(
    scope: Construct, files: Mapping[str, str], removal_policy: cdk.RemovalPolicy
) -> lambda_.LayerVersion:
    """A layer of ``files`` (name to text) under CONFIG_DIR; its asset is hashed from the
    text, so a changed configuration is a new layer version and nothing else."""
    # CDK copies an asset into the cloud assembly when the asset is made, so the folder
    # it is made from is only needed until then.
    with tempfile.TemporaryDirectory(prefix="opower-gateway-config-") as root:
        folder = Path(root) / CONFIG_DIR.removeprefix("/opt/")
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        return lambda_.LayerVersion(
            scope,
            "ConfigLayer",
            code=lambda_.Code.from_asset(root),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Opower Gateway configuration too large for the environment",
            removal_policy=removal_policy,
        )


def allow_role_dependency(function: lambda_.Function) -> None:
    """CDK makes a function depend on its role and the role's policy so that the grants
    exist before the first invocation; the role half is also implied by the Role GetAtt,
    which cfn-lint reports as redundant (W3005)."""
    cfn_function = function.node.default_child
    if isinstance(cfn_function, cdk.CfnResource):
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})


class GatewayFunctions(Construct):
    """``authorizer`` and ``proxy``; the stack grants each what it needs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        memory_mb: int,
        proxy_timeout_s: int,
        authorizer_timeout_s: int,
        environment: Mapping[str, str],
        log_level: str,
        system_log_level: str,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        files: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Configuration too large for the environment (4 KB in all): files in a layer of
        # their own, under /opt/opower-gateway (CONFIG_DIR), read at start-up.
        self.files = dict(files or {})
        self.config_layer: lambda_.LayerVersion | None = None
        if files:
            self.config_layer = config_layer(self, files, removal_policy)
        common: dict[str, Any] = {
            "code": code,
            "memory_mb": memory_mb,
            "environment": environment,
            "log_level": log_level,
            "system_log_level": system_log_level,
            "log_retention": log_retention,
            "removal_policy": removal_policy,
            "layers": [self.config_layer] if self.config_layer else [],
        }
        self.authorizer = GatewayFunction(
            self,
            AUTHORIZER_ID,
            description="Verifies the customer's session and binds it to their Opower ids",
            handler=AUTHORIZER_HANDLER,
            timeout_s=authorizer_timeout_s,
            **common,
        )
        self.proxy = GatewayFunction(
            self,
            PROXY_ID,
            description="Forwards the customer's allowed calls to Opower with the utility token",
            handler=PROXY_HANDLER,
            timeout_s=proxy_timeout_s,
            **common,
        )
