"""The shared tier of the token cache: one DynamoDB item per (token endpoint, credentials).

Item layout (table key ``pk``, TTL attribute ``ttl``):

* ``tok#<key>``: the token, its ciphertext under the KMS key (with an encryption context
  naming the item, so a ciphertext cannot be moved to another item), its fingerprint,
  absolute expiry, lifetime and the client it was issued to; ``retry_at`` (and
  ``fail_n``) while the fleet must not ask for a token (the endpoint is failing, or it
  re-issues the current token until it expires); ``lat``, the endpoint's observed latency.
* ``lease#<key>``: who refreshes right now, until when. The holder renews it before
  each token request; a waiter reads its expiry from a failed acquisition.

Every write is conditional: an older token never overwrites a newer one, a lease is
taken only when absent or expired (and renewed only by its owner), and a token is
deleted only if it is still the one the caller saw fail.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from gateway import aws_clients
from gateway.errors import TokenStoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_kms import KMSClient

_ENCRYPTION_PURPOSE = "opower-access-token"
# Items outlive their token a little, so a late reader sees "expired", not "absent".
_TTL_GRACE_S = 300


@dataclass(frozen=True)
class StoredToken:
    ciphertext: bytes = field(repr=False)
    fingerprint: str
    expires_at: float
    lifetime_s: float
    reissued: bool = False
    client_id: str = ""


@dataclass(frozen=True)
class SharedState:
    token: StoredToken | None = None
    failures: int = 0
    retry_at: float = 0.0
    latency_s: float | None = None


class TokenStore(Protocol):
    def read(self, key: str) -> SharedState: ...

    def seal(self, key: str, value: str) -> bytes:
        """Encrypt a token value for the item ``key``."""
        ...

    def unseal(self, key: str, stored: StoredToken) -> str: ...

    def write(
        self, key: str, token: StoredToken, *, latency_s: float, hold_until: float = 0.0
    ) -> bool:
        """Store ``token`` unless the item holds another one expiring as late or later;
        ``hold_until``: no token request before then (a re-issued token)."""
        ...

    def delete_if_current(self, key: str, fingerprint: str) -> bool: ...

    def record_failure(
        self, key: str, *, failures: int, retry_at: float, latency_s: float | None = None
    ) -> None: ...

    def acquire_lease(
        self, key: str, *, owner: str, now: float, duration_s: float
    ) -> tuple[bool, float | None]:
        """(taken, the current holder's expiry when not taken)."""
        ...

    def renew_lease(self, key: str, *, owner: str, now: float, duration_s: float) -> bool:
        """Extend our own lease; False when it is not ours (any more)."""
        ...

    def release_lease(self, key: str, *, owner: str) -> None: ...


class DynamoDbTokenStore:
    def __init__(
        self,
        table_name: str,
        kms_key_id: str,
        *,
        dynamodb: DynamoDBClient | None = None,
        kms: KMSClient | None = None,
    ) -> None:
        self._table = table_name
        self._key_id = kms_key_id
        self._dynamodb = dynamodb
        self._kms = kms

    def _ddb(self) -> DynamoDBClient:
        if self._dynamodb is None:
            self._dynamodb = aws_clients.dynamodb()
        return self._dynamodb

    def _kms_client(self) -> KMSClient:
        if self._kms is None:
            self._kms = aws_clients.kms()
        return self._kms

    # -- token item ----------------------------------------------------------------
    def read(self, key: str) -> SharedState:
        with _store_errors("read"):
            item = (
                self._ddb()
                .get_item(
                    TableName=self._table, Key={"pk": {"S": f"tok#{key}"}}, ConsistentRead=True
                )
                .get("Item")
            )
        if not item:
            return SharedState()
        token = None
        if "ct" in item:
            token = StoredToken(
                ciphertext=item["ct"]["B"],
                fingerprint=item["fp"]["S"],
                expires_at=float(item["exp"]["N"]),
                lifetime_s=float(item["life"]["N"]),
                reissued=item.get("reissued", {}).get("BOOL", False),
                client_id=item.get("cid", {}).get("S", ""),
            )
        latency = item.get("lat", {}).get("N")
        return SharedState(
            token=token,
            failures=int(item.get("fail_n", {}).get("N", "0")),
            retry_at=float(item.get("retry_at", {}).get("N", "0")),
            latency_s=float(latency) if latency is not None else None,
        )

    def seal(self, key: str, value: str) -> bytes:
        with _store_errors("encrypt"):
            answer = self._kms_client().encrypt(
                KeyId=self._key_id,
                Plaintext=value.encode(),
                EncryptionContext=_context(key),
            )
        return answer["CiphertextBlob"]

    def unseal(self, key: str, stored: StoredToken) -> str:
        with _store_errors("decrypt"):
            plaintext = self._kms_client().decrypt(
                KeyId=self._key_id,
                CiphertextBlob=stored.ciphertext,
                EncryptionContext=_context(key),
            )["Plaintext"]
        return plaintext.decode()

    def write(
        self, key: str, token: StoredToken, *, latency_s: float, hold_until: float = 0.0
    ) -> bool:
        item: dict[str, AttributeValueTypeDef] = {
            "pk": {"S": f"tok#{key}"},
            "ct": {"B": token.ciphertext},
            "fp": {"S": token.fingerprint},
            "exp": {"N": _number(token.expires_at)},
            "life": {"N": _number(token.lifetime_s)},
            "reissued": {"BOOL": token.reissued},
            "cid": {"S": token.client_id},
            "lat": {"N": _number(latency_s)},
            "retry_at": {"N": _number(hold_until)},
            "ttl": {"N": str(math.ceil(token.expires_at) + _TTL_GRACE_S)},
        }
        # Replacing the item also clears fail_n: a token proves the endpoint works.
        return self._conditional(
            "write",
            lambda: self._ddb().put_item(
                TableName=self._table,
                Item=item,
                # The same token may be written again: that is how "re-issued" is shared.
                ConditionExpression="attribute_not_exists(#exp) OR #exp < :exp OR fp = :fp",
                ExpressionAttributeNames={"#exp": "exp"},
                ExpressionAttributeValues={":exp": item["exp"], ":fp": item["fp"]},
            ),
        )

    def delete_if_current(self, key: str, fingerprint: str) -> bool:
        return self._conditional(
            "delete",
            lambda: self._ddb().delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"tok#{key}"}},
                ConditionExpression="fp = :fp",
                ExpressionAttributeValues={":fp": {"S": fingerprint}},
            ),
        )

    def record_failure(
        self, key: str, *, failures: int, retry_at: float, latency_s: float | None = None
    ) -> None:
        values: dict[str, AttributeValueTypeDef] = {
            ":n": {"N": str(failures)},
            ":r": {"N": _number(retry_at)},
            ":t": {"N": str(math.ceil(retry_at) + _TTL_GRACE_S)},
        }
        expression = "SET fail_n = :n, retry_at = :r, #ttl = if_not_exists(#ttl, :t)"
        if latency_s is not None:
            expression += ", lat = :l"
            values[":l"] = {"N": _number(latency_s)}
        with _store_errors("record failure"):
            self._ddb().update_item(
                TableName=self._table,
                Key={"pk": {"S": f"tok#{key}"}},
                UpdateExpression=expression,
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues=values,
            )

    # -- lease item ----------------------------------------------------------------
    def acquire_lease(
        self, key: str, *, owner: str, now: float, duration_s: float
    ) -> tuple[bool, float | None]:
        from botocore.exceptions import ClientError

        until = now + duration_s
        try:
            with _store_errors("lease"):
                self._ddb().put_item(
                    TableName=self._table,
                    Item=_lease_item(key, owner, until),
                    ConditionExpression="attribute_not_exists(pk) OR #until < :now",
                    ExpressionAttributeNames={"#until": "until"},
                    ExpressionAttributeValues={":now": {"N": _number(now)}},
                    # The holder's expiry, for the waiter: no second read.
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except TokenStoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and _error_code(cause) == (
                "ConditionalCheckFailedException"
            ):
                held = getattr(cause, "response", {}).get("Item", {})
                held_until = held.get("until", {}).get("N")
                return False, float(held_until) if held_until is not None else None
            raise
        return True, None

    def renew_lease(self, key: str, *, owner: str, now: float, duration_s: float) -> bool:
        return self._conditional(
            "renew",
            lambda: self._ddb().put_item(
                TableName=self._table,
                Item=_lease_item(key, owner, now + duration_s),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            ),
        )

    def release_lease(self, key: str, *, owner: str) -> None:
        # A lease that expired and was taken over is someone else's: leave it alone.
        self._conditional(
            "release",
            lambda: self._ddb().delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"lease#{key}"}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            ),
        )

    def _conditional(self, operation: str, call: Any) -> bool:
        """Run a conditional write: False when the condition failed, which is not an error."""
        from botocore.exceptions import ClientError

        try:
            with _store_errors(operation):
                call()
        except TokenStoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and _error_code(cause) == (
                "ConditionalCheckFailedException"
            ):
                return False
            raise
        return True


def _lease_item(key: str, owner: str, until: float) -> dict[str, AttributeValueTypeDef]:
    return {
        "pk": {"S": f"lease#{key}"},
        "owner": {"S": owner},
        "until": {"N": _number(until)},
        "ttl": {"N": str(math.ceil(until) + _TTL_GRACE_S)},
    }


def _context(key: str) -> dict[str, str]:
    return {"purpose": _ENCRYPTION_PURPOSE, "item": key}


def _number(value: float) -> str:
    return f"{value:.3f}"


def _error_code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _store_errors(operation: str) -> Iterator[None]:
    """Turn botocore's errors into TokenStoreError, keeping the cause for classification."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        raise TokenStoreError(f"token store {operation} failed ({_error_code(exc)})") from exc
    except BotoCoreError as exc:
        raise TokenStoreError(f"token store {operation} failed ({type(exc).__name__})") from exc
