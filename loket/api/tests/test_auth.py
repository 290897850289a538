"""Only a valid, unrevoked token of an active agent opens the API; everything else is a 401."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from loket.accounts import tokens
from loket.accounts.models import ApiToken, User
from loket.api.tests.conftest import Api
from loket.conftest import Shop

pytestmark = pytest.mark.django_db


def _assert_unauthorized(response: object) -> None:
    assert response.status_code == 401  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == "unauthorized"
    assert body["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")  # type: ignore[index]


def test_me_with_a_token(shop: Shop, api_as: Callable[[User], Api]) -> None:
    response = api_as(shop.joko).get("/me")
    assert response.status_code == 200
    assert response.json() == {
        "id": shop.joko.pk,
        "email": "joko@batiksari.id",
        "name": "Joko Susilo",
        "role": "supervisor",
        "language": "id",
        "time_zone": "Asia/Jakarta",
        "teams": [{"id": shop.sales.pk, "name": "Penjualan"}],
    }


def test_no_token(shop: Shop) -> None:
    _assert_unauthorized(Client().get("/api/v1/me"))
    _assert_unauthorized(Client().get("/api/v1/tickets"))


def test_wrong_token(shop: Shop) -> None:
    tokens.create_token(shop.budi)
    for header in ["Bearer lkt_not-a-real-token", "Bearer ", "Bearer x" * 300, "Basic YTpi"]:
        _assert_unauthorized(Client(headers={"Authorization": header}).get("/api/v1/me"))


def test_a_session_login_is_not_enough(shop: Shop) -> None:
    client = Client()
    client.force_login(shop.sari)
    _assert_unauthorized(client.get("/api/v1/tickets"))


def test_revoked_token(shop: Shop) -> None:
    api = Api(shop.budi)
    tokens.revoke(ApiToken.objects.get(user=shop.budi), actor=shop.sari)
    _assert_unauthorized(api.get("/me"))


def test_token_of_a_deactivated_agent(shop: Shop) -> None:
    api = Api(shop.wati)
    shop.wati.is_active = False
    shop.wati.save()
    _assert_unauthorized(api.get("/me"))
    _assert_unauthorized(api.get("/tickets"))


def test_messages_follow_accept_language_else_the_agents_language(shop: Shop) -> None:
    english = Client(headers={"Accept-Language": "en"}).get("/api/v1/me")
    assert english["Content-Language"] == "en"
    assert english.json()["message"].startswith("Missing, invalid or revoked API token")

    budi = Api(shop.budi)  # language "id"
    assert budi.get("/tickets/999999")["Content-Language"] == "id"
    response = budi.client.get("/api/v1/tickets/999999", headers={"Accept-Language": "en"})
    assert response["Content-Language"] == "en"
    assert response.json() == {"code": "not_found", "message": "Not found.", "details": None}

    shop.wati.language = "en"
    shop.wati.save()
    assert Api(shop.wati).get("/tickets/999999")["Content-Language"] == "en"
