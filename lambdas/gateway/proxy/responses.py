"""Responses as API Gateway's proxy integration expects them, with one error envelope:
``{"error": {"code", "message", "requestId"}}``. Nothing from Opower's error bodies,
headers or internals is passed on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.api_responses import COMMON_HEADERS, EXPOSED_HEADERS

SECURITY_HEADERS = COMMON_HEADERS


def response(
    status: int,
    body: str | None,
    *,
    request_id: str,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    all_headers = {
        **SECURITY_HEADERS,
        "X-Request-Id": request_id,
        **({"Content-Type": "application/json"} if body is not None else {}),
        **(headers or {}),
    }
    return {
        "statusCode": status,
        "headers": all_headers,
        "body": body if body is not None else "",
        "isBase64Encoded": False,
    }


def error(
    status: int,
    code: str,
    message: str,
    *,
    request_id: str,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    body = json.dumps({"error": {"code": code, "message": message, "requestId": request_id}})
    return response(status, body, request_id=request_id, headers=headers)


def cors_headers(origin: str | None, allowed: tuple[str, ...]) -> dict[str, str]:
    if not origin or origin not in allowed:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Vary": "Origin",
    }
