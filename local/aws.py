"""Embedded AWS: moto in server mode on loopback, reached by plain boto3.

The gateway's code never asks "am I local?". It talks to whatever endpoint boto3 is
configured with; locally that endpoint is this server, chosen through
``AWS_ENDPOINT_URL`` and dummy credentials (see :meth:`EmbeddedAws.environment`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Self

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from local.service import Service

#: The services the gateway uses. moto serves every service on one port; the list is
#: what we promise and test, not a filter.
SERVICES = ("dynamodb", "secretsmanager", "kms")

DEFAULT_REGION = "us-east-1"
_DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


# The JSON protocols name their service in X-Amz-Target.
_TARGET_PREFIX = {
    "dynamodb": "DynamoDB_",
    "secretsmanager": "secretsmanager.",
    "kms": "TrentService.",
}

# A paused request is answered after this long at the latest (no test waits that long).
_PAUSE_CAP_S = 120.0

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Outages:
    """WSGI middleware: requests to an 'unavailable' service get a 503, as during an
    AWS outage; botocore retries, then raises, and the gateway must degrade. Requests to a
    'paused' service get no answer until it is resumed (the client's read timeout ends
    them), as when a service stalls."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.unavailable: frozenset[str] = frozenset()
        self.paused: frozenset[str] = frozenset()
        self.resumed = threading.Event()
        self.resumed.set()
        self._dynamodb = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if any(target.startswith(_TARGET_PREFIX[s]) for s in self.paused):
            self.resumed.wait(timeout=_PAUSE_CAP_S)
        if any(target.startswith(_TARGET_PREFIX[s]) for s in self.unavailable):
            start_response(
                "503 Service Unavailable", [("Content-Type", "application/x-amz-json-1.1")]
            )
            return [b'{"__type": "ServiceUnavailableException", "message": "local outage"}']
        if target.startswith(_TARGET_PREFIX["dynamodb"]):
            # DynamoDB applies each request atomically, and a transaction is serializable
            # with every single-item read and write ("Amazon DynamoDB Transactions: How
            # it works", Isolation levels). moto evaluates a condition and writes in
            # separate steps, and rolls a cancelled transaction back by restoring a copy
            # of the whole table, which would undo other requests' writes made meanwhile:
            # one DynamoDB request at a time here gives AWS's answers under concurrency.
            with self._dynamodb:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


class _Server(ThreadedMotoServer):
    """moto's threaded server, with the outage switch in front of its WSGI app."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self.outages = _Outages(DomainDispatcherApplication(create_backend_app))

    def _server_entry(self) -> None:
        self._server = make_server(
            self._ip_address, self._port, self.outages, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


_SHARED_LOADER: list[Any] = []


def share_service_data() -> None:
    """Every botocore session of this process reads botocore's service and endpoint data
    (JSON models) through one loader. botocore caches what a loader has read, per loader,
    and every session makes its own: moto server makes sessions for its backends, and the
    handlers' clients are remade in a new session whenever a test resets them, each then
    parsing the same models again (about a sixth of an integration test's CPU). The data
    is read-only; only the embedded AWS's process does this, never the Lambda code."""
    if _SHARED_LOADER:
        return
    import botocore.loaders
    import botocore.session

    loader = botocore.loaders.create_loader()
    _SHARED_LOADER.append(loader)

    def register_data_loader(session: Any) -> None:
        session._components.lazy_register_component("data_loader", lambda: loader)

    setattr(botocore.session.Session, "_register_data_loader", register_data_loader)  # noqa: B010


class EmbeddedAws(Service):
    """A moto server for DynamoDB, Secrets Manager and KMS on 127.0.0.1."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, region: str = DEFAULT_REGION):
        self._server = _Server(host, port)
        self._region = region
        self._endpoint: str | None = None

    def start(self) -> Self:
        share_service_data()
        # werkzeug logs every request at INFO; the gateway's own logs are what matters.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self._endpoint = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._endpoint is not None:
            self.set_paused([])  # let held requests finish so the server can stop
            self._server.stop()
            self._endpoint = None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint is None:
            raise RuntimeError("the embedded AWS endpoint is not running")
        return self._endpoint

    @property
    def region(self) -> str:
        return self._region

    def set_unavailable(self, services: Iterable[str]) -> None:
        """Make these services (of SERVICES) answer 503 until called again without them."""
        wanted = frozenset(services)
        unknown = wanted - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown service(s): {', '.join(sorted(unknown))}")
        self._server.outages.unavailable = wanted

    @property
    def unavailable(self) -> frozenset[str]:
        return self._server.outages.unavailable

    def set_paused(self, services: Iterable[str]) -> None:
        """Make these services answer nothing until called again without them."""
        wanted = frozenset(services)
        unknown = wanted - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown service(s): {', '.join(sorted(unknown))}")
        outages = self._server.outages
        outages.paused = wanted
        if wanted:
            outages.resumed.clear()
        else:
            outages.resumed.set()

    def environment(self) -> dict[str, str]:
        """The variables that point an unmodified boto3 at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self._region,
            "AWS_REGION": self._region,
            **_DUMMY_CREDENTIALS,
        }
