"""Embedded AWS: moto in server mode on loopback, reached by plain boto3.

The gateway's code never asks "am I local?". It talks to whatever endpoint boto3 is
configured with; locally that endpoint is this server, chosen through
``AWS_ENDPOINT_URL`` and dummy credentials (see :meth:`EmbeddedAws.environment`).
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

from moto.server import ThreadedMotoServer

#: The services the gateway uses. moto serves every service on one port; the list is
#: what we promise and test, not a filter.
SERVICES = ("dynamodb", "secretsmanager", "kms")

DEFAULT_REGION = "us-east-1"
_DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class EmbeddedAws:
    """A moto server for DynamoDB, Secrets Manager and KMS on 127.0.0.1."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, region: str = DEFAULT_REGION):
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self._region = region
        self._endpoint: str | None = None

    def start(self) -> Self:
        # werkzeug logs every request at INFO; the gateway's own logs are what matters.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self._endpoint = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._endpoint is not None:
            self._server.stop()
            self._endpoint = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        if self._endpoint is None:
            raise RuntimeError("the embedded AWS endpoint is not running")
        return self._endpoint

    @property
    def region(self) -> str:
        return self._region

    def environment(self) -> dict[str, str]:
        """The variables that point an unmodified boto3 at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self._region,
            "AWS_REGION": self._region,
            **_DUMMY_CREDENTIALS,
        }
