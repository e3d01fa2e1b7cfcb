from pathlib import Path

import pytest

from gateway.companies import Company, companies_json
from gateway.errors import ConfigurationError
from gateway.settings import RuntimeSettings, describe


def test_defaults_are_valid_and_round_trip_through_the_environment() -> None:
    settings = RuntimeSettings(utility_code="UTX", table_name="t", kms_key_id="k")

    again = RuntimeSettings.from_env(settings.to_env())

    assert again == settings
    assert settings.to_env()["AUTH_ALGORITHMS"] == "RS256,ES256"


def test_environment_values_are_typed() -> None:
    settings = RuntimeSettings.from_env(
        {"SECRET_MAX_AGE_S": "60", "TOKEN_REFRESH_FRACTION": "0.3", "AUTH_ALGORITHMS": "ES256"}
    )

    assert settings.secret_max_age_s == 60
    assert settings.token_refresh_fraction == 0.3
    assert settings.auth_algorithms == ("ES256",)


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"secret_max_age_s": "soon"}, "SECRET_MAX_AGE_S"),
        ({"secret_max_age_s": -1}, "SECRET_MAX_AGE_S"),
        ({"auth_algorithms": "RS256,HS256"}, "AUTH_ALGORITHMS"),
        ({"auth_algorithms": "none"}, "AUTH_ALGORITHMS"),
        ({"auth_algorithms": ""}, "AUTH_ALGORITHMS"),
        ({"auth_leeway_s": 61}, "AUTH_LEEWAY_S"),
        ({"auth_mode": "basic"}, "AUTH_MODE"),
        ({"utility_code": "a/b"}, "UTILITY_CODE"),
        ({"token_refresh_fraction": 1.5}, "TOKEN_REFRESH_FRACTION"),
        ({"no_such_setting": "x"}, "no_such_setting"),
        ({"opower_base_url": "http://cxapi.opower.com"}, "OPOWER_BASE_URL must use https"),
        ({"opower_base_url": "https://cxapi.opower.com/apis"}, "OPOWER_BASE_URL"),
        ({"auth_jwks_url": "http://idp.example/jwks"}, "AUTH_JWKS_URL must use https"),
        ({"cors_allow_origins": "*"}, "CORS_ALLOW_ORIGINS"),
        ({"budget_per_second": 0}, "BUDGET_PER_SECOND"),
    ],
)
def test_an_invalid_value_names_the_setting(values: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigurationError, match=names):
        RuntimeSettings.from_mapping(values)


def test_required_settings_are_named_when_missing() -> None:
    with pytest.raises(ConfigurationError, match="TABLE_NAME, KMS_KEY_ID"):
        RuntimeSettings().require("table_name", "kms_key_id")


def test_every_setting_is_described() -> None:
    rows = describe()

    assert {name for name, _, _ in rows} >= {"utility_code", "auth_mode", "binding_ttl_s"}
    assert all(doc for _, _, doc in rows)


def test_plain_http_is_allowed_on_loopback_only() -> None:
    settings = RuntimeSettings.from_mapping(
        {"opower_base_url": "http://127.0.0.1:4010", "auth_jwks_url": "http://localhost:1/j"}
    )
    assert settings.opower_base_url == "http://127.0.0.1:4010"


def test_companies_are_read_from_the_file_the_environment_names(tmp_path: Path) -> None:
    # The stack ships a group's companies in its configuration layer (Lambda's environment
    # holds 4 KB in all: infra/quotas.py) and names the file: COMPANIES=@/opt/...
    listed = (Company("NRTH", "arn:aws:secretsmanager:r:1:secret:n-AbCdEf"), Company("STH", "s"))
    document = tmp_path / "companies.json"
    document.write_text(companies_json(listed))

    settings = RuntimeSettings.from_env({"COMPANIES": f"@{document}"})

    assert settings.companies == listed
    with pytest.raises(ConfigurationError, match=r"COMPANIES names a file that cannot be read"):
        RuntimeSettings.from_env({"COMPANIES": f"@{tmp_path / 'missing.json'}"})
