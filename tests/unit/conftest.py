import pytest


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    """Unit tests run without sockets (pytest-socket): a network call is a failing test."""
