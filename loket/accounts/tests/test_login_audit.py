"""Signing in and out, and failed attempts, are in the audit trail."""

from __future__ import annotations

from django.test import Client

from loket.audit.models import Event
from loket.conftest import PASSWORD, Shop


def test_sign_in_and_out_are_recorded(shop: Shop, client: Client) -> None:
    response = client.post("/masuk/", {"username": "budi@batiksari.id", "password": PASSWORD})
    assert response.status_code == 302
    client.post("/keluar/")
    kinds = list(Event.objects.filter(actor_id=shop.budi.pk).values_list("kind", flat=True))
    assert kinds == ["auth.login", "auth.logout"]


def test_failed_sign_in_is_recorded_without_the_password(shop: Shop, client: Client) -> None:
    response = client.post("/masuk/", {"username": "budi@batiksari.id", "password": "salah"})
    assert response.status_code == 200
    event = Event.objects.get(kind="auth.login_failed")
    assert event.data["username"] == "budi@batiksari.id"
    assert "salah" not in str(event.data)
