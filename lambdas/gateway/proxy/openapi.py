"""The OpenAPI 3.1 description of the customer API, generated from the route table.

Served at ``GET /v1/openapi.json``; ``python -m gateway.proxy.openapi`` prints it (``make
openapi`` writes docs/openapi.json, and a test checks that file is current). The service
API's description (``--service``, docs/openapi-service.json) is derived from it.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

from gateway import routes, schemas
from gateway.api_responses import NOT_FOUND_MESSAGE
from gateway.proxy import validation
from gateway.routes import (
    ROUTES,
    TEXT_PATTERN,
    Body,
    BodyField,
    Operation,
    Param,
    Route,
    service_path,
)
from gateway.version import VERSION

API_VERSION = VERSION  # the gateway's one version (gateway.version)
OPENAPI_PATH = "/v1/openapi.json"
# Every error an operation answers, with the envelope; the ones to retry carry
# Retry-After. (A method a path does not have is no operation: its 405 with Allow is
# said in info.description, as is the 404 of a path the API does not have.)
_ERRORS = {
    "400": "The request is invalid: the message names the parameter or field and what to fix",
    "401": "No valid session token (WWW-Authenticate says why, in RFC 6750 terms)",
    "403": "The session may not act for a customer here",
    "404": "No such resource, or an id that is not yours (the same answer)",
    "413": "The body is too large",
    "415": "The body is not application/json",
    "429": "Too many requests (yours, or the day's Opower budget for this kind of screen); "
    "retry after Retry-After, the next allowance",
    "502": "Opower failed or answered badly",
    "503": "Opower or your identity provider is unavailable, or the day's Opower budget "
    "cannot start your session now (budget_spent); retry after Retry-After",
    "504": "Opower did not answer in time",
}
_RETRY_AFTER = {"429", "503"}
_ERROR_EXAMPLES = {
    "400": ("bad_request", "'fuel' must be one of ELECTRICITY, GAS"),
    "401": ("unauthorized", "Missing or invalid session token"),
    "403": ("forbidden", "Not allowed for this session or this caller"),
    "404": ("not_found", NOT_FOUND_MESSAGE),
    "413": ("payload_too_large", "The body is larger than 4096 bytes"),
    "415": ("unsupported_media_type", "The body must be application/json"),
    "429": ("customer_rate_limited", "This customer has made too many requests for now"),
    "502": ("upstream_error", "Opower failed to answer"),
    "503": ("upstream_unavailable", "Opower is unavailable; retry later"),
    "504": ("upstream_timeout", "Opower did not answer in time"),
}


def _param_schema(param: Param) -> dict[str, Any]:
    schema = _param_type(param)
    if param.example:
        schema["example"] = int(param.example) if schema.get("type") == "integer" else param.example
    return schema


def _param_type(param: Param) -> dict[str, Any]:
    if param.kind in {"enum"}:
        return {"type": "string", "enum": list(param.values)}
    if param.kind == "bool":
        return {"type": "string", "enum": ["true", "false"]}
    if param.kind == "date":
        return {"type": "string", "format": "date", "example": "2026-11-15"}
    if param.kind == "datetime":
        # Both forms the usage pages document; a date is no date-time, and the other way.
        return {
            "oneOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
            ],
            "example": "2026-11-01T00:00:00-05:00",
        }
    if param.kind == "int":
        return {"type": "integer", "minimum": param.minimum, "maximum": param.maximum}
    if param.kind == "locale":
        return {"type": "string", "pattern": "^[a-z]{2,3}_[A-Z]{2}$", "example": "en_US"}
    if param.kind == "owned" and not param.owner_field:
        # A name, as the owner's list gives it (a tip's name).
        return {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"}
    # bound_account, and owned ids: Opower's integer ids, as the lists give them
    return {"type": "integer", "minimum": 1, "maximum": 10**18, "example": 2000001}


def _field_schema(spec: BodyField) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": spec.kind, "description": spec.description}
    if spec.kind == "string":
        pattern = routes.FORMATS[spec.format][0] if spec.format else TEXT_PATTERN
        schema.update(minLength=1, maxLength=spec.max_length, pattern=pattern)
        if spec.values:
            schema["enum"] = list(spec.values)
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
    if spec.maximum is not None:
        schema["maximum"] = spec.maximum
    return schema


def _body_schema(body: Body) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if body.one_of and set(body.one_of) == set(body.fields) - set(body.bound):
        # At least one of all the fields: the form generated clients read as one model.
        extra = {"minProperties": 1}
    elif body.one_of:
        extra = {"anyOf": [{"required": [name]} for name in body.one_of]}
    if body.min_fields:
        extra["minProperties"] = body.min_fields
    return {
        **extra,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            name: {**_field_schema(spec), "readOnly": True}
            if name in body.bound
            else _field_schema(spec)
            for name, spec in body.fields.items()
        },
        "required": [n for n, s in body.fields.items() if s.required and n not in body.bound],
    }


def _error_response(status: str, description: str) -> dict[str, Any]:
    code, message = _ERROR_EXAMPLES[status]
    answer: dict[str, Any] = {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "example": {"error": {"code": code, "message": message,
                                      "requestId": "c0ffee00-0000-4000-8000-000000000000"}},
            }
        },
    }  # fmt: skip
    if status in _RETRY_AFTER:
        answer["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    if status == "401":
        answer["headers"] = {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}}
    return answer


def _description(param: Param) -> str:
    """The parameter's description, with the rules JSON Schema cannot state (relative to
    today): the validation's own bounds, so that the two never disagree."""
    if param.kind == "date":
        return (
            f"{param.description}. Served from {validation.AS_OF_HISTORY_DAYS} days before"
            f" today to {validation.AS_OF_AHEAD_DAYS} days after (400 outside)"
        )
    return param.description


def _usage_rules() -> str:
    history = validation.HISTORY_DAYS
    caps = "; ".join(message for _, _, message in validation.PER_REQUEST.values())
    return (
        f"Opower serves raw usage for the last {history['raw']} days, daily usage"
        f" for the last {history['day']} days and bills for the last {history['billing']}"
        f" days, up to {validation.USAGE_AHEAD_DAYS} days ahead. Limits: raw usage is"
        f" limited to {validation.RAW_MAX_INTERVALS} intervals of your meter per request"
        f" (25 hours of a 15-minute meter, 100 hours of an hourly one); {caps}."
        " 'start' and 'end' are dates (midnight where the meter is) or date-times with an"
        " offset; 'start' must be before 'end', and offsets are whole quarter hours."
        " A request breaking one of these rules is answered 400 naming it. The answer"
        " has one stream per service point: a home with two electricity meters has two."
    )


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
            "description": _description(param),
            "schema": _param_schema(param),
        }
        for name, param in op.query.items()
    ]
    responses: dict[str, Any] = {}
    if op.method == "GET":
        content: dict[str, Any] = {"schema": dict(op.response or {})}
        if route.name in schemas.ASSUMED_EXAMPLES:
            # Named and described: an example Oracle never published says so.
            content["examples"] = {
                "assumed": {
                    "summary": "Assumed (the sandbox's answer, not Oracle's)",
                    "description": schemas.ASSUMED_EXAMPLES[route.name],
                    "value": schemas.EXAMPLES[route.name],
                }
            }
        elif route.name in schemas.EXAMPLES:
            content["example"] = schemas.EXAMPLES[route.name]
        responses["200"] = {
            "description": "OK: from Opower, or from your cache (see Cache-Status and Age; "
            "a stale answer stands in while Opower cannot answer)",
            "content": {"application/json": content},
            "headers": {
                "Cache-Status": {"$ref": "#/components/headers/Cache-Status"},
                "Age": {"$ref": "#/components/headers/Age"},
            },
        }
        if route.name in _LINKS:
            responses["200"]["links"] = _LINKS[route.name]
    elif op.response is not None:
        responses["200"] = {
            "description": "Done: Opower's answer, passed through unchanged",
            "content": {"application/json": {"schema": dict(op.response)}},
        }
        if f"{route.name} {op.method}" in _LINKS:
            responses["200"]["links"] = _LINKS[f"{route.name} {op.method}"]
    elif op.success_status == 200:
        responses["200"] = {"description": "Done (no body)"}
    else:
        responses["204"] = {"description": "Done"}
    for status, description in _ERRORS.items():
        if status in {"413", "415"} and op.body is None:
            continue  # only operations with a body can be refused for it
        responses[status] = _error_response(status, description)
    document: dict[str, Any] = {
        "operationId": operation_id(route, op),
        "summary": op.summary,
        **({"description": _usage_rules()} if "usage_window" in op.checks else {}),
        **({"description": op.description} if op.description else {}),
        "tags": [route.name.replace("_", " ")],
        "parameters": parameters,
        "responses": responses,
    }
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _body_schema(op.body)}},
        }
    return document


def operation_id(route: Route, op: Operation) -> str:
    return f"{route.name}_{op.method.lower()}"


# What a client (and a stateful fuzzer) can follow: an account id of /v1/me/accounts is
# the accountId of the bill comparison and the bill period; a contact's id of
# /v1/me/contacts the contactId of its routes; a name of /v1/me/tip-names a tipId.
def _link(operation: str, description: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation, "parameters": parameters, "description": description}


_FIRST_ACCOUNT = "$response.body#/response/0/id"
_FIRST_CONTACT = "$response.body#/response/0/id"
_FIRST_TIP = "$response.body#/response/0"
_LINKS = {
    "accounts": {
        "BillComparison": _link(
            "bill_comparison_get",
            "The bill comparison of the first utility account",
            accountId=_FIRST_ACCOUNT,
        ),
        "BillPeriod": _link(
            "bill_period_get",
            "The billing period of the first utility account",
            accountId=_FIRST_ACCOUNT,
        ),
    },
    "contacts": {
        "ContactPreferences": _link(
            "contact_preferences_get",
            "The first contact's preferences",
            contactId=_FIRST_CONTACT,
        ),
    },
    "contact_preferences": {
        "RemovePreference": _link(
            "contact_preference_delete",
            "Unsubscribe the contact from its first preference",
            contactId="$request.path.contactId",
            preferenceId="$response.body#/response/0/id",
        ),
    },
    # A contact or preference just created can be changed and removed (its id answered).
    "contacts POST": {
        "ChangeContact": _link(
            "contact_put", "Change the contact just added", contactId="$response.body#/response/id"
        ),
        "RemoveContact": _link(
            "contact_delete",
            "Remove the contact just added",
            contactId="$response.body#/response/id",
        ),
    },
    "contact_preferences POST": {
        "RemovePreference": _link(
            "contact_preference_delete",
            "Unsubscribe the preference just added",
            contactId="$request.path.contactId",
            preferenceId="$response.body#/response/id",
        ),
    },
    "tip_names": {
        "Tip": _link("tip_get", "The first tip", tipId=_FIRST_TIP),
        "TipAction": _link(
            "tip_action_post", "Say what you did with the first tip", tipId=_FIRST_TIP
        ),
    },
}


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
                "Every call needs your session token: Authorization: Bearer <token>. Every "
                'error has one shape, {"error": {"code", "message", "requestId"}}, and '
                "one message per code and cause; 429 and 503 say when to retry "
                "(Retry-After). A path the API does not have is 404 not_found, whatever "
                "the method; a method a path does not have is 405 method_not_allowed with "
                "Allow; a body whose Content-Type the API does not take is 415. Answers of "
                "GET operations are cached for you alone (Cache-Status and Age say when an "
                "answer is from the cache, and how old it is); your own changes (PUT, "
                "DELETE) are seen at once."
            ),
        },
        # Relative to this document (served at /v1/openapi.json): the API's base URL,
        # whatever the host, stage or custom domain.
        "servers": [{"url": "..", "description": "The gateway that serves this document"}],
        "security": [{"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Your session token from your utility's sign-in",
                }
            },
            "schemas": {**schemas.COMPONENTS, "Error": error_schema},
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before retrying",
                    "schema": {"type": "integer", "minimum": 1},
                },
                "WWW-Authenticate": {
                    "description": "Bearer, with error=invalid_token",
                    "schema": {"type": "string"},
                },
                "Cache-Status": {
                    "description": "How the answer was made (RFC 9211): `OpowerGateway; hit; "
                    "ttl=N` from your cache, fresh for N more seconds; `fwd=miss; stored` "
                    "asked of Opower and kept; `fwd=stale` or `hit` with a negative ttl and "
                    '`detail="upstream-error"` (upstream-timeout, upstream-throttled, '
                    "token-unavailable, budget-spent, customer-limited...): a stale answer "
                    "served because Opower could not answer; `fwd=bypass`: not cached",
                    "schema": {"type": "string"},
                    "example": "OpowerGateway; hit; ttl=3412",
                },
                "Age": {
                    "description": "Seconds since Opower gave this answer (0 when it just "
                    "did): the data is as of now minus Age",
                    "schema": {"type": "integer", "minimum": 0},
                },
            },
        },
    }


# -- the service API (gateway.service) ---------------------------------------------------
# The customer a service call is for, in the query (SigV4 signs it, whatever the
# signer); the Opower-* header of the same meaning may stand in for each (gateway.service).
_SERVICE_PARAMS = (
    ("utilityCustomerId", True, "The utility's id of the customer the call is for",
     "Opower-Utility-Customer-Id"),
    ("accountNumber", True, "One of that customer's account numbers", "Opower-Account-Number"),
    ("utilityCode", False,
     "The customer's operating company: required where the gateway serves several",
     "Opower-Utility-Code"),
)  # fmt: skip
_SERVICE_ERRORS = {
    "400": "The customer is not named (utilityCustomerId, accountNumber), or named twice, "
    "empty, too long or not printable, or the request is invalid: the message names what "
    "to fix",
    "403": "Not signed with SigV4 by a principal the gateway admits, or not for this route; "
    "or an Opower-* header the signature does not cover (unsigned_customer_header: list "
    "every Opower-* header in SignedHeaders)",
    "404": "No such resource, no customer with this id and account number "
    "(customer_not_found), or an id that is not the customer's",
    "409": "Several Opower customers match this id and account number: name another "
    "account number (ambiguous_customer)",
}
_SERVICE_SERVER = {
    "url": "https://{api}.execute-api.{region}.amazonaws.com/{stage}",
    "description": "The stack's ApiUrl output (or your custom domain)",
    "variables": {
        "api": {"default": "api-id"},
        "region": {"default": "us-east-1"},
        "stage": {"default": "prod"},
    },
}
_SERVICE_EXAMPLES = {
    "403": ("forbidden", "Not allowed for this session or this caller"),
    "409": ("ambiguous_customer", "Several Opower customers match"),
}


def _service_operation(route: Route, op: Operation) -> dict[str, Any]:
    operation: dict[str, Any] = json.loads(json.dumps(_operation(route, op)))  # a deep copy
    operation["operationId"] = f"service_{operation_id(route, op)}"
    operation["parameters"] += [
        {"name": name, "in": "query", "required": required,
         "description": f"{description} (or the {header} header, signed; not both)",
         "schema": {"type": "string", "minLength": 1, "maxLength": 128}}
        for name, required, description, header in _SERVICE_PARAMS
    ]  # fmt: skip
    responses = operation["responses"]
    responses.pop("401", None)  # no session: API Gateway answers SigV4 failures with 403
    for status, description in _SERVICE_ERRORS.items():
        if status in _SERVICE_EXAMPLES:
            code, message = _SERVICE_EXAMPLES[status]
            responses[status] = _error_response("400", description)
            responses[status]["content"]["application/json"]["example"]["error"].update(
                code=code, message=message
            )
        else:
            responses[status]["description"] = description
    return operation


@functools.cache
def service_document() -> dict[str, Any]:
    """The service API's description (docs/openapi-service.json; not served: its callers
    are the utility's own workloads)."""
    customer = document()
    paths = {
        service_path(route): {
            op.method.lower(): _service_operation(route, op) for op in route.operations
        }
        for route in ROUTES
    }
    return {
        **customer,
        "info": {
            "title": "Opower Gateway service API",
            "version": API_VERSION,
            "description": (
                "The customer API's routes for the utility's own AWS workloads (Step "
                "Functions, Lambda, EventBridge jobs), under /v1/service instead of /v1/me. "
                "Sign every request with AWS SigV4 (service execute-api, the API's region) "
                "as a principal the gateway admits (service_principals, or grant_invoke), "
                "and name the customer in the query (utilityCustomerId, accountNumber, "
                "utilityCode: SigV4 signs the query whatever the signer): the gateway binds that "
                "customer as their own session would, and the call reaches only their "
                "data. Errors, caching and Retry-After are the customer API's."
            ),
        },
        "servers": [_SERVICE_SERVER],
        "security": [{"sigv4": []}],
        "paths": paths,
        "components": {
            **customer["components"],
            "securitySchemes": {
                "sigv4": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": "AWS Signature Version 4 (service execute-api)",
                    "x-amazon-apigateway-authtype": "awsSigv4",
                }
            },
        },
    }


@functools.cache
def serialized() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def service_serialized() -> str:
    return json.dumps(service_document(), indent=2, sort_keys=True) + "\n"


def compact() -> str:
    """The document as API Gateway serves it (the stack's MOCK integration)."""
    return json.dumps(document(), separators=(",", ":"), sort_keys=True)


if __name__ == "__main__":
    sys.stdout.write(service_serialized() if sys.argv[1:] == ["--service"] else serialized())
