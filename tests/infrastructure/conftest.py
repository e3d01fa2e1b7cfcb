"""One synthesis of the app per test session, with bundling skipped (fast and offline)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The stack imports the Lambda code's models (`gateway.*`) as app.py does; pytest's
# pythonpath already has it, this keeps the suite runnable on its own.
if str(ROOT / "lambdas") not in sys.path:
    sys.path.insert(0, str(ROOT / "lambdas"))

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from infra.app import create_app  # noqa: E402
from infra.stack import GatewayStack  # noqa: E402

# No asset is built: the Lambda code is stood in for, so no pip and no network.
SKIP_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}


@dataclass(frozen=True)
class Synthesized:
    stack: GatewayStack
    template: Template
    raw: dict[str, Any]
    assembly: Any
    validation_report: dict[str, Any]

    def logical_id(self, construct: Any) -> str:
        element = construct if isinstance(construct, cdk.CfnElement) else None
        element = element or construct.node.default_child
        return str(self.stack.get_logical_id(element))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = create_app(context=SKIP_BUNDLING, outdir=str(outdir))
    assembly = app.synth()  # raises if cdk-nag reports an unacknowledged finding
    raw = json.loads((outdir / stack.template_file).read_text())
    report_file = outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return Synthesized(
        stack=stack,
        template=Template.from_json(raw),
        raw=raw,
        assembly=assembly,
        validation_report=report,
    )
