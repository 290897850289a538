"""A note added through the REST API notifies the agents it mentions, like the dashboard."""

from __future__ import annotations

from django.test import Client

from loket.accounts.tokens import create_token
from loket.conftest import Shop
from loket.notifications.models import Notification


def test_a_note_through_the_api_notifies_mentioned_agents_who_see_the_ticket(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Mau retur")
    client = Client(headers={"Authorization": f"Bearer {create_token(shop.joko)}"})
    response = client.post(
        f"/api/v1/tickets/{ticket.number}/notes",
        {"text": "@budi tolong bantu, @wati juga"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert list(Notification.objects.values_list("user__email", flat=True)) == [shop.budi.email]
