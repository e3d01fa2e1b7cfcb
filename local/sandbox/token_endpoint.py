"""`POST /apis/authorization-v1/oauth2/token`: Opower's client-credentials grant.

Checks run in the order an OAuth server applies them, and errors use RFC 6749 bodies
(Opower does not document its own): method (405 ErrorResponse, `Allow: POST`), client
authentication (401 `{"error": "invalid_client"}` with `WWW-Authenticate: Basic
realm="opower"`), content type `application/x-www-form-urlencoded` (parameters allowed),
then the form: malformed, missing or repeated `grant_type` give 400 `invalid_request`,
another grant 400 `unsupported_grant_type`. Success is Opower's documented body with
`Cache-Control: no-store`. Token faults (`faults`) apply before any of these checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from urllib.parse import parse_qs

from local.sandbox.errors import ApiError
from local.sandbox.faults import HANGING_CAP_S, FaultState, Switches
from local.sandbox.messages import Request, Response, json_response
from local.sandbox.tokens import Credentials, TokenStore

FORM_TYPE = "application/x-www-form-urlencoded"
GRANT_TYPE = "client_credentials"
WRONG_CLIENT_ID = "0bad0bad-0000-4c00-8000-otherclient1"
"""The `client_id` answered while the `wrong_client_id` switch is on."""


class Client(Protocol):
    """A client of the token endpoint: its credentials and the tokens issued to it."""

    credentials: Credentials
    tokens: TokenStore


class TokenEndpoint:
    """Issues tokens to the client the Basic credentials name (one per utility), subject
    to the token fault switches."""

    def __init__(self, clients: Sequence[Client], faults: FaultState) -> None:
        self._clients = clients
        self._faults = faults

    def handle(self, request: Request) -> Response | None:
        """The answer, or None to close the connection without one."""
        fault, switches = self._faults.take_token_fault()
        if fault == "down":
            return None
        if fault == "5xx":
            return ApiError(503, "Authorization service unavailable").to_response(nested=False)
        if fault == "malformed":
            client_id = self._clients[0].credentials.client_id
            truncated = f'{{"client_id": "{client_id}", "access_token": '
            return Response(200, truncated.encode(), (("Content-Type", "application/json"),))
        if fault == "slow":
            self._faults.wait(switches.token_delay_s)
            if self._faults.closed:
                return None
            switches = self._faults.switches
        if fault == "hanging":
            # No answer at all until the switch changes (then a normal one): the caller's
            # read timeout is what ends it, as with an endpoint that accepted and stalled.
            released = self._faults.wait(HANGING_CAP_S)
            if self._faults.closed or not released:
                return None
            switches = self._faults.switches
        try:
            return self._issue(request, switches)
        except ApiError as error:
            return error.to_response(nested=False)

    def _issue(self, request: Request, switches: Switches) -> Response:
        if request.method != "POST":
            raise ApiError(405, "Use POST", ("Allow", "POST"))
        client = next(
            (
                c
                for c in self._clients
                if c.credentials.verify_basic(request.header("authorization"))
            ),
            None,
        )
        if client is None:
            return json_response(
                401, {"error": "invalid_client"}, ("WWW-Authenticate", 'Basic realm="opower"')
            )
        content_type = (request.header("content-type") or "").partition(";")[0].strip().lower()
        if content_type != FORM_TYPE:
            return _oauth_error("invalid_request")
        try:
            form = parse_qs(request.body.decode(), strict_parsing=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            return _oauth_error("invalid_request")
        grants = form.get("grant_type", [])
        if len(grants) != 1:
            return _oauth_error("invalid_request")
        if grants[0] != GRANT_TYPE:
            return _oauth_error("unsupported_grant_type")
        token = client.tokens.issue(
            switches.token_lifetime_s, reuse_current=switches.reissue_same_token
        )
        client_id = client.credentials.client_id
        payload: dict[str, object] = {
            "client_id": WRONG_CLIENT_ID if switches.wrong_client_id else client_id,
            "access_token": token.value,
            "token_type": "BEARER",
        }
        if not switches.omit_expires_in:
            payload["expires_in"] = token.expires_in
        return json_response(200, payload, ("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def _oauth_error(code: str) -> Response:
    return json_response(400, {"error": code}, ("Cache-Control", "no-store"))
