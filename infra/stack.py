"""The deployable stack. It composes the gateway's constructs."""

from typing import Any

import aws_cdk as cdk
from constructs import Construct


class GatewayStack(cdk.Stack):
    """API Gateway, the authorizer and proxy Lambdas, the token store and monitoring."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
