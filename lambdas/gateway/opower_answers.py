"""Reading Opower's answers as Oracle documents them, tolerantly.

Every success answer on Oracle's per-operation pages (docs.oracle.com/en/industries/
energy-water/digital-self-service/restapi/op-apis-…) is an object wrapping the payload:
``{"response": …}``. A list operation's pages disagree with themselves: Get Customer List
and Get Utility Account List declare ``response`` an array, and their examples show one
object. So a list is read from either form (and, tolerantly, from a bare array, which no
page documents). Unknown fields are kept: Oracle adds fields without notice, and the
gateway passes bodies through unchanged.

Error answers come in two documented forms: ``ErrorResponse`` (``httpStatus``,
``serviceErrorCode``, ``errorMessage``, ``details``, none of them required) and the
threshold service's ``ErrorDetails`` (``{"error": {"details", "httpStatus",
"serviceErrorCode"}}``). ``error_detail`` reads either, for a customer's error message.
"""

from __future__ import annotations

import json
from typing import Any

RESPONSE = "response"
# What of Opower's own words about a refusal may reach the customer: printable, short.
_DETAIL_MAX = 200


def payload(document: Any) -> Any:
    """What ``response`` holds, or the document itself when it is not wrapped."""
    if isinstance(document, dict) and RESPONSE in document:
        return document[RESPONSE]
    return document


def items(document: Any) -> list[dict[str, Any]]:
    """The objects of a list answer: ``{"response": [...]}``, ``{"response": {...}}`` (one
    item, as the pages' examples show it) or a bare array; anything else is no item."""
    inner = payload(document)
    if isinstance(inner, dict):
        return [inner]
    if isinstance(inner, list):
        return [item for item in inner if isinstance(item, dict)]
    return []


def error_detail(body: bytes) -> str:
    """Opower's explanation of an error answer (``details``, else ``errorMessage``), made
    safe to show: printable characters only, at most a line; empty when there is none."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return ""
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        document = document["error"]
    if not isinstance(document, dict):
        return ""
    for name in ("details", "errorMessage"):
        text = document.get(name)
        if isinstance(text, str) and text.strip():
            clean = " ".join("".join(c if c.isprintable() else " " for c in text).split())
            if len(clean) > _DETAIL_MAX:
                clean = clean[: _DETAIL_MAX - 1] + "…"
            return clean
    return ""
