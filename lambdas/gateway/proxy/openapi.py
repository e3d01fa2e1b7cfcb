"""The OpenAPI 3.1 description of the customer API, generated from the route table.

Served at ``GET /v1/openapi.json``; ``python -m gateway.proxy.openapi`` prints it (``make
openapi`` writes docs/openapi.json, and a test checks that file is current).
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

from gateway.routes import ROUTES, Body, BodyField, Operation, Param, Route

API_VERSION = "1.0.0"
OPENAPI_PATH = "/v1/openapi.json"
_ERRORS = {
    "400": "The request is invalid (parameters, body or path)",
    "401": "No valid session token",
    "403": "The session may not act for this customer",
    "404": "No such resource (or not yours)",
    "405": "Method not allowed on this resource",
    "413": "Body too large",
    "415": "Body is not application/json",
    "429": "Too many requests; see Retry-After",
    "502": "Opower failed or answered badly",
    "503": "Opower or the identity provider is unavailable; see Retry-After",
    "504": "Opower did not answer in time",
}


def _param_schema(param: Param) -> dict[str, Any]:
    if param.kind in {"enum"}:
        return {"type": "string", "enum": list(param.values)}
    if param.kind == "bool":
        return {"type": "string", "enum": ["true", "false"]}
    if param.kind == "date":
        return {"type": "string", "format": "date"}
    if param.kind == "datetime":
        return {"type": "string", "format": "date-time"}
    return {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"}


def _field_schema(spec: BodyField) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": spec.kind, "description": spec.description}
    if spec.kind == "string":
        schema.update(minLength=1, maxLength=spec.max_length)
        if spec.values:
            schema["enum"] = list(spec.values)
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
    if spec.maximum is not None:
        schema["maximum"] = spec.maximum
    return schema


def _body_schema(body: Body) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: _field_schema(spec) for name, spec in body.fields.items()},
        "required": [n for n, s in body.fields.items() if s.required and n not in body.bound],
    }


def _operation(route: Route, op: Operation) -> dict[str, Any]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": param.description,
            "schema": _param_schema(param),
        }
        for name, param in route.path_params.items()
    ] + [
        {
            "name": name,
            "in": "query",
            "required": param.required,
            "description": param.description,
            "schema": _param_schema(param),
        }
        for name, param in op.query.items()
    ]
    error = {"$ref": "#/components/responses/Error"}
    responses: dict[str, Any] = {}
    if op.method == "GET":
        responses["200"] = {
            "description": "OK",
            "content": {"application/json": {"schema": dict(op.response or {})}},
        }
    else:
        responses["204"] = {"description": "Done"}
    for status, description in _ERRORS.items():
        if status in {"413", "415"} and op.body is None:
            continue  # only operations with a body can be refused for it
        responses[status] = {**error, "description": description}
    document: dict[str, Any] = {
        "operationId": f"{route.name}_{op.method.lower()}",
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _body_schema(op.body)}},
        }
    return document


@functools.cache
def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        route.path: {op.method.lower(): _operation(route, op) for op in route.operations}
        for route in ROUTES
    }
    paths[OPENAPI_PATH] = {
        "get": {
            "operationId": "openapi_get",
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {}}}}
            },
        }
    }
    error_schema = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "requestId"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "requestId": {"type": "string"},
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Opower Gateway customer API",
            "version": API_VERSION,
            "description": (
                "Your own energy data from Oracle Utilities Opower, through your utility. "
                "Every call needs your session token: Authorization: Bearer <token>."
            ),
        },
        "security": [{"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"session": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": error_schema},
            "responses": {
                "Error": {
                    "description": "An error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        },
    }


@functools.cache
def serialized() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def compact() -> str:
    """The document as API Gateway serves it (the stack's MOCK integration)."""
    return json.dumps(document(), separators=(",", ":"), sort_keys=True)


if __name__ == "__main__":
    sys.stdout.write(serialized())
