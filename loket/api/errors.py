"""Every API error is JSON: ``{"code": "<stable code>", "message": "...", "details": ...}``.

``code`` is the contract clients branch on; ``message`` is for people and follows the request's
language. The table of codes is in docs/api.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.responses import NinjaJSONEncoder

log = logging.getLogger(__name__)


# Service refusals (django ValidationError codes) that mean "the ticket is not in a state that
# allows this" rather than "your input is wrong".
CONFLICT_CODES = frozenset({"invalid_transition", "ticket_closed", "window_closed"})


class ApiError(Exception):
    """Raised by handlers; turned into the JSON error body by the API's exception handler."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(code, message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def not_found() -> ApiError:
    return ApiError(404, "not_found", _("Not found."))


def forbidden(message: str | None = None) -> ApiError:
    return ApiError(403, "forbidden", message or _("You are not allowed to do this."))


def invalid(code: str, message: str, field: str | None = None) -> ApiError:
    """A 422 for a value that passed the schema but means nothing here (an unknown user id)."""
    details = [{"loc": ["body", field], "message": message, "type": code}] if field else None
    return ApiError(422, code, message, details)


def error_response(status: int, code: str, message: str, details: Any = None) -> JsonResponse:
    response = JsonResponse(
        {"code": code, "message": message, "details": details},
        status=status,
        encoder=NinjaJSONEncoder,
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="loket"'
    return response


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message, exc.details)


def _unauthorized(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(
        401,
        "unauthorized",
        _("Missing, invalid or revoked API token. Send 'Authorization: Bearer <token>'."),
    )


def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(403, "forbidden", _("You are not allowed to do this."))


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(404, "not_found", _("Not found."))


def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return error_response(429, "throttled", _("Too many requests; try again later."))


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja's own HttpErrors: 400 for a body that is not JSON, and the like.
    codes = {400: "bad_request", 405: "method_not_allowed", 413: "too_large"}
    code = codes.get(exc.status_code, f"http_{exc.status_code}")
    message = _("The request body is not valid JSON.") if exc.status_code == 400 else str(exc)
    return error_response(exc.status_code, code, message)


def _schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    details = [
        {
            "loc": list(error.get("loc", ())),
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors
    ]
    return error_response(422, "validation_error", _("The request is not valid."), details)


def _service_refused(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """A service said no (django ValidationError). Its ``code``, when it sets one, is passed on;
    the ones in CONFLICT_CODES are 409, the rest 422."""
    code = getattr(exc, "code", None) or "invalid"
    status = 409 if code in CONFLICT_CODES else 422
    return error_response(status, code, " ".join(exc.messages))


def _internal(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("API request %s %s failed", request.method, request.path, exc_info=exc)
    return error_response(500, "internal_error", _("Something went wrong on our side."))


def _handle[E: Exception](
    api: NinjaAPI, cls: type[E], handler: Callable[[HttpRequest, E], HttpResponse]
) -> None:
    # ninja types a handler's argument as "the exception or its class"; ours get instances.
    api.add_exception_handler(
        cls, cast("Callable[[HttpRequest, E | type[E]], HttpResponse]", handler)
    )


def install(api: NinjaAPI) -> None:
    """Replace ninja's default error bodies with ours."""
    _handle(api, ApiError, _api_error)
    _handle(api, AuthenticationError, _unauthorized)
    _handle(api, AuthorizationError, _forbidden)
    _handle(api, PermissionDenied, _forbidden)
    _handle(api, Http404, _not_found)
    _handle(api, Throttled, _throttled)
    _handle(api, HttpError, _http_error)
    _handle(api, NinjaValidationError, _schema_error)
    _handle(api, DjangoValidationError, _service_refused)
    _handle(api, Exception, _internal)
