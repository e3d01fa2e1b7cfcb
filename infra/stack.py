"""The deployable stack: the gateway (infra.gateway.OpowerGateway), alone."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.config import GatewayConfig
from infra.gateway import OpowerGateway

# CDK leaves a construct whose id is "Default" out of the logical ids of what it holds:
# the resources keep the ids they had when the stack held them itself, so a deployed
# stack updates in place (nothing replaced).
GATEWAY_ID = "Default"


class GatewayStack(cdk.Stack):
    """The stack ``make deploy`` deploys: one ``OpowerGateway`` and nothing else."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: GatewayConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.gateway = OpowerGateway(self, GATEWAY_ID, config=config)
        g = self.gateway
        # The parts, as the stack exposed them before it held them through the construct.
        self.store, self.functions, self.api = g.store, g.functions, g.api
        self.credentials, self.company_credentials = g.credentials, g.company_credentials
        self.customer_key = g.customer_key
        self.account_role, self.waf, self.monitoring = g.account_role, g.waf, g.monitoring
