"""The OpenAPI document as a Velocity mapping template, and the emulator's renderer of it.

Velocity treats ``$`` and ``#`` as references and directives; a backslash is an escape
only before them and an ordinary character elsewhere (Apache Velocity User Guide,
"Escaping Valid VTL References"), which is how API Gateway renders mapping templates.
"""

from __future__ import annotations

import pytest

from infra.vtl import literal_template
from local.vtl import TemplateError, render


@pytest.mark.parametrize(
    "text",
    [
        '{"$ref": "#/components/schemas/Error"}',
        '{"description": "one shape, {\\"error\\": {\\"code\\"}}"}',
        "## not a comment, $not.a.reference, #if(no) directive",
        "C:\\path\\n and a trailing backslash \\",
    ],
    ids=["ref", "json-escaped-quotes", "velocity-syntax", "backslashes"],
)
def test_a_literal_template_renders_its_text_byte_for_byte(text: str) -> None:
    assert render(literal_template(text)) == text


@pytest.mark.parametrize("text", ["price \\$5", "\\#set"])
def test_a_backslash_before_dollar_or_hash_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="backslash"):
        literal_template(text)


@pytest.mark.parametrize(
    "template", ["#if($x)yes#end", "$undefined", "#set($A = 'a')\\$A"], ids=str
)
def test_the_renderer_refuses_velocity_it_does_not_model(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template)
