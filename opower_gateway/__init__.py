"""Opower Gateway as a construct for a utility's own CDK app::

    import aws_cdk as cdk
    from opower_gateway import GatewayConfig, OpowerGateway

    app = cdk.App()
    stack = cdk.Stack(app, "UtilityPlatform")
    gateway = OpowerGateway(stack, "Opower", config=GatewayConfig.from_node(app.node))
    app.synth()

The settings come from the app's context (``cdk.json`` → ``context.gateway``,
docs/configuration.md). ``synthesize(app, stack)`` synthesizes and checks the template
against AWS's quotas, as this repository's ``app.py`` does.

In this repository the names below come from ``infra`` and ``gateway`` (``lambdas/``);
``make dist`` builds the wheel, in which the same modules live under ``opower_gateway``
with their imports rewritten, so that installing it adds no other top-level package
(infra/dist.py).
"""

from gateway.version import VERSION
from infra.app import synthesize
from infra.config import GatewayConfig, GatewayConfigError
from infra.gateway import OpowerGateway
from infra.stack import GatewayStack

__version__ = VERSION
__all__ = [
    "VERSION",
    "GatewayConfig",
    "GatewayConfigError",
    "GatewayStack",
    "OpowerGateway",
    "synthesize",
]
