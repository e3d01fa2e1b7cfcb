"""``make dist``: the construct as a wheel a utility's own CDK app installs with pip.

The wheel holds one top-level package, ``opower_gateway``:

- ``opower_gateway/__init__.py``: the public names (this repository's
  ``opower_gateway/__init__.py``);
- ``opower_gateway/infra`` and ``opower_gateway/gateway``: the modules the construct imports
  at synthesis, found by following the imports from there (dev tools such as
  ``infra.forget`` or ``local`` are not reached, so not shipped), with every
  ``from infra…`` / ``from gateway…`` rewritten to ``from opower_gateway.…``: installing the
  wheel adds no ``infra`` or ``gateway`` package to the app's Python;
- ``opower_gateway/lambdas``: the Lambda asset root, byte for byte as ``lambdas/`` here
  (minus what the asset excludes), so that the asset bundled from it, its hash and its
  bytecode are this repository's;
- the bundler's compiler, ``compile_bytecode.mjs``.

The build is setuptools (pinned in requirements.txt) driven by ``pip wheel`` without build
isolation, so it runs offline from the toolchain ``make test`` installs. The wheel's
dependencies are the synthesis-time packages at this repository's pins, up to their next
major version.

    python -m infra.dist [--outdir dist]
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from gateway.version import VERSION
from infra.bundling import ASSET_EXCLUDES, LAMBDA_ROOT, PYODIDE_VERSION

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "opower_gateway"
DIST_NAME = "opower-gateway"
# Where each first-party top-level package lives in this repository.
SOURCES = {
    PACKAGE: ROOT / PACKAGE,
    "infra": ROOT / "infra",
    "gateway": LAMBDA_ROOT / "gateway",
}
# Vendored under the package, imports rewritten.
VENDORED = ("infra", "gateway")
# Files the vendored modules read beside themselves.
DATA = ("infra/compile_bytecode.mjs",)
# Third-party packages imported at synthesis, as pinned in requirements*.txt.
DEPENDENCIES = ("aws-cdk-lib", "constructs", "cdk-nag", "urllib3")
REQUIREMENT_FILES = (
    ROOT / "requirements.txt",
    ROOT / "requirements-local.txt",
    LAMBDA_ROOT / "requirements.txt",
)
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([0-9][^\s;#]*)", re.MULTILINE)


class DistError(RuntimeError):
    """The wheel cannot be built as it must be (an import the build cannot rewrite)."""


def module_file(name: str) -> Path | None:
    """The file of a first-party module (``infra.config``), None for anything else."""
    top, _, rest = name.partition(".")
    base = SOURCES.get(top)
    if base is None:
        return None
    path = base.joinpath(*rest.split(".")) if rest else base
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def _imported(tree: ast.AST) -> Iterable[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in SOURCES:
                    raise DistError(
                        f"`import {alias.name}` binds the top-level name, which the wheel "
                        "cannot rename: write `from ... import ...`"
                    )
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            # `from infra import quotas`: a submodule, or a name of infra/__init__.py
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def closure(roots: Iterable[str] = (PACKAGE,)) -> dict[str, Path]:
    """Every first-party module reached by importing ``roots`` (each with its packages)."""
    found: dict[str, Path] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        path = module_file(name)
        if name in found or path is None:
            continue
        found[name] = path
        parts = name.split(".")
        pending.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        pending.extend(_imported(ast.parse(path.read_text(), str(path))))
    if "local" in {name.split(".")[0] for name in found}:  # pragma: no cover - SOURCES has none
        raise DistError("the construct imports the local emulator")
    return found


_FROM = re.compile(r"^(\s*from\s+)(infra|gateway)(?=[.\s])", re.MULTILINE)


def rewrite(source: str) -> str:
    """``from infra.x import y`` → ``from opower_gateway.infra.x import y`` (and gateway)."""
    return _FROM.sub(rf"\g<1>{PACKAGE}.\g<2>", source)


def _destination(stage: Path, name: str, path: Path) -> Path:
    top = name.split(".")[0]
    relative = path.relative_to(SOURCES[top])
    if top == PACKAGE:
        return stage / PACKAGE / relative
    return stage / PACKAGE / top / relative


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for file in REQUIREMENT_FILES:
        for name, version in _PIN.findall(file.read_text()):
            pins[name.lower().replace("_", "-")] = version
    return pins


def requirements() -> list[str]:
    """``aws-cdk-lib>=2.275.0,<3``: tested at the pin, trusted to the next major."""
    pins = _pins()
    return [f"{name}>={pins[name]},<{int(pins[name].split('.')[0]) + 1}" for name in DEPENDENCIES]


def _pyproject() -> str:
    dependencies = "".join(f'    "{requirement}",\n' for requirement in requirements())
    return f"""[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "{DIST_NAME}"
version = "{VERSION}"
description = "The Opower Gateway CDK construct: Opower APIs scoped to each utility customer"
readme = "README.md"
requires-python = ">=3.11"
license = "Apache-2.0"
license-files = ["LICENSE", "NOTICE"]
dependencies = [
{dependencies}]

[tool.setuptools.packages.find]
include = ["{PACKAGE}*"]

[tool.setuptools.package-data]
"{PACKAGE}" = ["py.typed", "lambdas/**/*"]
"{PACKAGE}.infra" = ["*.mjs"]
"""


def _readme() -> str:
    return f"""# Opower Gateway {VERSION}

The Opower Gateway CDK construct: API Gateway, a Lambda authorizer and proxy, the token
store, response cache, secrets, WAF and monitoring that let each customer of a utility
reach only their own data in Oracle Utilities Opower.

```python
import aws_cdk as cdk
from opower_gateway import GatewayConfig, OpowerGateway

app = cdk.App()
stack = cdk.Stack(app, "UtilityPlatform")
OpowerGateway(stack, "Opower", config=GatewayConfig.from_node(app.node))
app.synth()
```

The settings are the app's context (`cdk.json` → `context.gateway`). Building the Lambda
asset needs Node.js and the npm package `pyodide@{PYODIDE_VERSION}` in the app's
`node_modules` (it compiles the asset's bytecode for the Lambda runtime's Python).
"""


def stage(directory: Path) -> Path:
    """The wheel's source tree in ``directory``."""
    for name, path in sorted(closure().items()):
        target = _destination(directory, name, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rewrite(path.read_text()))
        # a package reached only through its submodules still needs its __init__
        if target.name != "__init__.py" and not (target.parent / "__init__.py").exists():
            raise DistError(f"{name}: its package has no __init__.py")
    (directory / PACKAGE / "py.typed").write_text("")
    for pattern in DATA:
        top, _, rest = pattern.partition("/")
        for path in SOURCES[top].glob(rest):
            if path.is_file():
                target = directory / PACKAGE / top / path.relative_to(SOURCES[top])
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    shutil.copytree(
        LAMBDA_ROOT,
        directory / PACKAGE / "lambdas",
        ignore=shutil.ignore_patterns(*(p for p in ASSET_EXCLUDES if p != "requirements.lock")),
    )
    for legal in ("LICENSE", "NOTICE"):
        shutil.copy2(ROOT / legal, directory / legal)
    (directory / "README.md").write_text(_readme())
    (directory / "pyproject.toml").write_text(_pyproject())
    return directory


def build(outdir: Path) -> Path:
    """The wheel, built offline with the installed setuptools; returns its path."""
    outdir = outdir.resolve()  # pip runs in a directory of its own
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="opower-gateway-dist-") as work:
        source = stage(Path(work) / "src")
        subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--disable-pip-version-check",
                "--no-build-isolation",
                "--no-deps",
                "--no-index",
                "--wheel-dir",
                str(outdir),
                str(source),
            ],
            check=True,
            cwd=work,
        )
    wheel = outdir / f"{PACKAGE}-{VERSION}-py3-none-any.whl"
    if not wheel.is_file():
        raise DistError(f"pip wheel did not write {wheel.name}")
    return wheel


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    print(build(args.outdir))


if __name__ == "__main__":
    main()
