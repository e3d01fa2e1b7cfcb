#!/usr/bin/env python3
"""CDK entry point: build the app, add the stack, synthesize. No AWS calls at synth time."""

import aws_cdk as cdk

from infra.stack import GatewayStack

app = cdk.App()
GatewayStack(app, "OpowerGateway")
app.synth()
