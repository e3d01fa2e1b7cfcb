"""The token endpoint unreachable is named so, not a timeout (issue #37, item 10), on real
sockets of this machine."""

from __future__ import annotations

import pytest

from gateway.credentials import OpowerCredentials
from gateway.errors import TokenEndpointUnreachableError
from gateway.token.endpoint import TokenEndpoint
from tests.fakes import FakeClock

pytestmark = pytest.mark.integration

CREDS = OpowerCredentials(client_id="cid-1", client_secret="csecret-1")


def test_a_host_that_does_not_resolve_or_refuses_is_unreachable_not_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """urllib3 derives NameResolutionError and NewConnectionError from ConnectTimeoutError:
    an OPOWER_URL whose host does not resolve was logged as token_endpoint_timeout, which
    sends an operator looking at latency instead of the URL (issue #37). Real sockets on
    127.0.0.1: a port nothing listens on, and a lookup that fails (getaddrinfo raising as
    it does for an unknown name)."""
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    refused = TokenEndpoint(f"http://127.0.0.1:{port}", clock=FakeClock(),
                            missing_expires_in_s=120)  # fmt: skip
    with pytest.raises(TokenEndpointUnreachableError) as raised:
        refused.request(CREDS, timeout_s=2)
    assert raised.value.code == "token_endpoint_unreachable"

    def no_such_host(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    unresolved = TokenEndpoint("https://opower.example.invalid", clock=FakeClock(),
                               missing_expires_in_s=120)  # fmt: skip
    with pytest.raises(TokenEndpointUnreachableError, match="NameResolutionError"):
        unresolved.request(CREDS, timeout_s=2)
