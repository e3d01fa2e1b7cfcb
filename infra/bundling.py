"""The Lambda asset, built without Docker: the code of ``lambdas/`` plus its dependencies
installed by pip as Linux/arm64 wheels for the runtime's Python version, then compiled to
bytecode for that Python (infra/compile_bytecode.mjs: CPython as WebAssembly, from the
npm package `pyodide` pinned in package.json), so that no cold start compiles it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_ROOT = ROOT / "lambdas"
REQUIREMENTS = LAMBDA_ROOT / "requirements.txt"
# The full closure, pinned and hashed (`make lock`, infra/lock.py): what the asset holds.
LOCK = LAMBDA_ROOT / "requirements.lock"
# Matches ARM_64 in infra.functions; manylinux2014 wheels run on Lambda's Amazon Linux 2023.
PIP_PLATFORM = "manylinux2014_aarch64"
COMPILER = ROOT / "infra" / "compile_bytecode.mjs"
# The pyodide whose CPython is the runtime's (package.json pins it; a test keeps the two
# equal): named here for the app that installs the construct from its wheel.
PYODIDE_VERSION = "314.0.7"
# Imported from the compiled asset by the compiler, to prove it loads.
HANDLERS = ("handlers.proxy", "handlers.authorizer")
# Never shipped: build caches and anything that is not the handlers' code (the asset's
# own bytecode is compiled after the copy, for the runtime's Python).
ASSET_EXCLUDES = (
    "__pycache__",
    "*.pyc",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "tests",
    "*.egg-info",
    "requirements.lock",
)


@jsii.implements(cdk.ILocalBundling)
class PipLocalBundling:
    """Copies the code, then lets pip pick binary wheels for the Lambda platform, so the
    build needs neither Docker nor an arm64 machine; an sdist-only dependency fails loudly
    (``--only-binary``) instead of being compiled for the wrong platform."""

    def __init__(self, *, python_version: str) -> None:
        self._python_version = python_version

    # jsii passes the BundlingOptions struct, which this bundler does not need: accepting
    # it however it comes keeps the method compatible with ILocalBundling's signature.
    def try_bundle(self, output_dir: str, *_options: Any, **_kw_options: Any) -> bool:
        out = Path(output_dir)
        shutil.copytree(
            LAMBDA_ROOT,
            out,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(*ASSET_EXCLUDES),
        )
        subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                # Every package, transitive ones included, must be in the lock with the
                # hash of its wheel: the same lock always builds the same asset.
                "--require-hashes",
                "-r",
                str(LOCK),
                "--target",
                str(out),
                "--platform",
                PIP_PLATFORM,
                "--only-binary=:all:",
                "--python-version",
                self._python_version,
                "--implementation",
                "cp",
            ],
            check=True,
        )
        compile_bytecode(out, self._python_version)
        return True


def pyodide_dir(start: Path | None = None) -> Path | None:
    """The npm package `pyodide`: in the CDK app's ``node_modules`` (the working directory
    or one above it, as npm installs it), else in this repository's. Found here rather than
    by Node's resolution, which starts from the compiler's own file: installed from the
    wheel, that file sits in the app's site-packages, far from its node_modules."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents, ROOT):
        candidate = directory / "node_modules" / "pyodide"
        if (candidate / "pyodide.mjs").is_file():
            return candidate
    return None


def compile_bytecode(asset: Path, python_version: str) -> None:
    """`*.cpython-3XX.pyc` beside every module of the asset, for the runtime's Python."""
    node = shutil.which("node")
    pyodide = pyodide_dir()
    if node is None or pyodide is None:
        raise RuntimeError(
            "compiling the Lambda asset needs Node.js and the npm package "
            f"pyodide@{PYODIDE_VERSION} in the CDK app's node_modules: run `npm ci` here "
            f"(make synth/deploy do it), or `npm install --save-dev pyodide@{PYODIDE_VERSION}` "
            "in your own app"
        )
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [node, str(COMPILER), str(asset.resolve()), python_version, *HANDLERS],
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYODIDE_DIR": str(pyodide)},
    )


def lambda_code(runtime: lambda_.Runtime) -> lambda_.Code:
    """One asset for both functions: same code, dependencies and hash."""
    python_version = runtime.name.removeprefix("python")
    return lambda_.Code.from_asset(
        str(LAMBDA_ROOT),
        exclude=list(ASSET_EXCLUDES),
        bundling=cdk.BundlingOptions(
            # Only named because the property is required: local bundling always succeeds
            # or raises, so this image is never pulled.
            image=runtime.bundling_image,
            local=PipLocalBundling(python_version=python_version),
        ),
    )
