"""Example: a Step Functions workflow of the utility, in a stack of its own, asks the
gateway's service API for a customer's bill forecast and decides whether to alert them.

The state machine calls API Gateway directly (``CallApiGatewayRestApiEndpoint``, the
``arn:aws:states:::apigateway:invoke`` integration) with ``AuthType.IAM_ROLE``: Step
Functions signs the request with SigV4 as the state machine's role ("Call API Gateway
with Step Functions"). ``gateway.grant_invoke`` lets that role in: the identity policy and
the gateway's tag, both in this stack, so this stack depends on the gateway's and not the
other way round. The customer is named in the query (``utilityCustomerId``,
``accountNumber``, ``utilityCode``): SigV4 signs the query string whatever else Step
Functions signs, which AWS does not document for headers. The values are arrays, as the
integration requires of ``QueryParameters``.

Input: ``{"utilityCode": "...", "utilityCustomerId": "...", "accountNumber": "...",
"alertAt": 150}`` (the company is required by a group of companies; a single company
takes its own code).
The gateway's 429 (a share of the budget spent) and 503 (Opower unavailable) are retried
with back-off; its 404 (no such customer or no forecast) ends the execution as a failure
the caller can see.

Used from a CDK app::

    gateway_stack = GatewayStack(app, "OpowerGateway", config=config)
    HighBillAlerts(app, "HighBillAlerts", gateway=gateway_stack.gateway)
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from gateway.routes import SERVICE_PREFIX
from gateway.service import ACCOUNT_PARAM, COMPANY_PARAM, CUSTOMER_PARAM
from infra.gateway import OpowerGateway
from infra.nag import acknowledge

FORECAST = f"{SERVICE_PREFIX}/bill-forecast"
UNSCOPED_ACTIONS = (
    "X-Ray (tracing) and CloudWatch Logs delivery (the state machine's log group) actions "
    "take no resource: Resource '*' is what their APIs accept."
)


class HighBillAlerts(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, gateway: OpowerGateway, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        forecast = tasks.CallApiGatewayRestApiEndpoint(
            self,
            "BillForecast",
            api=gateway.rest_api,
            stage_name=gateway.stage_name,
            method=tasks.HttpMethod.GET,
            api_path=FORECAST,
            query_parameters=sfn.TaskInput.from_object(
                {
                    name: sfn.JsonPath.array(sfn.JsonPath.string_at(f"$.{name}"))
                    for name in (CUSTOMER_PARAM, ACCOUNT_PARAM, COMPANY_PARAM)
                }
            ),
            auth_type=tasks.AuthType.IAM_ROLE,
            # Opower's answer, passed through: {"response": {...}}. Oracle publishes no
            # schema for the bill forecast; these names are the sandbox's (an assumption:
            # see what your tier answers with `make dev OPOWER_URL=...`).
            result_selector={"forecasts.$": "$.ResponseBody.response.forecasts"},
            result_path="$.forecast",
        )
        # Failures come back as ApiGateway.<status> ("Call API Gateway with Step Functions").
        forecast.add_retry(
            errors=["ApiGateway.429", "ApiGateway.503", "ApiGateway.504"],
            interval=cdk.Duration.seconds(2),
            backoff_rate=2,
            max_attempts=5,
        )
        alert = sfn.Pass(self, "Alert", comment="Send the alert here (SNS, Pinpoint, ...)")
        no_alert = sfn.Succeed(self, "NoAlert")
        cost = "$.forecast.forecasts[0].projectedCost"
        # "When a Utility Account has no modeled rates only a usage forecast is returned"
        # (Get Bill Forecast): no cost, no alert. A comparison with a missing path would
        # fail the execution, so presence is its own Choice.
        decide = (
            sfn.Choice(self, "CostForecast")
            .when(
                sfn.Condition.is_present(cost),
                sfn.Choice(self, "OverTheAlertAmount")
                .when(sfn.Condition.number_greater_than_equals_json_path(cost, "$.alertAt"), alert)
                .otherwise(no_alert),
            )
            .otherwise(no_alert)
        )
        self.state_machine = sfn.StateMachine(
            self,
            "Workflow",
            definition_body=sfn.DefinitionBody.from_chainable(forecast.next(decide)),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(
                    self,
                    "WorkflowLogs",
                    retention=logs.RetentionDays.ONE_MONTH,
                    removal_policy=cdk.RemovalPolicy.DESTROY,
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,  # customer ids stay out of the logs
            ),
        )
        # Only the route it calls (grant_invoke without routes: every service route).
        gateway.grant_invoke(self.state_machine, routes=[("GET", FORECAST)])
        acknowledge(
            self.state_machine.role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            reason=UNSCOPED_ACTIONS,
        )
