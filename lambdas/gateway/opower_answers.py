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
"serviceErrorCode"}}``). ``error_code`` reads the code of either, for the log.
"""

from __future__ import annotations

import json
import re
from typing import Any

RESPONSE = "response"
_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


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


def error_code(body: bytes) -> str:
    """Opower's ``serviceErrorCode`` of an error answer, for the log: only a code's
    characters (letters, digits, ``_ . -``), at most 64; empty when there is none. The
    free text (``details``, ``errorMessage``) is never read: it could hold anything."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return ""
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        document = document["error"]
    code = document.get("serviceErrorCode") if isinstance(document, dict) else None
    if isinstance(code, str) and _CODE.fullmatch(code):
        return code
    return ""


def listed_ids(body: str | bytes, field: str) -> frozenset[str]:
    """The ids a list answer names: each item's ``field`` (an integer, or a string of
    ASCII digits), or, with no ``field``, the items themselves where they are strings (Get
    Tip Name List's names). Anything else names nothing."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return frozenset()
    if not field:
        inner = payload(document)
        names = inner if isinstance(inner, list) else [inner]
        return frozenset(n for n in names if isinstance(n, str) and n)
    found = set()
    for item in items(document):
        value = item.get(field)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) or (
            isinstance(value, str) and value.isascii() and value.isdigit()
        ):
            found.add(str(value))
    return frozenset(found)
