"""`app.py` synthesizes offline: no AWS account, no credentials, no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.infrastructure


def test_app_synthesizes_offline_without_credentials(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in {"CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION"}
    }
    env["CDK_OUTDIR"] = str(tmp_path)
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    # As `cdk synth --context aws:cdk:bundling-stacks=[]`: no pip, no network.
    env["CDK_CONTEXT_JSON"] = json.dumps({"aws:cdk:bundling-stacks": []})

    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "OpowerGateway" in manifest["artifacts"]
    assert (tmp_path / "OpowerGateway.template.json").exists()


def test_cdk_json_runs_the_app_with_telemetry_and_notices_off() -> None:
    settings = json.loads((ROOT / "cdk.json").read_text())

    assert settings["app"] == "python3 app.py"
    assert settings["notices"] is False
    assert settings["cli-telemetry"] is False


def test_an_invalid_setting_fails_synthesis_naming_it(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["CDK_OUTDIR"] = str(tmp_path)
    env["CDK_CONTEXT_JSON"] = json.dumps({"aws:cdk:bundling-stacks": [], "proxy_timeout_s": "30"})

    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "proxy_timeout_s" in result.stderr
    assert "Traceback" not in result.stderr
