"""API Gateway's account-wide CloudWatch Logs role, which a stage's access logging needs.

A fresh account (or region) has none, and API Gateway then refuses the stage: "CloudWatch
Logs role ARN must be set in account settings to enable logging". CDK's own answer
(``RestApi(cloud_watch_role=True)``, an ``AWS::ApiGateway::Account``) overwrites whatever
role the account already names, for every API of the account, and the last stack
deployed wins. This construct sets the role only when none is set, and never unsets it:

* a small function (``custom_resources/api_gateway_account``) behind a custom resource
  that reads the account setting and, only if it is empty, makes one role for the whole
  account (``ROLE_PATH`` + ``ROLE_NAME``, trusting API Gateway, with AWS's managed policy
  for it; reused if another stack made it) and names it. An account that already names a
  role gets no role from any number of stacks; the role is never deleted (the setting
  names it, and other APIs may log through it).

``api_gateway_account_role = "leave"`` skips all of it, for accounts whose role is
managed elsewhere (a landing zone, another stack).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.custom_resources.api_gateway_account import index as handler
from infra.functions import allow_role_dependency

HANDLER_DIR = Path(__file__).resolve().parent / "custom_resources" / "api_gateway_account"
RESOURCE_TYPE = "Custom::ApiGatewayAccountRole"
MANAGED_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
# How long CloudFormation waits for the function's answer before failing the resource
# (AWS::CloudFormation::CustomResource ServiceTimeout: 3600 s when unset). The function
# answers within its own timeout (the handler bounds every call and retry by it); this
# only matters if it never answers (killed, or its answer lost), and then the deployment
# fails in minutes, not an hour.
SERVICE_TIMEOUT = cdk.Duration.minutes(5)
# The one role of the account (IAM is global: every region's setting may name it).
ROLE_PATH = "/opower-gateway/"
ROLE_NAME = "ApiGatewayCloudWatchLogs"


class ApiGatewayAccountRole(Construct):
    """Exposes ``role_arn`` and ``resource`` (make the stage depend on the latter)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: lambda_.Runtime,
        architecture: lambda_.Architecture,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role_arn = f"arn:{stack.partition}:iam::{stack.account}:role{ROLE_PATH}{ROLE_NAME}"
        policy_arn = f"arn:{stack.partition}:iam::aws:policy/{MANAGED_POLICY}"

        log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, removal_policy=removal_policy
        )
        function_role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Sets API Gateway's account CloudWatch role if none is set",
        )
        log_group.grant_write(function_role)
        # "Actions, resources and condition keys for Amazon API Gateway Management": the
        # account settings are the resource arn:PARTITION:apigateway:REGION::/account.
        account_arn = f"arn:{stack.partition}:apigateway:{stack.region}::/account"
        function_role.add_to_policy(
            iam.PolicyStatement(
                actions=["apigateway:GET", "apigateway:PATCH"], resources=[account_arn]
            )
        )
        # The one role it may make: that name only, AWS's managed policy only.
        function_role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:GetRole", "iam:CreateRole"], resources=[self.role_arn]
            )
        )
        function_role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:AttachRolePolicy"],
                resources=[self.role_arn],
                conditions={"ArnEquals": {"iam:PolicyARN": policy_arn}},
            )
        )
        function_role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "apigateway.amazonaws.com"}},
            )
        )
        function = lambda_.Function(
            self,
            "Function",
            description="Sets API Gateway's account CloudWatch Logs role when none is set",
            runtime=runtime,
            architecture=architecture,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__", "*.pyc"]),
            timeout=cdk.Duration.seconds(handler.FUNCTION_TIMEOUT_S),
            role=function_role,
            log_group=log_group,
        )
        allow_role_dependency(function)
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=function.function_arn,
            resource_type=RESOURCE_TYPE,
            properties={
                "RoleArn": self.role_arn,
                "RolePath": ROLE_PATH,
                "RoleName": ROLE_NAME,
                "PolicyArn": policy_arn,
            },
            service_timeout=SERVICE_TIMEOUT,
        )
