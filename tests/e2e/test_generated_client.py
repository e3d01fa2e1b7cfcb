"""A client generated from the served OpenAPI document returns typed models for every route.

What an integration team does first: `openapi-python-client generate` from
`GET /v1/openapi.json`, then call the API with it. Every operation of the route table is
called through the generated code against the running local stack, as a sample customer,
and each answer must parse into the named model the document gives it (not a bare dict):
`list[UtilityAccount]`, `Usage` with `UsageRead`s, `BillComparison`, and so on. Errors
parse into `Error`.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gateway.proxy import openapi
from gateway.routes import ROUTES
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

PACKAGE = "opower_gateway_client"
CUSTOMER = "UC-0002"  # electricity and gas, utility accounts 2000003 and 2000004
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture(scope="module")
def generated(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The generated package, imported: `.api`, `.models`, `.client`."""
    root = tmp_path_factory.mktemp("generated")
    document = root / "openapi.json"
    document.write_bytes(stack.call("GET", openapi.OPENAPI_PATH).data)
    env = {**os.environ, "PATH": os.pathsep.join([str(GENERATOR.parent), os.environ["PATH"]])}
    run = subprocess.run(  # noqa: S603 - our own venv's generator, our document
        [str(GENERATOR), "generate", "--path", str(document), "--meta", "none",
         "--output-path", str(root / PACKAGE)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def _operation(package: ModuleType, operation_id: str) -> Any:
    """The generated module of an operation (api/<tag>/<operationId>.py)."""
    root = Path(str(package.__file__)).parent
    (path,) = root.glob(f"api/*/{operation_id}.py")
    return _module(package, f"api.{path.parent.name}.{operation_id}")


@pytest.fixture
def client(e2e: RunningStack, generated: Any) -> Any:
    module = _module(generated, "client")
    return module.AuthenticatedClient(base_url=e2e.gateway, token=e2e.token(CUSTOMER))


def test_every_operation_of_the_route_table_is_in_the_generated_client(generated: Any) -> None:
    expected = {openapi.operation_id(route, op) for route in ROUTES for op in route.operations}
    modules = {path.stem for path in Path(generated.__file__).parent.glob("api/*/*.py")} - {
        "__init__"
    }

    assert expected <= modules


def test_every_route_answers_its_typed_model(generated: Any, client: Any) -> None:
    models = _module(generated, "models")

    def call(operation: str, *args: Any, **kwargs: Any) -> Any:
        tag = next(
            p.parent.name for p in Path(generated.__file__).parent.glob(f"api/*/{operation}.py")
        )
        response = _module(generated, f"api.{tag}.{operation}").sync_detailed(
            *args, client=client, **kwargs
        )
        assert response.status_code < 300, (operation, response.status_code, response.content)
        return response.parsed

    accounts = call("accounts_get")
    assert accounts
    assert all(isinstance(a, models.UtilityAccount) for a in accounts)
    assert {a.id for a in accounts} == {2000003, 2000004}

    comparison = call("bill_comparison_get", accounts[0].id)
    assert isinstance(comparison, models.BillComparison)
    assert isinstance(comparison.current_bill, models.Bill)

    # An offset with a plus sign: the client encodes it, the gateway reads it.
    plus_one = timezone(timedelta(hours=1))
    start = datetime.now(UTC).astimezone(plus_one).replace(
        hour=0, minute=0, second=0, microsecond=0
    ) - timedelta(days=3)
    usage = call(
        "usage_get",
        models.UsageGetResolution.RAW,
        models.UsageGetFuel.GAS,
        start=start,
        end=start + timedelta(hours=6),
    )
    assert isinstance(usage, models.Usage)
    assert usage.fuel_type == models.FuelType.GAS
    assert usage.reads
    assert all(isinstance(r, models.UsageRead) for r in usage.reads)

    assert isinstance(call("bill_forecast_get"), models.BillForecast)
    neighbors = call("neighbor_comparison_get")
    assert isinstance(neighbors, models.NeighborComparison)
    assert all(isinstance(c, models.NeighborComparisonPeriod) for c in neighbors.comparisons)

    call("home_profile_put", body=models.HomeProfilePutBody(number_of_adults=2, square_feet=900))
    profile = call("home_profile_get")
    assert isinstance(profile, models.HomeProfile)
    assert (profile.number_of_adults, profile.square_feet) == (2, 900)

    call("threshold_put", body=models.ThresholdPutBody(threshold=120.5, percentage=80))
    threshold = call("threshold_get")
    assert isinstance(threshold, models.Threshold)
    assert (threshold.threshold, threshold.percentage) == (120.5, 80)
    call("threshold_delete")


def test_errors_parse_into_the_error_model(generated: Any, client: Any) -> None:
    models = _module(generated, "models")
    comparison = _operation(generated, "bill_comparison_get")

    response = comparison.sync_detailed(999999999, client=client)  # not this customer's

    assert response.status_code == 404
    assert isinstance(response.parsed, models.Error)
    assert response.parsed.error.code == "not_found"
    assert json.loads(response.content)["error"]["requestId"] == response.parsed.error.request_id
