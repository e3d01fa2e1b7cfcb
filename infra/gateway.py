"""The gateway as one construct: API Gateway, the authorizer and proxy Lambdas, the token
store and response cache, the secrets, WAF and monitoring, composed and granted where
they meet. ``infra.stack.GatewayStack`` deploys it alone; a utility's own CDK app can add
it to a stack of its own, installed from the wheel (``make dist``)::

    from opower_gateway import GatewayConfig, OpowerGateway

    gateway = OpowerGateway(stack, "Opower", config=GatewayConfig.from_node(app.node))
    gateway.url  # the API's base URL; gateway.rest_api is the RestApi
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from gateway.proxy import openapi
from gateway.routes import ROUTES, SERVICE_PREFIX
from gateway.version import VERSION
from infra.account_logging import ApiGatewayAccountRole
from infra.api import GatewayApi
from infra.bundling import lambda_code
from infra.config import GatewayConfig
from infra.functions import ARCHITECTURE, CONFIG_DIR, RUNTIME, GatewayFunctions
from infra.monitoring import GatewayMonitoring
from infra.nag import acknowledge
from infra.secrets import OpowerCredentials, grant_secret_read
from infra.service import INVOKE, TAG_KEY, tag_value, taggable
from infra.token_store import TokenStore
from infra.waf import GatewayWaf

_METHODS = frozenset({"GET", "PUT", "DELETE", "*"})
VERSION_TAG = "opower-gateway:version"
COMPANIES_FILE = "companies.json"


class OpowerGateway(Construct):
    """Configured by the same typed settings as the stack (``GatewayConfig``); exposes
    ``rest_api`` (the RestApi), ``url`` and each part (``api``: the GatewayApi with its
    stage and authorizer; ``store``, ``functions``, ``waf``, ``monitoring`` ...)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: GatewayConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        stack = cdk.Stack.of(self)
        # Every taggable resource says which version of the gateway made it.
        cdk.Tags.of(self).add(VERSION_TAG, VERSION)

        self.store = TokenStore(
            self,
            "TokenStore",
            removal_policy=config.cdk_removal_policy,
            point_in_time_recovery=config.table_point_in_time_recovery,
        )
        # One secret per operating company (a single company keeps the names it had).
        self.company_credentials: dict[str, OpowerCredentials] = {}
        for secret in config.secrets():
            suffix = secret.utility_code if config.is_group else ""
            self.company_credentials[secret.utility_code] = OpowerCredentials(
                self,
                f"OpowerCredentials{suffix}",
                secret_arn=secret.secret_arn,
                secret_name=secret.secret_name,
                kms_key_arn=secret.kms_key_arn,
                removal_policy=config.cdk_removal_policy,
                output_suffix=suffix,
                description=f"Opower OAuth client credentials of {secret.utility_code}",
                # A group's secrets are found by name (the companies file is written at
                # synthesis, before any ARN exists).
                name=f"{stack.stack_name}/opower/{secret.utility_code}" if suffix else "",
            )
        self.credentials = next(iter(self.company_credentials.values()))
        # The key of customers' names in logs, metrics and DynamoDB keys (an HMAC key,
        # gateway.customer_keys): generated here, read by both functions, output nowhere.
        self.customer_key = secretsmanager.Secret(
            self,
            "CustomerKey",
            description="Key of customers' names in logs, metrics and table keys (HMAC)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=config.cdk_removal_policy,
        )
        acknowledge(
            self.customer_key,
            "AwsSolutions-SMG4",
            reason="A new key renames every customer: budgets, bindings and cached answers "
            "start afresh (docs/security.md, customers' names are keyed: rotated by hand).",
        )
        company_secret_ids = {
            code: credentials.secret_id for code, credentials in self.company_credentials.items()
        }
        # A group's companies (with their secrets) are in a file of the configuration
        # layer: a dozen of them would take Lambda's environment past its 4 KB.
        files = (
            {COMPANIES_FILE: config.companies_document(company_secret_ids)}
            if config.is_group
            else {}
        )
        self.functions = GatewayFunctions(
            self,
            "Functions",
            files=files,
            code=lambda_code(RUNTIME),
            memory_mb=config.lambda_memory_mb,
            proxy_timeout_s=config.proxy_timeout_s,
            authorizer_timeout_s=config.authorizer_timeout_s,
            environment=config.lambda_environment(
                table_name=self.store.table.table_name,
                kms_key_id=self.store.key.key_arn,
                cache_table_name=self.store.cache_table.table_name,
                opower_secret_id="" if config.is_group else self.credentials.secret_id,
                introspection_secret_id=config.introspection_secret_arn,
                customer_key_secret_id=self.customer_key.secret_arn,
                company_secret_ids=company_secret_ids,
                companies_file=f"{CONFIG_DIR}/{COMPANIES_FILE}" if files else "",
            ),
            log_level=config.log_level,
            system_log_level=config.system_log_level,
            log_retention=config.retention,
            removal_policy=config.cdk_removal_policy,
        )
        # Both functions run the token broker (the authorizer to resolve bindings through
        # Opower), so both read the Opower secret and use the store.
        for fn in (self.functions.authorizer, self.functions.proxy):
            self.store.grant_use(fn.role)
            for credentials in self.company_credentials.values():
                credentials.grant_read(fn.role)
            grant_secret_read(fn.role, self.customer_key.secret_arn)
        self.store.grant_cache(self.functions.proxy.role)
        self.store.grant_cache(self.functions.authorizer.role, seed_only=True)
        if config.introspection_secret_arn:
            grant_secret_read(
                self.functions.authorizer.role,
                config.introspection_secret_arn,
                kms_key_arn=config.introspection_secret_kms_key_arn,
            )

        self.api = GatewayApi(
            self,
            "Api",
            api_name=stack.stack_name,
            routes=ROUTES,
            proxy=self.functions.proxy.function,
            authorizer=self.functions.authorizer.function,
            authorizer_cache_ttl_s=config.runtime.authorizer_cache_ttl_s,
            openapi_document=openapi.compact(),
            stage_name=config.stage_name,
            throttle_rate_limit=config.throttle_rate_limit,
            throttle_burst_limit=config.throttle_burst_limit,
            cors_allow_origins=config.runtime.cors_allow_origins,
            log_retention=config.retention,
            removal_policy=config.cdk_removal_policy,
            service_principals=config.runtime.service_principals,
            service_tag=tag_value(self),
        )
        # Access logging needs API Gateway's account-wide CloudWatch role: set it first,
        # if the account has none (infra/account_logging.py says why not CDK's own).
        self.account_role: ApiGatewayAccountRole | None = None
        if config.api_gateway_account_role == "create_if_missing":
            self.account_role = ApiGatewayAccountRole(
                self,
                "ApiGatewayAccount",
                runtime=RUNTIME,
                architecture=ARCHITECTURE,
                log_retention=config.retention,
                removal_policy=config.cdk_removal_policy,
            )
            self.api.stage.node.add_dependency(self.account_role.resource)
        self.waf: GatewayWaf | None = None
        if config.waf_enabled:
            self.waf = GatewayWaf(
                self,
                "Waf",
                stage_arn=self.api.stage.stage_arn,
                rate_limit_per_5min=config.waf_rate_limit_per_5min,
                rate_limit_per_session_per_5min=config.waf_rate_limit_per_session_per_5min,
                metric_prefix=config.service,
                logging=config.waf_logging_enabled,
                log_retention=config.retention,
                removal_policy=config.cdk_removal_policy,
            )
        else:
            acknowledge(
                self.api.stage,
                "AwsSolutions-APIG3",
                reason="WAF turned off by the operator (waf_enabled=false), e.g. for a "
                "short-lived test stack; the stage throttling still applies.",
            )

        self.monitoring = GatewayMonitoring(
            self,
            "Monitoring",
            stage=self.api.stage,
            proxy=self.functions.proxy.function,
            authorizer=self.functions.authorizer.function,
            route_names=[route.name for route in ROUTES],
            metrics_namespace=config.metrics_namespace,
            service_name=config.service,
            waf=self.waf,
            alarm_topic=config.alarm_topic_wanted,
            alarm_email=config.alarm_email,
            companies=[c.utility_code for c in config.runtime.company_list()],
            # Each company's day: one count for its customers and its service API.
            daily_budgets={c.utility_code: c.budget_per_day for c in config.runtime.company_list()},
            service_budget_per_day=(
                config.runtime.service_budget_per_day if config.runtime.service_api else 0
            ),
            quota_alarm_fraction=config.runtime.quota_alarm_fraction,
            designated_caps={
                c.utility_code: c.designated_customers_max
                for c in config.runtime.company_list()
                if c.designated_customers_max > 0
            },
            removal_policy=config.cdk_removal_policy,
            cached_routes=[
                route.name
                for route in ROUTES
                if any(op.cache is not None for op in route.operations)
            ],
        )

        cdk.CfnOutput(self, "ApiUrl", value=self.api.api.url, description="Base URL of the API")
        for code, credentials in self.company_credentials.items():
            cdk.CfnOutput(
                self,
                f"OpowerSecretArn{code if config.is_group else ''}",
                value=credentials.secret_arn,
                description=f"Secret holding the Opower client_id / client_secret of {code}",
            )
        cdk.CfnOutput(self, "TableName", value=self.store.table.table_name)
        cdk.CfnOutput(self, "CacheTableName", value=self.store.cache_table.table_name)
        # What `make forget` (infra/forget.py) needs to find a customer's items.
        cdk.CfnOutput(
            self,
            "CustomerKeySecretArn",
            value=self.customer_key.secret_arn,
            description="The key of customers' keyed names (make forget reads it)",
        )
        cdk.CfnOutput(
            self,
            "UtilityCodes",
            value=",".join(self.company_credentials),
            description="The operating companies served (make forget COMPANY=)",
        )
        cdk.CfnOutput(
            self,
            "DashboardUrl",
            value=cdk.Fn.join(
                "",
                [
                    "https://console.aws.amazon.com/cloudwatch/home?region=",
                    stack.region,
                    "#dashboards:name=",
                    self.monitoring.dashboard.dashboard_name,
                ],
            ),
        )

    def grant_invoke(
        self, grantee: iam.IGrantable, *, routes: Sequence[tuple[str, str]] = ()
    ) -> iam.Grant:
        """Let ``grantee`` (a role or user made in a CDK app: a state machine, a function)
        call the service API: ``execute-api:Invoke`` in its identity policy, on every
        service route or only on ``routes`` (``("GET", "/v1/service/bill-forecast")``...),
        and the gateway's tag on its role, which the API's resource policy admits
        (infra/service.py says why a tag). Both are written in the grantee's stack."""
        for method, path in routes:
            if not path.startswith(SERVICE_PREFIX + "/") or method not in _METHODS:
                raise ValueError(
                    f"grant_invoke routes are (method, path) of the service API, e.g. "
                    f"('GET', '{SERVICE_PREFIX}/bill-forecast'): got ({method!r}, {path!r})"
                )
        if not self.config.runtime.service_api:
            raise ValueError(
                "grant_invoke needs the service API turned on: set service_enabled (or list "
                "service_principals) in the gateway's settings, which carves the service "
                "budget out of the customers'"
            )
        principal = grantee.grant_principal
        tagged = taggable(principal)
        if tagged is None:
            raise ValueError(
                "grant_invoke tags the grantee's role or user, and this one was not made in "
                "this CDK app (imported?): list its ARN in service_principals instead"
            )
        cdk.Tags.of(tagged).add(TAG_KEY, tag_value(self))
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[INVOKE],
            resource_arns=[
                self.rest_api.arn_for_execute_api(method, path, self.stage_name)
                for method, path in (routes or [("*", f"{SERVICE_PREFIX}/*")])
            ],
        )

    @property
    def stage_name(self) -> str:
        return self.config.stage_name

    @property
    def rest_api(self) -> apigw.RestApi:
        return self.api.api

    @property
    def url(self) -> str:
        """The base URL of the API (its deployment stage)."""
        return self.api.api.url
