"""The one urllib3 connection pool of the process, reused across warm invocations."""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import urlsplit

import urllib3

from gateway.errors import ConfigurationError

USER_AGENT = "opower-gateway/0.1"


@functools.cache
def shared_pool() -> urllib3.PoolManager:
    # Retries are ours (they depend on the method, the status and the deadline), never
    # urllib3's; redirects are never followed: a redirect from Opower is an error.
    return urllib3.PoolManager(
        num_pools=4,
        maxsize=32,
        block=False,
        retries=False,
        headers={"User-Agent": USER_AGENT},
    )


def validate_base_url(url: str, *, setting: str) -> str:
    """An origin (scheme, host, port) with HTTPS required except on a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ConfigurationError(f"{setting} must be an absolute http(s) URL")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username:
        raise ConfigurationError(f"{setting} must be an origin only (scheme, host and port)")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(f"{setting} must use https (plain http only on a loopback host)")
    return f"{parts.scheme}://{parts.netloc}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_url(url: str, *, setting: str) -> str:
    """A full URL (path allowed) with HTTPS required except on a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname or parts.username:
        raise ConfigurationError(f"{setting} must be an absolute http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(f"{setting} must use https (plain http only on a loopback host)")
    return url
