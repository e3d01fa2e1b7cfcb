"""The construct as a wheel (infra/dist.py, `make dist`): built, installed in a fresh
virtual environment outside the tree, used by a CDK app of its own, and synthesizing the
template this repository synthesizes for the same settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sysconfig
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.version import VERSION
from infra import dist
from infra.app import cdk_json_context
from infra.bundling import ASSET_EXCLUDES, LAMBDA_ROOT, PYODIDE_VERSION, ROOT
from tests.infrastructure.conftest import SKIP_BUNDLING, Synthesized

pytestmark = pytest.mark.infrastructure

# What a utility's app.py holds: the construct in a stack of its own. The id "Default" is
# the one this repository's stack gives it (CDK leaves it out of logical ids), so that the
# two templates can be compared resource by resource.
OUTSIDE_APP = """\
import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from opower_gateway import GatewayConfig, OpowerGateway, synthesize

app = cdk.App()
config = GatewayConfig.from_node(app.node)
stack = cdk.Stack(app, config.stack_name, description=f"Opower Gateway ({config.stack_name})")
OpowerGateway(stack, "Default", config=config)
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
synthesize(app, stack)  # app.synth(), then the template against AWS's quotas
"""


def test_imports_are_rewritten_under_the_package() -> None:
    source = (
        "from infra.config import GatewayConfig\n"
        "from infra import quotas\n"
        "    from gateway.routes import ROUTES  # nested\n"
        "from gateway import errors\n"
        "from infrastructure import x\n"
        "from gateways.y import z\n"
        'text = "from infra.config import GatewayConfig"\n'
    )

    assert dist.rewrite(source).splitlines() == [
        "from opower_gateway.infra.config import GatewayConfig",
        "from opower_gateway.infra import quotas",
        "    from opower_gateway.gateway.routes import ROUTES  # nested",
        "from opower_gateway.gateway import errors",
        "from infrastructure import x",
        "from gateways.y import z",
        'text = "from infra.config import GatewayConfig"',
    ]


def test_an_import_the_build_cannot_rename_fails_it(tmp_path: Path) -> None:
    with pytest.raises(dist.DistError, match="binds the top-level name"):
        list(dist._imported(dist.ast.parse("import infra.config\n")))


def test_the_wheel_holds_what_synthesis_imports_and_no_dev_tool() -> None:
    shipped = set(dist.closure())

    assert {"opower_gateway", "infra.gateway", "infra.config", "infra.bundling"} <= shipped
    assert {"gateway.routes", "gateway.settings", "gateway.proxy.openapi"} <= shipped
    # reached only from the command line, never by the construct
    assert not {"infra.forget", "infra.dist", "infra.settings_table", "infra.lock"} & shipped
    assert not {name for name in shipped if name.split(".")[0] in ("local", "handlers")}


def test_the_wheel_requires_the_synthesis_packages_at_this_repositorys_pins() -> None:
    requirements = dist.requirements()
    pinned = (ROOT / "requirements.txt").read_text()

    assert [r.split(">=")[0] for r in requirements] == list(dist.DEPENDENCIES)
    for requirement in requirements:
        name, bounds = requirement.split(">=")
        low, high = bounds.split(",<")
        assert int(high) == int(low.split(".")[0]) + 1
        if name != "urllib3":  # pinned by the Lambda code's requirements
            assert f"{name}=={low}" in pinned


@dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path
    app: Path
    env: dict[str, str]

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - the test's own venv and arguments
            [str(self.python), *args],
            cwd=self.app,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`make dist`'s wheel, pip-installed into a new venv in a temporary directory. The
    venv sees this one's site-packages through a .pth file (aws-cdk-lib is 100 MB and
    would need the network), so pip resolves the wheel's dependencies against them with
    `--no-index`; the repository itself is not on its path."""
    root = tmp_path_factory.mktemp("outside")
    here = Path.cwd()
    os.chdir(root)  # as `make dist` runs it: --outdir dist, relative
    try:
        wheel = dist.build(Path("dist"))
    finally:
        os.chdir(here)
    assert wheel == root / "dist" / wheel.name
    environment = root / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    purelib = subprocess.run(  # noqa: S603
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "toolchain.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "CDK_CONTEXT_JSON", "CDK_OUTDIR")
    }
    install = subprocess.run(  # noqa: S603
        [str(python), "-m", "pip", "install", "--no-index", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    app = root / "app"
    app.mkdir()
    (app / "app.py").write_text(OUTSIDE_APP)
    # the app's own node_modules, as `npm install pyodide` would leave it
    (app / "node_modules").symlink_to(ROOT / "node_modules")
    return Installed(wheel=wheel, python=python, app=app, env=env)


def test_the_wheel_installs_one_package_and_nothing_of_the_repository(
    installed: Installed,
) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()

    assert installed.wheel.name == f"opower_gateway-{VERSION}-py3-none-any.whl"
    assert {name.split("/")[0] for name in names} == {
        "opower_gateway",
        f"opower_gateway-{VERSION}.dist-info",
    }
    assert f"opower_gateway-{VERSION}.dist-info/licenses/LICENSE" in names
    probe = installed.run(
        "-c",
        "import importlib.util as u, opower_gateway as o; "
        "print(o.__version__, o.__file__, [n for n in ('infra', 'gateway', 'handlers', "
        "'local', 'tests') if u.find_spec(n)])",
    )
    assert probe.returncode == 0, probe.stderr
    version, location, found = probe.stdout.split(" ", 2)
    assert version == VERSION
    assert not Path(location).is_relative_to(ROOT)
    assert found.strip() == "[]"  # no `infra` or `gateway` added to the app's Python


def test_the_lambda_asset_in_the_wheel_is_lambdas_byte_for_byte(installed: Installed) -> None:
    # what the asset leaves out, but the lock its build installs
    patterns = [p for p in ASSET_EXCLUDES if p != "requirements.lock"]
    excluded = re.compile("|".join(p.replace(".", r"\.").replace("*", ".*") for p in patterns))

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(path.relative_to(root)): path.read_bytes()
            for path in root.rglob("*")
            if path.is_file() and not any(excluded.fullmatch(p) for p in path.parts)
        }

    location = installed.run("-c", "import opower_gateway as o; print(o.__file__)")
    package = Path(location.stdout.strip()).parent

    shipped = files(package / "lambdas")
    assert shipped == files(LAMBDA_ROOT)
    assert {"requirements.lock", "handlers/proxy.py", "gateway/routes.py"} <= set(shipped)


def _differences(left: object, right: object, path: str = "") -> list[str]:
    """Where two JSON documents differ, as paths (for the assertion's message)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return [
            difference
            for key in sorted(set(left) | set(right), key=str)
            for difference in _differences(left.get(key), right.get(key), f"{path}/{key}")
        ]
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [d for i, pair in enumerate(zip(left, right, strict=True))
                for d in _differences(*pair, f"{path}/{i}")]  # fmt: skip
    return [] if left == right else [f"{path}: {left!r:.80} != {right!r:.80}"]


def test_an_app_outside_the_tree_synthesizes_the_repositorys_template(
    installed: Installed, synthesized: Synthesized, tmp_path: Path
) -> None:
    outdir = tmp_path / "cdk.out"
    # as `cdk synth` runs an app: its cdk.json context and the output directory, by env
    context = {**cdk_json_context(), **SKIP_BUNDLING}
    synth = installed.run("app.py", CDK_CONTEXT_JSON=json.dumps(context), CDK_OUTDIR=str(outdir))
    assert synth.returncode == 0, synth.stderr[-3000:]

    template = json.loads((outdir / synthesized.stack.template_file).read_text())

    assert sorted(template["Resources"]) == sorted(synthesized.raw["Resources"])
    # Equal to the byte, asset locations included: the asset is built from the same files
    # (the test above), so its hash, the S3 key, is the same.
    assert template == synthesized.raw, _differences(template, synthesized.raw)[:10]


def test_the_installed_bundler_compiles_with_the_apps_pyodide(installed: Installed) -> None:
    """The asset's bytecode is compiled by the wheel's compile_bytecode.mjs with the pyodide
    in the app's node_modules (Node would look beside the installed file instead)."""
    asset = installed.app / "asset"
    (asset / "handlers").mkdir(parents=True)
    (asset / "handlers" / "__init__.py").write_text("")
    (asset / "handlers" / "probe.py").write_text("ANSWER = 42\n")
    script = (
        "from pathlib import Path; import opower_gateway.infra.bundling as b; "
        "b.HANDLERS = ('handlers.probe',); "
        "print(b.pyodide_dir()); b.compile_bytecode(Path('asset'), '3.14')"
    )

    compiled = installed.run("-c", script)

    assert compiled.returncode == 0, compiled.stderr[-2000:]
    assert compiled.stdout.splitlines()[0] == str(installed.app / "node_modules" / "pyodide")
    assert list((asset / "handlers" / "__pycache__").glob("probe.cpython-314.pyc"))


def test_the_bundlers_pyodide_is_package_jsons() -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["pyodide"]

    assert pinned == PYODIDE_VERSION


def test_make_dist_builds_the_wheel() -> None:
    makefile = (ROOT / "Makefile").read_text()

    assert re.search(r"^dist: .*## ", makefile, re.MULTILINE)
    assert "-m infra.dist" in makefile


def test_the_docs_name_this_versions_wheel_and_pyodide() -> None:
    deploying = (ROOT / "docs" / "deploying.md").read_text()

    assert f"opower_gateway-{VERSION}-py3-none-any.whl" in deploying
    assert f"pyodide@{PYODIDE_VERSION}" in deploying
    assert f"pyodide@{PYODIDE_VERSION}" in dist._readme()
