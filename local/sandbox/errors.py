"""Opower error bodies.

Most services answer with a flat `ErrorResponse`; the threshold service nests it under
`"error"` and drops `errorMessage`. Handlers raise `ApiError` and the caller renders it in
the form of the service that was called, so one rule cannot produce the wrong shape.
"""

from __future__ import annotations

from http import HTTPStatus

from local.sandbox.messages import Response, json_response

SERVICE_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


class ApiError(Exception):
    """An error answer, with any headers it must carry (Allow, Retry-After, ...)."""

    def __init__(self, status: int, details: str, *headers: tuple[str, str]) -> None:
        super().__init__(details)
        self.status = status
        self.details = details
        self.headers = headers

    def to_response(self, *, nested: bool) -> Response:
        """Render as a flat ErrorResponse, or in the threshold service's nested form."""
        code = SERVICE_CODES.get(self.status, HTTPStatus(self.status).name)
        if nested:
            payload: dict[str, object] = {
                "error": {
                    "details": self.details,
                    "httpStatus": self.status,
                    "serviceErrorCode": code,
                }
            }
        else:
            payload = {
                "httpStatus": self.status,
                "serviceErrorCode": code,
                "errorMessage": HTTPStatus(self.status).phrase,
                "details": self.details,
            }
        return json_response(self.status, payload, *self.headers)


def bad_request(details: str) -> ApiError:
    """400 for a parameter or body the service rejects."""
    return ApiError(400, details)


def not_found(details: str) -> ApiError:
    """404 for an unknown utility, customer, account or resource."""
    return ApiError(404, details)
