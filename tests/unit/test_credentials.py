import json

import pytest

from gateway.credentials import OpowerCredentials
from gateway.errors import ConfigurationError

SECRET = "bdf46a70-c553-44bd-846e-7bd4f9d98690"


def test_a_complete_secret_parses() -> None:
    raw = json.dumps(
        {"client_id": "019e", "client_secret": SECRET, "grant_type": "client_credentials"}
    )
    assert OpowerCredentials.from_secret_string(raw) == OpowerCredentials("019e", SECRET)


def test_grant_type_is_optional() -> None:
    raw = json.dumps({"client_id": "019e", "client_secret": SECRET})
    assert OpowerCredentials.from_secret_string(raw).client_id == "019e"


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (json.dumps({"client_secret": SECRET}), "'client_id'"),
        (json.dumps({"client_id": "019e"}), "'client_secret'"),
        (json.dumps({"client_id": "019e", "client_secret": ""}), "'client_secret'"),
        (json.dumps({"client_id": 7, "client_secret": SECRET}), "'client_id'"),
        (
            json.dumps({"client_id": "019e", "client_secret": SECRET, "grant_type": "password"}),
            "'grant_type'",
        ),
        (f"client_id=019e&client_secret={SECRET}", "JSON"),
        (json.dumps([SECRET]), "JSON"),
    ],
)
def test_a_bad_secret_names_the_key_never_the_value(raw: str, names: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        OpowerCredentials.from_secret_string(raw)

    assert names in str(caught.value)
    assert SECRET not in str(caught.value)
    # No chained exception carries the document (a JSONDecodeError holds it in `.doc`).
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_the_secret_never_shows_in_a_repr() -> None:
    assert SECRET not in repr(OpowerCredentials("019e", SECRET))
