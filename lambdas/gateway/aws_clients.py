"""boto3 clients, made once per process on first use.

boto3 is imported lazily (it costs ~250 ms of cold start, paid only by the first request
that needs AWS) and clients are made under a lock: boto3's default session is not safe
to share between threads, the clients it makes are.
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


def _client(service: str) -> Any:
    with _lock:
        if service not in _clients:
            import boto3
            from botocore.config import Config

            # These services sit on the request path as caches or credential sources:
            # fail fast and let the caller degrade rather than hold a customer request.
            config = Config(
                connect_timeout=1,
                read_timeout=2,
                retries={"max_attempts": 2, "mode": "standard"},
            )
            session = boto3.session.Session()
            _clients[service] = session.client(service, config=config)  # type: ignore[call-overload]
        return _clients[service]


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def kms() -> KMSClient:
    return _client("kms")  # type: ignore[no-any-return]


def secretsmanager() -> SecretsManagerClient:
    return _client("secretsmanager")  # type: ignore[no-any-return]


def clear() -> None:
    """Forget every client (tests that move the endpoint)."""
    with _lock:
        _clients.clear()
