"""The REST API: resources and methods derived from the route table, behind the authorizer."""

from __future__ import annotations

import json
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from gateway.api_responses import (
    GATEWAY_RESPONSES,
    MOCK_MEDIA_TYPES,
    PREFLIGHT_ALLOW_HEADERS,
    PREFLIGHT_MAX_AGE_S,
    catch_alls,
    gateway_response_headers,
    static_headers,
)
from gateway.routes import Route, service_path
from infra.nag import acknowledge
from infra.service import resource_policy
from infra.vtl import error_envelope, literal_template

AUTHORIZATION_HEADER = "Authorization"
OPENAPI_PATH = "/v1/openapi.json"
JSON = "application/json"

# Every field the on-call needs to follow one request: who failed (WAF, authorizer,
# integration), how, and how long it took. No identity of the customer is logged (a
# service call's caller is a workload's IAM principal, not a customer).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "xrayTraceId": "$context.xrayTraceId",
    "requestTime": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    # The service API's SigV4 caller (an IAM role or user; empty for customers).
    "caller": "$context.identity.userArn",
    "userAgent": "$context.identity.userAgent",
    "method": "$context.httpMethod",
    "resource": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integration.error",
    "authorizerStatus": "$context.authorizer.status",
    "authorizerLatencyMs": "$context.authorizer.latency",
    "authorizerError": "$context.authorizer.error",
    "errorType": "$context.error.responseType",
    "wafStatus": "$context.waf.status",
}

CUSTOM_AUTHORIZER_REASON = (
    "Customers sign in with the utility's own identity provider (OIDC JWT/JWKS or RFC 7662 "
    "introspection), not Cognito, and the session must be bound to the customer's Opower "
    "ids: the REQUEST authorizer does both, a Cognito authorizer could do neither."
)


SERVICE_AUTH_REASON = (
    "The service API is for the utility's own AWS workloads (Step Functions, Lambda): "
    "AWS IAM (SigV4) authorizes them, and the resource policy admits only the principals "
    "the utility named; there is no end user to sign in with Cognito."
)


class GatewayApi(Construct):
    """Exposes ``api``, ``stage``, ``authorizer`` and ``access_logs``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_name: str,
        routes: Sequence[Route],
        proxy: lambda_.IFunction,
        authorizer: lambda_.IFunction,
        authorizer_cache_ttl_s: int,
        openapi_document: str,
        stage_name: str,
        throttle_rate_limit: int,
        throttle_burst_limit: int,
        cors_allow_origins: Sequence[str],
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        service_principals: Sequence[str] = (),
        service_tag: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=removal_policy
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            # Named after the stack: AWS/ApiGateway metrics are dimensioned by ApiName, and
            # two APIs of one name in an account share them (alarms included).
            rest_api_name=api_name,
            description="Opower Gateway: each customer reaches only their own Opower data",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The service API admits only the principals the utility named (infra/service.py).
            policy=resource_policy(principals=service_principals, tag=service_tag),
            # The account-wide CloudWatch role is shared by every API of the account: the
            # stack sets it only when none is set (infra/account_logging.py), never this way.
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                throttling_rate_limit=throttle_rate_limit,
                throttling_burst_limit=throttle_burst_limit,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
                # Errors only, and never the request data: full request logging would write
                # every customer's Authorization header to CloudWatch.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
            ),
        )
        self.stage = self.api.deployment_stage
        # API Gateway creates the execution log group on first use, kept forever: created
        # here first, with the configured retention.
        self.execution_logs = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=cdk.Fn.join(
                "", ["API-Gateway-Execution-Logs_", self.api.rest_api_id, f"/{stage_name}"]
            ),
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.stage.node.add_dependency(self.execution_logs)
        self.authorizer = apigw.RequestAuthorizer(
            self,
            "SessionAuthorizer",
            handler=authorizer,
            identity_sources=[apigw.IdentitySource.header(AUTHORIZATION_HEADER)],
            results_cache_ttl=cdk.Duration.seconds(authorizer_cache_ttl_s),
        )
        # Body validation is a no-op without models (the proxy validates bodies against
        # the route table); the required query parameters of each route are enforced here.
        self.validator = self.api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        integration = _lambda_proxy(proxy)
        # One invoke permission for every method of this stage: a permission per method
        # (LambdaIntegration's default) grows the proxy's resource-based policy with the
        # routes, past Lambda's 20 KB quota at about 50 methods (infra/quotas.py).
        proxy.add_permission(
            "ApiInvoke",
            principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
            action="lambda:InvokeFunction",
            source_arn=self.api.arn_for_execute_api("*", "/*", stage_name),
        )
        cors = list(cors_allow_origins)
        for route in routes:
            resource = self.api.root.resource_for_path(route.path)
            for method in route.methods:
                added = resource.add_method(
                    method,
                    integration,
                    authorizer=self.authorizer,
                    authorization_type=apigw.AuthorizationType.CUSTOM,
                    request_validator=self.validator,
                    request_parameters=_required_parameters(route, method),
                )
                acknowledge(added, "AwsSolutions-COG4", reason=CUSTOM_AUTHORIZER_REASON)
            if cors:
                self._add_preflight(resource, methods=route.methods, origins=cors)
            # The same route for the utility's own workloads: AWS IAM, the customer named
            # in headers (gateway.service). No CORS: no browser calls it.
            service = self.api.root.resource_for_path(service_path(route))
            for method in route.methods:
                added = service.add_method(
                    method,
                    integration,
                    authorization_type=apigw.AuthorizationType.IAM,
                    request_validator=self.validator,
                    request_parameters=_required_parameters(route, method),
                )
                acknowledge(added, "AwsSolutions-COG4", reason=SERVICE_AUTH_REASON)
        self.openapi = self._add_openapi(openapi_document, cors)
        self._add_catch_alls(routes, cors)
        self._add_gateway_responses(cors)

    def _add_openapi(self, document: str, cors: list[str]) -> apigw.Method:
        """The OpenAPI document from a MOCK integration: no Lambda runs, nothing is billed
        but the API Gateway request, and the document is the one the route table makes."""
        resource = self.api.root.resource_for_path(OPENAPI_PATH)
        method = _add_mock(
            resource,
            "GET",
            status=200,
            template=literal_template(document),
            headers=static_headers(tuple(cors)),
        )
        _acknowledge_public(
            method, "The OpenAPI document describes the public API; it holds no customer data."
        )
        if cors:
            self._add_preflight(resource, methods=("GET",), origins=cors)
        return method

    def _add_catch_alls(self, routes: Sequence[Route], cors: list[str]) -> None:
        """ANY on every resource and on ``/{proxy+}``: a path or method the API lacks is
        404 or 405 in the envelope (gateway.api_responses.catch_alls says why)."""
        resources = {route.path: route.methods for route in routes}
        resources.update({service_path(route): route.methods for route in routes})
        resources[OPENAPI_PATH] = ("GET",)
        for catch_all in catch_alls(resources):
            resource = (
                self.api.root
                if catch_all.path == "/"
                else self.api.root.resource_for_path(catch_all.path)
            )
            method = _add_mock(
                resource,
                "ANY",
                status=catch_all.status,
                template=error_envelope(catch_all.code, catch_all.message),
                headers={**static_headers(tuple(cors)), **catch_all.headers},
            )
            _acknowledge_public(
                method,
                "A catch-all for paths and methods the API does not have: a mock answering "
                "404 or 405, no data, no Lambda.",
            )

    def _add_preflight(
        self, resource: apigw.IResource, *, methods: Sequence[str], origins: list[str]
    ) -> None:
        preflight = resource.add_cors_preflight(
            allow_origins=origins,
            allow_methods=[*methods, "OPTIONS"],
            allow_headers=list(PREFLIGHT_ALLOW_HEADERS),
            max_age=cdk.Duration.seconds(PREFLIGHT_MAX_AGE_S),
        )
        _acknowledge_public(
            preflight,
            "Browsers send the CORS preflight without credentials; it is a mock integration "
            "answering only the allowed origins, methods and headers.",
        )

    def _add_gateway_responses(self, cors: list[str]) -> None:
        # Static headers only (a gateway response cannot choose among values): the same
        # table and header rules as the emulator's (gateway.api_responses).
        for response in GATEWAY_RESPONSES:
            status = str(response.status) if response.status else ""
            headers = gateway_response_headers(response, tuple(cors))
            self.api.add_gateway_response(
                _gateway_response_id(response.type),
                type=getattr(apigw.ResponseType, response.type),
                status_code=status or None,
                response_headers={name: f"'{value}'" for name, value in headers.items()},
                templates={JSON: error_envelope(response.code, response.message)},
            )


def _add_mock(
    resource: apigw.IResource,
    http_method: str,
    *,
    status: int,
    template: str,
    headers: dict[str, str],
) -> apigw.Method:
    """A public MOCK method answering ``template`` as JSON with static ``headers``.

    One mapping template per media type of MOCK_MEDIA_TYPES (a request without
    Content-Type counts as application/json); PassthroughBehavior NEVER answers any other
    with 415 (UNSUPPORTED_MEDIA_TYPE): a MOCK passed a body it cannot read fails with 500
    (aws/aws-cdk#16323)."""
    integration = apigw.MockIntegration(
        request_templates={media_type: '{"statusCode": 200}' for media_type in MOCK_MEDIA_TYPES},
        passthrough_behavior=apigw.PassthroughBehavior.NEVER,
        integration_responses=[
            apigw.IntegrationResponse(
                status_code=str(status),
                response_templates={JSON: template},
                response_parameters={
                    f"method.response.header.{name}": f"'{value}'"
                    for name, value in headers.items()
                },
            )
        ],
    )
    return resource.add_method(
        http_method,
        integration,
        authorization_type=apigw.AuthorizationType.NONE,
        method_responses=[
            apigw.MethodResponse(
                status_code=str(status),
                response_parameters={f"method.response.header.{name}": True for name in headers},
                response_models={JSON: apigw.Model.EMPTY_MODEL},
            )
        ],
    )


def _lambda_proxy(function: lambda_.IFunction) -> apigw.AwsIntegration:
    """The proxy as a Lambda proxy integration, exactly as ``LambdaIntegration`` configures
    it (AWS_PROXY, POST to the function's invocations path) but adding no permission: the
    API's one permission is added beside it, scoped to the stage."""
    return apigw.AwsIntegration(
        proxy=True,
        service="lambda",
        path=f"2015-03-31/functions/{function.function_arn}/invocations",
    )


def _gateway_response_id(response_type: str) -> str:
    return "".join(part.title() for part in response_type.split("_"))


def _required_parameters(route: Route, method: str) -> dict[str, bool]:
    operation = route.operation(method)
    query = operation.query if operation else {}
    params = {f"method.request.path.{name}": True for name in route.path_params}
    params.update({f"method.request.querystring.{name}": p.required for name, p in query.items()})
    return params


def _acknowledge_public(method: apigw.Method, reason: str) -> None:
    for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
        acknowledge(method, rule, reason=reason)
