"""Schemathesis against the running local gateway's own OpenAPI document.

Every operation of the served `GET /v1/openapi.json` is exercised with schema-valid
(positive) and schema-invalid (negative) requests, authenticated as a sample customer.
Each answer must not be a server error and must conform to the document: a documented
status code, the declared content type and the declared response schema. A 429 (the
fleet budget or Opower throttling, with Retry-After) is documented for every operation,
so a burst that outruns the budget is an accepted answer, not a failure.

Bounded and reproducible: at most MAX_EXAMPLES examples per operation and mode,
derandomized, no example database.

`schemathesis.pytest.from_fixture` cannot be used here: schemathesis 4.32.5 reads
`request.node._nodeid`, which pytest 9 no longer has (AttributeError). So the operations
are parametrized from the gateway's route table (the same document, built in-process)
and each is looked up in the schema loaded from the running gateway, whose operations
become Hypothesis strategies (`APIOperation.as_strategy`).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.proxy import openapi
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

CUSTOMER = "UC-0002"  # two utility accounts, electricity and gas, a seeded threshold
MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _operations() -> list[Any]:
    params = []
    for path, operations in openapi.document()["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            params.append(pytest.param(path, method, GenerationMode.POSITIVE, id=label))
            if operation.get("parameters") or "requestBody" in operation:
                # Nothing to violate in an operation without inputs.
                params.append(
                    pytest.param(path, method, GenerationMode.NEGATIVE, id=f"{label} negative")
                )
    return params


@pytest.fixture(scope="module")
def served_schema(stack: RunningStack) -> Any:
    """The document the running gateway serves (no authentication needed)."""
    return schemathesis.openapi.from_url(stack.summary["openapi"], timeout=10)


def test_the_served_document_is_the_route_tables(stack: RunningStack) -> None:
    assert stack.call("GET", openapi.OPENAPI_PATH).json() == openapi.document()


@pytest.mark.parametrize(("path", "method", "mode"), _operations())
def test_the_gateway_conforms_to_its_openapi_document(
    e2e: RunningStack, served_schema: Any, path: str, method: str, mode: GenerationMode
) -> None:
    assert not path.startswith(("/_local", "/_sandbox", "/apis"))  # control paths: not served
    operation = served_schema[path][method]
    authorization = {"Authorization": f"Bearer {e2e.token(CUSTOMER)}"}

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def conforms(case: Case) -> None:
        case.call_and_validate(
            base_url=e2e.gateway, headers=authorization, checks=CHECKS, timeout=30
        )

    conforms()


# Found by the positive-mode fuzzing: 80.0 is an integer to JSON Schema (and so to the
# served document) but not to Opower; the gateway forwards it as 80.
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/me/threshold", {"threshold": 100, "percentage": 80.0}),
        ("/v1/me/home-profile", {"numberOfAdults": 2.0}),
    ],
    ids=["threshold-percentage", "home-profile-numberOfAdults"],
)
def test_a_schema_valid_integral_float_is_accepted(
    e2e: RunningStack, path: str, body: dict[str, Any]
) -> None:
    response = e2e.call("PUT", path, customer=CUSTOMER, json=body)

    assert response.status == 204, response.data
