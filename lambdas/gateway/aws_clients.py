"""boto3 clients, made once per process on first use.

Clients are botocore's, which is what boto3's clients are: importing boto3 on top adds
its resource layer and s3transfer (about 70 ms of every cold start, `make bench`
cold_start_*) for nothing the functions use. Every client comes from one botocore
session, made under a lock on first use: a session is not safe to share between threads
for making clients (the clients it makes are), and a session per client would load the
endpoint and service data and resolve credentials once per client. Credentials, region
and endpoint (`AWS_ENDPOINT_URL*`) are resolved by botocore either way.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

_lock = threading.Lock()
_clients: dict[str, Any] = {}
_session: list[Any] = []  # the one botocore session, once made


def _client(service: str) -> Any:
    with _lock:
        if service not in _clients:
            from botocore.config import Config
            from botocore.session import Session

            # These services sit on the request path as caches or credential sources:
            # fail fast and let the caller degrade rather than hold a customer request.
            config = Config(
                connect_timeout=1,
                read_timeout=2,
                retries={"max_attempts": 2, "mode": "standard"},
            )
            if not _session:
                _session.append(Session())
            _clients[service] = _session[0].create_client(service, config=config)
        return _clients[service]


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def kms() -> KMSClient:
    return _client("kms")  # type: ignore[no-any-return]


def secretsmanager() -> SecretsManagerClient:
    return _client("secretsmanager")  # type: ignore[no-any-return]


class DynamoDbTable:
    """A store kept in one DynamoDB table: its name, and the client, made on first use
    (given: tests and benchmarks count or fail its calls)."""

    def __init__(self, table_name: str, *, dynamodb: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._dynamodb = dynamodb

    def _ddb(self) -> DynamoDBClient:
        if self._dynamodb is None:
            self._dynamodb = dynamodb()
        return self._dynamodb


def clear() -> None:
    """Forget every client (tests that move the endpoint)."""
    with _lock:
        _clients.clear()
        _session.clear()
