"""Just enough Apache Velocity (VTL) to render the stack's static mapping templates.

API Gateway runs mapping templates through Velocity. The stack's MOCK integration for the
OpenAPI document (``infra.vtl.literal_template``) uses two constructs: ``#set($X = 'c')``
with a single-quoted literal, and ``${X}`` references; the catch-alls' error envelope
(``infra.vtl.error_envelope``) references ``$context.requestId``. This renders exactly
those, with the ``$context`` values the caller gives, and refuses anything else (another
directive, an undefined reference), so a template the emulator cannot render faithfully
fails loudly instead of being served wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_SET = re.compile(r"#set\(\s*\$([A-Za-z][A-Za-z0-9_]*)\s*=\s*'([^']*)'\s*\)")
_NAME = r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*"
_REFERENCE = re.compile(rf"\$\{{({_NAME})\}}|\$({_NAME})")


class TemplateError(ValueError):
    """The template uses Velocity beyond what this renderer models."""


def render(template: str, context: Mapping[str, str] | None = None) -> str:
    """``template`` rendered; ``context`` holds ``$context`` values by name
    (``{"requestId": ...}`` for ``$context.requestId``)."""
    variables = {f"context.{name}": value for name, value in (context or {}).items()}
    out: list[str] = []
    position = 0
    while position < len(template):
        char = template[position]
        if char == "#":
            found = _SET.match(template, position)
            if found is None:
                raise TemplateError(f"unsupported directive at {position}")
            variables[found.group(1)] = found.group(2)
            position = found.end()
        elif char == "$":
            found = _REFERENCE.match(template, position)
            name = (found.group(1) or found.group(2)) if found else None
            if found is None or name not in variables:
                raise TemplateError(f"undefined reference at {position}")
            out.append(variables[name])
            position = found.end()
        elif char == "\\" and template[position + 1 : position + 2] in ("$", "#"):
            # Velocity reads a backslash before a reference or directive as an escape
            # (its rules depend on whether the reference is defined): not modelled.
            # Elsewhere a backslash is an ordinary character (JSON's \" in a document).
            raise TemplateError(f"escape at {position}")
        else:
            out.append(char)
            position += 1
    return "".join(out)
