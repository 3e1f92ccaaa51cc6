"""The HTTP API's errors: a small hierarchy, mapped to JSON ``{code, message}`` in one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "Conflict",
    "DuetError",
    "Gone",
    "Invalid",
    "NotFound",
    "Unauthorized",
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


class Unauthorized(DuetError):
    status, code = 401, "unauthorized"


class NotFound(DuetError):
    status, code = 404, "not_found"


class Conflict(DuetError):
    status, code = 409, "conflict"


class Gone(DuetError):
    status, code = 410, "gone"


class Invalid(DuetError):
    status, code = 422, "invalid_request"


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def install_error_handlers(app: FastAPI) -> None:
    async def on_duet_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DuetError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(_body(exc.code, exc.message), status_code=exc.status, headers=headers)

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
