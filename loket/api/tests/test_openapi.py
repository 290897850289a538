"""The OpenAPI 3.1 document and the interactive docs at /api/v1/docs."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("get", "/api/v1/tickets"): "list_tickets",
    ("get", "/api/v1/tickets/{number}"): "get_ticket",
    ("patch", "/api/v1/tickets/{number}"): "update_ticket",
    ("post", "/api/v1/tickets/{number}/reply"): "reply_to_ticket",
    ("get", "/api/v1/tickets/{number}/templates"): "ticket_templates",
    ("post", "/api/v1/tickets/{number}/notes"): "add_note",
    ("get", "/api/v1/attachments/{attachment_id}"): "download_attachment",
    ("get", "/api/v1/contacts"): "search_contacts",
    ("get", "/api/v1/contacts/{contact_id}"): "get_contact",
    ("get", "/api/v1/me"): "get_me",
}


def test_the_document_is_openapi_3_1_and_lists_every_operation() -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "Loket API"
    found = {
        (method, path): op["operationId"]
        for path, item in doc["paths"].items()
        for method, op in item.items()
    }
    assert found == OPERATIONS
    schemes = doc["components"]["securitySchemes"]
    assert schemes == {"TokenAuth": {"type": "http", "scheme": "bearer"}}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op["security"] == [{"TokenAuth": []}], (method, path)
            assert op["responses"]["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorOut"
            }
    error = doc["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == {"code", "message", "details"}
    ticket = doc["components"]["schemas"]["TicketOut"]
    assert ticket["properties"]["status"]["$ref"].endswith("/Status")
    assert doc["paths"]["/api/v1/tickets/{number}/reply"]["post"]["responses"]["202"]


def test_the_docs_page_uses_only_our_own_files() -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "https://" not in html, "no CDN: everything is served from our static files"
    # The CSP allows no inline script: every script is a file or inert JSON.
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        served = Client().get(path)
        assert served.status_code == 200, path
