"""The Opower client credentials, read from Secrets Manager through Powertools Parameters.

The secret is JSON: ``{"client_id": "...", "client_secret": "..."}`` and optionally
``"grant_type": "client_credentials"``. Values never appear in errors, logs or reprs.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from gateway import aws_clients
from gateway.errors import (
    ConfigurationError,
    CredentialsNotSetError,
    CredentialsUnavailableError,
)
from gateway.observability import MetricsSink, NullMetrics

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

logger = logging.getLogger(__name__)

GRANT_TYPE = "client_credentials"


@dataclass(frozen=True)
class OpowerCredentials:
    client_id: str
    client_secret: str = field(repr=False)

    @classmethod
    def from_secret_string(cls, raw: str | bytes) -> OpowerCredentials:
        """Parse the secret's JSON; errors name the key at fault, never a value."""
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            # `from None`: a JSONDecodeError carries the whole document in `.doc`.
            raise ConfigurationError("the Opower secret is not a JSON object") from None
        if not isinstance(document, dict):
            raise ConfigurationError("the Opower secret is not a JSON object")
        client_id = _required_string(document, "client_id")
        client_secret = _required_string(document, "client_secret")
        grant_type = document.get("grant_type", GRANT_TYPE)
        if grant_type != GRANT_TYPE:
            raise ConfigurationError(
                f"the Opower secret's key 'grant_type' must be '{GRANT_TYPE}' when present"
            )
        return cls(client_id=client_id, client_secret=client_secret)


def _required_string(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"the Opower secret lacks the key '{key}' (a non-empty string)")
    return value.strip()


class CredentialsSource(Protocol):
    @property
    def source_id(self) -> str:
        """Names the credentials without reading them (the secret's id): the shared token
        item is keyed by it, so a warm fleet's token is used without reading the secret."""
        ...

    def get(self, *, force_fetch: bool = False) -> OpowerCredentials:
        """The current credentials; ``force_fetch`` bypasses every cache (after a rotation)."""
        ...

    def peek(self) -> OpowerCredentials | None:
        """The credentials read last, without reading (None before the first read)."""
        ...


class StaticCredentials:
    """Fixed credentials, for tests and tools."""

    def __init__(self, credentials: OpowerCredentials, *, source_id: str | None = None) -> None:
        self._credentials = credentials
        self._source_id = source_id or f"static:{credentials.client_id}"

    @property
    def source_id(self) -> str:
        return self._source_id

    def get(self, *, force_fetch: bool = False) -> OpowerCredentials:
        return self._credentials

    def peek(self) -> OpowerCredentials | None:
        return self._credentials


class SecretsManagerCredentials:
    """Credentials from one Secrets Manager secret, cached for ``max_age_s``.

    When Secrets Manager fails but credentials were read before, the last good ones are
    served (with a metric): an outage of Secrets Manager must not become an outage of the
    gateway while nothing has changed.
    """

    def __init__(
        self,
        secret_id: str,
        *,
        max_age_s: int = 300,
        client: SecretsManagerClient | None = None,
        metrics: MetricsSink | None = None,
    ) -> None:
        self._secret_id = secret_id
        self._max_age_s = max_age_s
        self._client = client
        self._metrics = metrics or NullMetrics()
        self._provider: Any = None
        self._last_good: OpowerCredentials | None = None
        self._lock = threading.Lock()

    def _get_provider(self) -> Any:
        # Imported on first use: Powertools Parameters and boto3 weigh ~200 ms at import.
        if self._provider is None:
            with self._lock:
                if self._provider is None:
                    from aws_lambda_powertools.utilities.parameters import SecretsProvider

                    self._provider = SecretsProvider(
                        boto3_client=self._client or aws_clients.secretsmanager()
                    )
        return self._provider

    @property
    def source_id(self) -> str:
        return self._secret_id

    def peek(self) -> OpowerCredentials | None:
        return self._last_good

    def get(self, *, force_fetch: bool = False) -> OpowerCredentials:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            raw = self._get_provider().get(
                self._secret_id, max_age=self._max_age_s, force_fetch=force_fetch
            )
        except GetParameterError as exc:
            if _is_missing_secret(exc):
                raise CredentialsNotSetError(
                    "the Opower secret is missing, has no value yet or cannot be decrypted"
                    " (setting OPOWER_SECRET_ID)"
                ) from None
            if self._last_good is not None:
                self._metrics.add_metric("SecretsDegraded", "Count", 1)
                logger.warning("Secrets Manager unavailable; serving cached Opower credentials")
                return self._last_good
            self._metrics.add_metric("SecretsUnavailable", "Count", 1)
            raise CredentialsUnavailableError("Secrets Manager is unavailable") from None
        credentials = OpowerCredentials.from_secret_string(raw)
        if self._last_good is not None and self._last_good != credentials:
            self._metrics.add_metric("SecretRotated", "Count", 1)
            logger.info("Opower credentials changed in Secrets Manager")
        self._last_good = credentials
        return credentials


def _is_missing_secret(exc: Exception) -> bool:
    # Powertools wraps the botocore error in GetParameterError(str(exc)); the original is
    # its __cause__ or __context__. The error *code* decides, never the message text.
    cause = exc.__cause__ or exc.__context__
    response = getattr(cause, "response", None)
    if not isinstance(response, dict):
        return False
    code = response.get("Error", {}).get("Code")
    return code in {"ResourceNotFoundException", "DecryptionFailure", "InvalidRequestException"}
