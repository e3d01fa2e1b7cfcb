"""The REST API: resources and methods derived from the route table, behind the authorizer."""

from __future__ import annotations

import json
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from gateway.api_responses import GATEWAY_RESPONSES
from gateway.routes import Route
from infra.nag import acknowledge

AUTHORIZATION_HEADER = "Authorization"
OPENAPI_PATH = "/v1/openapi.json"
JSON = "application/json"

# Every field the on-call needs to follow one request: who failed (WAF, authorizer,
# integration), how, and how long it took. No identity of the customer is logged.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "xrayTraceId": "$context.xrayTraceId",
    "requestTime": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
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


def error_envelope(code: str, message: str) -> str:
    """The template; an empty message takes API Gateway's ``$context.error.messageString``."""
    placeholder = "@MESSAGE@"
    body = json.dumps(
        {
            "error": {
                "code": code,
                "message": message or placeholder,
                "requestId": "$context.requestId",
            }
        },
        separators=(",", ":"),
    )
    return body.replace(f'"{placeholder}"', "$context.error.messageString")


class GatewayApi(Construct):
    """Exposes ``api``, ``stage``, ``authorizer`` and ``access_logs``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        routes: Sequence[Route],
        proxy: lambda_.IFunction,
        authorizer: lambda_.IFunction,
        authorizer_cache_ttl_s: int,
        stage_name: str,
        throttle_rate_limit: int,
        throttle_burst_limit: int,
        cors_allow_origins: Sequence[str],
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=removal_policy
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            description="Opower Gateway: each customer reaches only their own Opower data",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The account-wide CloudWatch role is a per-region singleton that other stacks
            # may own; the JSON access log carries what execution logs would.
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                throttling_rate_limit=throttle_rate_limit,
                throttling_burst_limit=throttle_burst_limit,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
            ),
        )
        self.stage = self.api.deployment_stage
        acknowledge(
            self.stage,
            "AwsSolutions-APIG6",
            reason="Execution logging needs the account-wide API Gateway CloudWatch role, a "
            "per-region singleton this stack must not take over; the stage's JSON access "
            "log records authorizer, integration and WAF status and errors per request.",
        )
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
        integration = apigw.LambdaIntegration(proxy, proxy=True, allow_test_invoke=False)
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
        openapi = self.api.root.resource_for_path(OPENAPI_PATH).add_method(
            "GET",
            integration,
            authorization_type=apigw.AuthorizationType.NONE,
            request_validator=self.validator,
        )
        _acknowledge_public(
            openapi, "The OpenAPI document describes the public API; it holds no customer data."
        )
        self._add_gateway_responses(cors)

    def _add_preflight(
        self, resource: apigw.IResource, *, methods: Sequence[str], origins: list[str]
    ) -> None:
        preflight = resource.add_cors_preflight(
            allow_origins=origins,
            allow_methods=[*methods, "OPTIONS"],
            allow_headers=[AUTHORIZATION_HEADER, "Content-Type"],
            max_age=cdk.Duration.hours(1),
        )
        _acknowledge_public(
            preflight,
            "Browsers send the CORS preflight without credentials; it is a mock integration "
            "answering only the allowed origins, methods and headers.",
        )

    def _add_gateway_responses(self, cors: list[str]) -> None:
        # A single allowed origin is named in API Gateway's own error responses so that the
        # browser lets the page read them; a gateway response cannot echo one of several.
        headers = {"Access-Control-Allow-Origin": f"'{cors[0]}'"} if len(cors) == 1 else None
        for response in GATEWAY_RESPONSES:
            status = str(response.status) if response.status else ""
            self.api.add_gateway_response(
                f"{response.code.title().replace('_', '')}{status or 'Default'}",
                type=getattr(apigw.ResponseType, response.type),
                status_code=status or None,
                response_headers=headers,
                templates={JSON: error_envelope(response.code, response.message)},
            )


def _required_parameters(route: Route, method: str) -> dict[str, bool]:
    operation = route.operation(method)
    query = operation.query if operation else {}
    params = {f"method.request.path.{name}": True for name in route.path_params}
    params.update({f"method.request.querystring.{name}": p.required for name, p in query.items()})
    return params


def _acknowledge_public(method: apigw.Method, reason: str) -> None:
    for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
        acknowledge(method, rule, reason=reason)
