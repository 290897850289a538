"""Whatever goes wrong, the API answers JSON with a stable code."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.test import Client

from loket.accounts.models import User
from loket.api.tests.conftest import Api
from loket.conftest import Shop
from loket.tickets import selectors
from loket.tickets import services as ticket_services

pytestmark = pytest.mark.django_db


def test_unknown_paths(shop: Shop, api_as: Callable[[User], Api]) -> None:
    for client in [Client(), api_as(shop.budi).client]:
        for path in ["/api/v1/nothing", "/api/v1/tickets/1/nothing", "/api/v1/me/"]:
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.json()["code"] == "not_found"


def test_the_root_points_at_the_docs() -> None:
    assert Client().get("/api/v1/").json() == {
        "name": "Loket API",
        "version": "1.0.0",
        "docs": "http://testserver/api/v1/docs",
        "openapi": "http://testserver/api/v1/openapi.json",
    }


def test_a_method_that_is_not_there(shop: Shop, api_as: Callable[[User], Api]) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    response = api_as(shop.sari).client.delete(f"/api/v1/tickets/{ticket.number}")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert set(response["Allow"].split(", ")) == {"GET", "PATCH"}


def test_a_body_that_is_not_json(shop: Shop, api_as: Callable[[User], Api]) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    response = api_as(shop.budi).client.post(
        f"/api/v1/tickets/{ticket.number}/notes", "{text: oops", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_validation_errors_say_where(shop: Shop, api_as: Callable[[User], Api]) -> None:
    response = api_as(shop.budi).get("/tickets/satu")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["message"]
    [detail] = body["details"]
    assert detail["loc"] == ["path", "number"]
    assert detail["type"] == "int_parsing"
    assert detail["message"]
    too_big = api_as(shop.budi).get(f"/tickets/{2**63}")
    assert too_big.json()["details"][0]["loc"] == ["path", "number"]


def test_a_crash_is_a_json_500_and_logged(
    shop: Shop,
    api_as: Callable[[User], Api],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    api = api_as(shop.budi)
    monkeypatch.setattr(selectors, "ticket_list", broken)
    response = api.get("/tickets")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "disk on fire" not in response.content.decode()
    assert "disk on fire" in caplog.text


@pytest.mark.parametrize(
    "case",
    [
        ("invalid_transition", 409, "invalid_transition"),
        ("ticket_closed", 409, "ticket_closed"),
        ("empty", 422, "empty"),
        (None, 422, "invalid"),
    ],
)
def test_a_service_refusal_keeps_its_code(
    shop: Shop,
    api_as: Callable[[User], Api],
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[str | None, int, str],
) -> None:
    """A refusal raised inside a service (say, the status changed between our check and the
    write) keeps the service's code; the conflict codes are 409."""
    code, status, expected_code = case
    ticket = shop.whatsapp_from_dewi("Halo")

    def refuse(*args: object, **kwargs: object) -> None:
        raise DjangoValidationError("Tidak bisa.", code=code)

    monkeypatch.setattr(ticket_services, "set_priority", refuse)
    response = api_as(shop.sari).patch(f"/tickets/{ticket.number}", {"priority": "high"})
    assert response.status_code == status
    assert response.json() == {"code": expected_code, "message": "Tidak bisa.", "details": None}
