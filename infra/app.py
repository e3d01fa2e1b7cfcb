"""Builds the CDK app: context from cdk.json (as the CLI would pass it), the config, the
stack and the cdk-nag checks. ``app.py`` and the infrastructure tests both use this."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra import quotas
from infra.config import GatewayConfig, GatewayConfigError
from infra.stack import GatewayStack

ROOT = Path(__file__).resolve().parents[1]


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def create_app(
    *, context: Mapping[str, Any] | None = None, outdir: str | None = None
) -> tuple[cdk.App, GatewayStack]:
    """The App with cdk.json's context, then ``context``; the CLI's context
    (``CDK_CONTEXT_JSON``, ``-c`` flags) is applied on top of both by the App itself.

    Raises ``GatewayConfigError`` naming the setting when the configuration is invalid.
    """
    app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    config = GatewayConfig.from_node(app.node)
    stack = GatewayStack(
        app,
        config.stack_name,
        config=config,
        description=f"Opower Gateway ({config.stack_name})",
    )
    # Zero unacknowledged findings: any new one fails synthesis.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def synthesize(app: cdk.App, stack: cdk.Stack) -> Any:
    """``app.synth()``, then the template against AWS's quotas (infra/quotas.py): a
    configuration that would fail its deploy on one raises ``GatewayConfigError`` naming
    the quota, where and what to change, before anything reaches CloudFormation."""
    try:
        assembly = app.synth()
    except RuntimeError as error:
        # CDK's own check of CloudFormation's 500 resources, in one line like ours
        found = re.search(r"TooManyResourcesInStack: .*?: (\d+) is greater", str(error))
        if found is None:
            raise
        counted = quotas.Measure(quotas.CFN_RESOURCES, stack.stack_name, int(found[1]))
        raise GatewayConfigError(counted.line()) from None
    directory = Path(assembly.directory)
    template = json.loads((directory / stack.template_file).read_text())
    over = quotas.over_quota(template, stack_name=stack.stack_name, assets=directory)
    if over:
        raise GatewayConfigError(" | ".join(measure.line() for measure in over))
    return assembly
