"""A client generated from the served OpenAPI document returns typed models for every route.

What an integration team does first: `openapi-python-client generate` from
`GET /v1/openapi.json`, then call the API with it. Every operation of the route table is
called through the generated code against the running local stack, as a sample customer,
and each answer must parse into the named model the document gives it (not a bare dict):
`UtilityAccounts` holding `UtilityAccount`s, `Usage` with its `UsageStream`s and
`UsageInterval`s, `BillComparison`, and so on: Opower's answers as Oracle's pages document
them, `response` and all. Errors parse into `Error`.
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

    # Get Utility Account List: {"response": [UtilityAccount, ...]} (or one object).
    accounts = call("accounts_get")
    assert isinstance(accounts, models.UtilityAccounts)
    listed = accounts.response if isinstance(accounts.response, list) else [accounts.response]
    assert all(isinstance(a, models.UtilityAccount) for a in listed)
    assert {a.id for a in listed} == {2000003, 2000004}

    comparison = call("bill_comparison_get", listed[0].id)
    assert isinstance(comparison, models.BillComparison)
    assert isinstance(comparison.response, models.BillComparisonResponse)
    assert isinstance(comparison.response.reference, models.ComparedBill)
    assert all(isinstance(a, models.BillAnalysis) for a in comparison.response.analysis_results)

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
    assert usage.response.fuel_type == "GAS"
    (stream,) = usage.response.streams  # one gas service point
    assert isinstance(stream, models.UsageStream)
    assert stream.intervals
    assert all(isinstance(i, models.UsageInterval) for i in stream.intervals)
    # A date alone, as the usage pages allow it.
    days = call(
        "usage_get",
        models.UsageGetResolution.DAY,
        models.UsageGetFuel.GAS,
        start=(start - timedelta(days=7)).date(),
        end=start.date(),
    )
    assert [i.actual_reads_count for i in days.response.streams[0].intervals] == [24] * 7

    assert isinstance(call("bill_forecast_get"), models.BillForecast)
    neighbors = call("neighbor_comparison_get")
    assert isinstance(neighbors, models.NeighborComparisons)
    by_fuel = neighbors.response
    assert isinstance(by_fuel, models.NeighborComparisonsByFuel)
    assert all(isinstance(c, models.NeighborComparison) for c in (by_fuel.elec, by_fuel.gas,
                                                                  by_fuel.combined))  # fmt: skip

    multi_family = models.HomeProfilePutBodyDwellingType.MULTI_FAMILY  # Oracle's enumeration
    body = models.HomeProfilePutBody(
        number_of_adults=2, square_feet=900, dwelling_type=multi_family
    )
    call("home_profile_put", body=body)
    profile = call("home_profile_get")
    assert isinstance(profile, models.HomeProfileAnswer)
    assert isinstance(profile.response, models.HomeProfile)
    assert (profile.response.number_of_adults, profile.response.square_feet) == (2, 900)
    assert profile.response.dwelling_type == "MULTI_FAMILY"

    call("threshold_put", body=models.ThresholdPutBody(threshold=120.5, percentage=82.5))
    threshold = call("threshold_get")
    assert isinstance(threshold, models.ThresholdAnswer)
    assert (threshold.response.threshold, threshold.response.percentage) == (120.5, 82.5)
    assert threshold.response.utility_customer_id == CUSTOMER
    call("threshold_delete")


def test_a_field_oracle_adds_is_kept_by_the_generated_models(
    e2e: RunningStack, generated: Any, client: Any
) -> None:
    """Every answer schema is open: a field Opower adds is in the model's
    additional_properties, not an error."""
    models = _module(generated, "models")
    e2e.sandbox_control("POST", "answers", {"threshold": {"status": 200, "body": {"response": {
        "threshold": 10.0, "percentage": 50.0, "utilityCode": "UTX",
        "utilityCustomerId": CUSTOMER, "alertChannel": "SMS"}, "next": 1}}})  # fmt: skip
    threshold = _operation(generated, "threshold_get").sync_detailed(client=client)

    assert threshold.status_code == 200, threshold.content
    assert isinstance(threshold.parsed, models.ThresholdAnswer)
    assert threshold.parsed.additional_properties == {"next": 1}
    assert threshold.parsed.response.additional_properties == {"alertChannel": "SMS"}


def test_errors_parse_into_the_error_model(generated: Any, client: Any) -> None:
    models = _module(generated, "models")
    comparison = _operation(generated, "bill_comparison_get")

    response = comparison.sync_detailed(999999999, client=client)  # not this customer's

    assert response.status_code == 404
    assert isinstance(response.parsed, models.Error)
    assert response.parsed.error.code == "not_found"
    assert json.loads(response.content)["error"]["requestId"] == response.parsed.error.request_id
