"""REST API v1 (django-ninja): the instance, its authentication, error format and routers.

Mounted at /api/v1/ (loket/urls.py); OpenAPI 3.1 at /api/v1/openapi.json, docs at /api/v1/docs.
"""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.errors import ValidationError, ValidationErrorContext
from ninja.operation import Operation

from loket.api import accounts, contacts, errors, tickets
from loket.api.auth import TokenAuth


class LoketAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # Plain handler names ("list_tickets") make readable generated clients.
        return operation.view_func.__name__

    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext[Any]]
    ) -> ValidationError:
        """Name fields as the client sent them. ninja maps query ("filters", "limit") to
        ("limit",) but leaves ("filters", "status", 0) alone (map the longest known prefix),
        and puts the handler's argument name in front of body fields ("payload", "status")."""
        errors: list[dict[str, Any]] = []
        for context in error_contexts:
            model = context.model
            reverse: dict[tuple[Any, ...], tuple[Any, ...]] = getattr(
                model, "__ninja_flatten_map_reverse__", {}
            )
            single_body = getattr(model, "__read_from_single_attr__", None)
            for error in context.pydantic_validation_error.errors(include_url=False):
                loc = tuple(error["loc"])
                if single_body and loc[:1] == (single_body,):
                    loc = loc[1:]
                for cut in range(len(loc), 0, -1):
                    if loc[:cut] in reverse:
                        loc = reverse[loc[:cut]] + loc[cut:]
                        break
                item: dict[str, Any] = {
                    "loc": [model.__ninja_param_source__, *loc],
                    "msg": error["msg"],
                    "type": error["type"],
                }
                errors.append(item)
        return ValidationError(errors)


api = LoketAPI(
    title="Loket API",
    version="1.0.0",
    description=(
        "Tickets, messages and contacts of a Loket helpdesk. Authenticate with "
        "`Authorization: Bearer <token>` (create one with `loket token create EMAIL`). "
        'Errors are JSON: `{"code": ..., "message": ..., "details": ...}`.'
    ),
    urls_namespace="api-v1",
    auth=TokenAuth(),
)
errors.install(api)
api.add_router("", tickets.router)
api.add_router("", contacts.router)
api.add_router("", accounts.router)
