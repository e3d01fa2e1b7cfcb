"""The gateway as a construct a utility adds to its own CDK app (infra.gateway), and the
deployable stack holding it without changing a logical id."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra.app import cdk_json_context
from infra.config import GatewayConfig
from infra.gateway import OpowerGateway
from tests.infrastructure.conftest import SKIP_BUNDLING, Synthesized

pytestmark = pytest.mark.infrastructure


def test_a_second_app_adds_the_gateway_to_a_stack_of_its_own(tmp_path: Any) -> None:
    app = cdk.App(context={**cdk_json_context(), **SKIP_BUNDLING}, outdir=str(tmp_path))
    config = GatewayConfig.from_node(app.node)
    platform = cdk.Stack(app, "UtilityPlatform")
    gateway = OpowerGateway(platform, "Opower", config=config)
    # The utility's own resources beside it, using what the construct exposes.
    parameter = ssm.StringParameter(platform, "GatewayUrl", string_value=gateway.url)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    app.synth()  # raises on an unacknowledged cdk-nag finding, as the stack's own synth

    template = Template.from_stack(platform)
    template.resource_count_is("AWS::ApiGateway::RestApi", 1)
    template.resource_count_is("AWS::DynamoDB::Table", 2)
    template.resource_count_is("AWS::SSM::Parameter", 1)
    # Named after the stack that holds it (metrics are dimensioned by ApiName).
    template.has_resource_properties("AWS::ApiGateway::RestApi", {"Name": "UtilityPlatform"})
    url = platform.resolve(gateway.url)
    assert platform.get_logical_id(gateway.rest_api.node.default_child) in str(url)
    assert gateway.rest_api is gateway.api.api
    assert parameter.node.scope is platform


def test_the_stack_holds_the_gateway_without_changing_any_logical_id(
    synthesized: Synthesized,
) -> None:
    """The construct's id is "Default", which CDK leaves out of logical ids: a stack
    deployed before the gateway became a construct updates in place."""
    assert synthesized.stack.gateway.node.id == "Default"
    resources = synthesized.raw["Resources"]
    for logical_id in (
        "TokenStoreTableAEF6B158",
        "TokenStoreKeyD11C36CF",
        "FunctionsProxyFunction48795ECB",
        "FunctionsAuthorizerFunction634D8BA5",
    ):
        assert logical_id in resources, logical_id
    assert "ApiUrl" in synthesized.raw["Outputs"]
