#!/usr/bin/env python3
"""CDK entry point: build the app, add the stack, synthesize. No AWS calls at synth time."""

import sys
from pathlib import Path

# The stack is derived from the Lambda code's own models (RuntimeSettings, ROUTES): the
# asset root goes on the path, as in Lambda, so that `gateway.*` imports as it does there.
sys.path.insert(0, str(Path(__file__).resolve().parent / "lambdas"))

from infra.app import create_app, synthesize
from infra.config import GatewayConfigError

if __name__ == "__main__":
    try:
        app, stack = create_app()
        synthesize(app, stack)  # and checked against AWS's quotas (infra/quotas.py)
    except GatewayConfigError as error:
        sys.exit(f"Invalid gateway configuration: {error}")
