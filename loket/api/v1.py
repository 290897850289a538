"""REST API v1 (django-ninja): the instance, its authentication, error format and routers.

Mounted at /api/v1/ (loket/urls.py); OpenAPI 3.1 at /api/v1/openapi.json, docs at /api/v1/docs.
"""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.operation import Operation

from loket.api import accounts, contacts, errors, tickets
from loket.api.auth import TokenAuth


class LoketAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # Plain handler names ("list_tickets") make readable generated clients.
        return operation.view_func.__name__


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
