"""GET /contacts?q= finds customers by name or address; GET /contacts/{id} shows one with the
tickets you may see."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from loket.accounts.models import User
from loket.api.tests.conftest import Api, customer_writes
from loket.audit import services as audit
from loket.conftest import Shop
from loket.contacts import services as contacts

pytestmark = pytest.mark.django_db


def test_one_contact_with_identities_and_visible_tickets(
    shop: Shop, api_as: Callable[[User], Api]
) -> None:
    on_whatsapp = shop.whatsapp_from_dewi("Batik cap ada?")  # Penjualan
    contact = on_whatsapp.contact
    contacts.add_identity(contact, "email", "Dewi@Contoh.co.id", actor=audit.SYSTEM)
    by_email = customer_writes(shop.email, "Lewat email", email="dewi@contoh.co.id")  # Pengiriman
    assert by_email.contact_id == contact.pk

    budi = api_as(shop.budi).get(f"/contacts/{contact.pk}")
    assert budi.status_code == 200
    body = budi.json()
    assert body["id"] == contact.pk
    assert body["name"] == "Dewi Lestari"
    assert body["merged_into_id"] is None
    assert [(i["kind"], i["value"]) for i in body["identities"]] == [
        ("email", "dewi@contoh.co.id"),
        ("phone", "+6281234567890"),
    ]
    assert [t["number"] for t in body["tickets"]] == [on_whatsapp.number]
    assert body["more_tickets"] is False

    sari = api_as(shop.sari).get(f"/contacts/{contact.pk}").json()
    assert [t["number"] for t in sari["tickets"]] == [by_email.number, on_whatsapp.number]


def test_a_merged_contact_points_at_the_one_kept(shop: Shop, api_as: Callable[[User], Api]) -> None:
    dewi = shop.whatsapp_from_dewi("Halo").contact
    rudi = shop.email_from_rudi("Halo").contact
    contacts.merge(dewi, rudi, actor=audit.SYSTEM)
    body = api_as(shop.sari).get(f"/contacts/{rudi.pk}").json()
    assert body["merged_into_id"] == dewi.pk
    assert body["identities"] == []
    assert body["tickets"] == []
    search = api_as(shop.sari).get("/contacts", q="rudi").json()["items"]
    assert [c["id"] for c in search] == [dewi.pk], "found through the moved identity"


def test_unknown_contact(shop: Shop, api_as: Callable[[User], Api]) -> None:
    response = api_as(shop.wati).get("/contacts/424242")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert api_as(shop.wati).get("/contacts/abc").json()["code"] == "validation_error"


@pytest.mark.parametrize(
    ("q", "who"),
    [
        ("dewi", ["Dewi Lestari"]),
        ("LESTARI", ["Dewi Lestari"]),
        ("0812-3456-7890", ["Dewi Lestari"]),
        ("+62 812 3456 7890", ["Dewi Lestari"]),
        ("3456", ["Dewi Lestari"]),
        ("rudi@contoh", ["Rudi Hartono"]),
        ("contoh.co.id", ["Rudi Hartono"]),
        ("siapa", []),
        ("", ["Rudi Hartono", "Dewi Lestari"]),
    ],
)
def test_search(shop: Shop, api_as: Callable[[User], Api], q: str, who: list[str]) -> None:
    shop.whatsapp_from_dewi("Halo")
    shop.email_from_rudi("Halo")
    response = api_as(shop.budi).get("/contacts", q=q)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [c["name"] for c in items] == who
    for item in items:
        assert item["identities"]


def test_search_pages(shop: Shop, api_as: Callable[[User], Api]) -> None:
    for n in range(5):
        customer_writes(shop.email, email=f"toko{n}@grosir.id")
    api = api_as(shop.wati)
    seen: list[int] = []
    response = api.get("/contacts", q="grosir", limit=2)
    while True:
        body = response.json()
        seen += [c["id"] for c in body["items"]]
        if body["next"] is None:
            break
        response = api.client.get(body["next"])
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, reverse=True)
    assert api.get("/contacts", cursor="bogus").json()["code"] == "invalid_cursor"
    # A ticket list cursor is no contact cursor.
    ticket_cursor = api_as(shop.sari).get("/tickets", limit=1).json()["next_cursor"]
    assert api.get("/contacts", cursor=ticket_cursor).json()["code"] == "invalid_cursor"
