import json
from pathlib import Path

from gateway import schemas
from gateway.proxy import openapi
from gateway.routes import ROUTES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_docs_openapi_json_is_current() -> None:
    assert DOCS.read_text() == openapi.serialized(), "run `make openapi` and commit the result"


def test_every_route_and_method_is_described() -> None:
    paths = openapi.document()["paths"]

    for route in ROUTES:
        assert set(paths[route.path]) == {m.lower() for m in route.methods}
        for method in route.methods:
            operation = paths[route.path][method.lower()]
            declared = {p["name"] for p in operation.get("parameters", [])}
            assert declared == set(route.path_params) | set(route.operation(method).query)  # type: ignore[union-attr]


def test_the_document_is_openapi_3_1_and_json() -> None:
    document = json.loads(openapi.serialized())

    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["session"]["scheme"] == "bearer"
    assert document["paths"]["/v1/openapi.json"]["get"]["security"] == []


SERVICE_DOCS = DOCS.with_name("openapi-service.json")


def test_the_service_apis_document_is_current_valid_and_signed() -> None:
    from openapi_spec_validator import validate

    from gateway.routes import service_path

    document = openapi.service_document()
    assert SERVICE_DOCS.read_text() == openapi.service_serialized(), "run `make openapi`"
    validate(json.loads(SERVICE_DOCS.read_text()))
    assert document["security"] == [{"sigv4": []}]
    assert set(document["paths"]) == {service_path(route) for route in ROUTES}
    for route in ROUTES:
        for method in route.methods:
            operation = document["paths"][service_path(route)][method.lower()]
            naming = ("utilityCustomerId", "accountNumber", "utilityCode")
            named = {p["name"]: p["required"] for p in operation["parameters"]
                     if p["name"] in naming}  # fmt: skip
            assert named == {"utilityCustomerId": True, "accountNumber": True, "utilityCode": False}
            assert all(p["in"] == "query" for p in operation["parameters"]
                       if p["name"] in named)  # fmt: skip
            assert "401" not in operation["responses"]
            assert {"403", "404", "409"} <= set(operation["responses"])


def test_a_service_answer_is_described_as_the_customers_answer() -> None:
    """The service API answers as the customer API does (tests/integration/proxy/
    test_service_api.py compares the two answers), so the customer document's checked
    schemas (test_answers_match_the_document.py) hold for it: the same schema each."""
    from gateway.routes import service_path

    customer, service = openapi.document(), openapi.service_document()
    for route in ROUTES:
        for method in route.methods:
            ours = service["paths"][service_path(route)][method.lower()]["responses"]
            theirs = customer["paths"][route.path][method.lower()]["responses"]
            for status in ("200", "204"):
                assert ours.get(status) == theirs.get(status), (route.name, method, status)


def test_an_example_oracle_never_published_is_marked_assumed() -> None:
    """Get Bill Forecast and Get Bill Period publish no answer schema nor example (their
    pages): the document's example for them is the sandbox's, and says so; every other
    example is the page's own and stays a plain example."""
    document = openapi.document()
    paths = document["paths"]
    for path, route in (("/v1/me/bill-forecast", "bill_forecast"),
                        ("/v1/me/accounts/{accountId}/bill-period", "bill_period")):  # fmt: skip
        content = paths[path]["get"]["responses"]["200"]["content"]["application/json"]
        assert "example" not in content
        assumed = content["examples"]["assumed"]
        assert assumed["summary"].startswith("Assumed")
        assert "publishes no answer schema or example" in assumed["description"]
        assert assumed["value"] == schemas.EXAMPLES[route]
    accounts = paths["/v1/me/accounts"]["get"]["responses"]["200"]["content"]["application/json"]
    assert accounts["example"] == schemas.EXAMPLES["accounts"]
