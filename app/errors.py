"""The HTTP API's errors: a small hierarchy, mapped to JSON ``{code, message}`` in one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "BadGateway",
    "Conflict",
    "DuetError",
    "Forbidden",
    "Gone",
    "Invalid",
    "NotFound",
    "PayloadTooLarge",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "error_response",
    "install_error_handlers",
]


class DuetError(Exception):
    """Base of the API's errors: a stable ``code``, a human ``message`` and an HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    @property
    def headers(self) -> dict[str, str] | None:
        """Extra response headers."""
        return {"WWW-Authenticate": "Bearer"} if self.status == 401 else None


class Unauthorized(DuetError):
    status, code = 401, "unauthorized"


class Forbidden(DuetError):
    status, code = 403, "forbidden"


class NotFound(DuetError):
    status, code = 404, "not_found"


class Conflict(DuetError):
    status, code = 409, "conflict"


class Gone(DuetError):
    status, code = 410, "gone"


class PayloadTooLarge(DuetError):
    """A request body over its limit (``app/body_limits.py``)."""

    status, code = 413, "body_too_large"


class Invalid(DuetError):
    status, code = 422, "invalid_request"


class TooManyRequests(DuetError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(max(1, round(self.retry_after_s)))}


class BadGateway(DuetError):
    """A service duet depends on (the telephony provider) failed."""

    status, code = 502, "bad_gateway"


class Unavailable(DuetError):
    """The feature is not configured on this deployment, or not available right now."""

    status, code = 503, "unavailable"


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def error_response(error: DuetError, *, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON response for ``error``, with its own headers and ``headers``."""
    return JSONResponse(
        _body(error.code, error.message),
        status_code=error.status,
        headers={**(error.headers or {}), **(headers or {})},
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_duet_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DuetError)
        return error_response(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return JSONResponse(_body("invalid_request", message, errors=errors), status_code=422)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(DuetError, on_duet_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
