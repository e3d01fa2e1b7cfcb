"""Static text as an API Gateway mapping template (Apache Velocity, VTL).

A mapping template is a Velocity program: ``$name`` is a reference and ``#word`` may be a
directive (``##`` starts a comment). A document served by a MOCK integration (the OpenAPI
document holds ``"$ref": "#/components/..."``) must come out byte for byte, so every
``$`` and ``#`` is written as a reference to a variable holding that character, set at
the top with single-quoted (never interpolated) literals: Velocity's documented way to
print them. No AWS call or CDK import here: the emulator renders the same template.
"""

from __future__ import annotations

import json

_DOLLAR = "D"
_HASH = "H"
PRELUDE = f"#set(${_DOLLAR} = '$')#set(${_HASH} = '#')"


def literal_template(text: str) -> str:
    """A template that renders exactly ``text``."""
    if "\\$" in text or "\\#" in text:
        # Velocity reads a backslash before a defined reference as an escape of it.
        raise ValueError("text to template must not have a backslash before '$' or '#'")
    escaped = "".join(
        "${" + _DOLLAR + "}" if c == "$" else "${" + _HASH + "}" if c == "#" else c for c in text
    )
    return PRELUDE + escaped


def error_envelope(code: str, message: str) -> str:
    """The error envelope as a template: the request id from ``$context.requestId``; an
    empty message takes API Gateway's ``$context.error.messageString`` (a quoted string)."""
    placeholder = "@MESSAGE@"
    body = json.dumps(
        {
            "error": {
                "code": code,
                "message": message or placeholder,
                "requestId": "$context.requestId",
            }
        },
        separators=(",", ":"),
    )
    return body.replace(f'"{placeholder}"', "$context.error.messageString")
