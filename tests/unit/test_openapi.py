import json
from pathlib import Path

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
