"""The side panel: status, priority, assignee, team and tags per role; merge; link."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.conftest import Shop
from loket.contacts.models import Contact
from loket.tickets import services as tickets
from loket.tickets.models import Ticket

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change(user: User, ticket: Ticket, field: str, value: str) -> tuple[int, str]:
    response = client_for(user).post(
        reverse("web:tickets:change", args=[ticket.number, field]), {field: value}, headers=HTMX
    )
    return response.status_code, response.content.decode()


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


@pytest.mark.parametrize("who", ["sari", "joko", "budi"])
def test_everyone_who_sees_the_ticket_marks_it_solved(shop: Shop, who: str) -> None:
    ticket = shop.whatsapp_from_dewi("Sudah diterima, terima kasih")
    status, html = change(getattr(shop, who), ticket, "status", "solved")
    assert status == 200
    assert fresh(ticket).status == "solved"
    # The panel comes back with the new status, the timeline out of band with the event.
    assert '<option value="solved" selected>' in html
    assert "Status: Selesai" in html


def test_a_status_that_cannot_follow_is_refused_inline(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    tickets.set_status(ticket, "closed", actor=shop.sari)
    status, html = change(shop.budi, ticket, "status", "open")
    assert status == 422
    # Said in the header, which stays in view even when the details panel is folded away.
    assert '<ul class="errors conv-errors" role="alert">' in html
    assert fresh(ticket).status == "closed"


def test_wati_cannot_change_a_ticket_she_does_not_see(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    for field, value in [
        ("status", "solved"),
        ("priority", "high"),
        ("assignee", "me"),
        ("team", str(shop.shipping.pk)),
        ("tags", "grosir"),
    ]:
        assert change(shop.wati, ticket, field, value)[0] == 404
    assert fresh(ticket).status == "new"
    assert fresh(ticket).assignee is None


def test_priority_and_tags(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    assert change(shop.budi, ticket, "priority", "urgent")[0] == 200
    status, html = change(shop.budi, ticket, "tags", "Grosir, retur ,, vip")
    assert status == 200
    assert fresh(ticket).priority == "urgent"
    assert sorted(fresh(ticket).tags.values_list("name", flat=True)) == ["grosir", "retur", "vip"]
    assert 'value="grosir, retur, vip"' in html
    assert change(shop.budi, ticket, "priority", "whenever")[0] == 422
    assert change(shop.budi, ticket, "colour", "red")[0] == 404


def test_budi_takes_an_unassigned_ticket_and_drops_it_again(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    html = client_for(shop.budi).get(reverse("web:tickets:detail", args=[ticket.number]))
    assert "data-assign-me" in html.content.decode()
    status, html_after = change(shop.budi, ticket, "assignee", "me")
    assert status == 200
    assert fresh(ticket).assignee == shop.budi
    assert "data-assign-me" not in html_after
    assert "Ditugaskan ke Budi Santoso" in html_after
    assert change(shop.budi, ticket, "assignee", "")[0] == 200
    assert fresh(ticket).assignee is None


def test_an_agent_neither_hands_a_ticket_to_others_nor_moves_teams(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    assert change(shop.budi, ticket, "assignee", str(shop.joko.pk))[0] == 403
    assert change(shop.budi, ticket, "team", str(shop.shipping.pk))[0] == 403
    tickets.assign(ticket, shop.joko, actor=shop.joko)
    assert change(shop.budi, ticket, "assignee", "me")[0] == 403  # not from someone else
    assert fresh(ticket).assignee == shop.joko
    assert fresh(ticket).team == shop.sales


def test_the_supervisor_reassigns_and_moves_teams(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    assert change(shop.joko, ticket, "assignee", str(shop.budi.pk))[0] == 200
    assert fresh(ticket).assignee == shop.budi
    assert change(shop.joko, ticket, "assignee", "999999")[0] == 422
    status, _html = change(shop.joko, ticket, "team", str(shop.shipping.pk))
    assert status == 200
    assert fresh(ticket).team == shop.shipping
    # Joko supervises sales only: the ticket has left his view.
    assert change(shop.joko, ticket, "priority", "high")[0] == 404


def test_moving_a_ticket_out_of_your_view_says_so(shop: Shop) -> None:
    # Wati (shipping) holds a sales ticket assigned to her; the admin is not needed to drop it.
    ticket = shop.whatsapp_from_dewi("Halo")
    tickets.assign(ticket, shop.wati, actor=shop.sari)
    response = client_for(shop.wati).post(
        reverse("web:tickets:change", args=[ticket.number, "assignee"]),
        {"assignee": ""},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == f'[data-ticket="{ticket.number}"]'
    assert "tidak lagi terlihat" in response.content.decode()


def test_the_supervisor_merges_a_duplicate_customer(shop: Shop) -> None:
    wa = shop.whatsapp_from_dewi("Halo dari WA")
    mail = shop.email_from_rudi("Ini Dewi juga, lewat email kantor")
    client = client_for(shop.sari)
    found = client.get(
        reverse("web:tickets:merge_search", args=[wa.number]), {"q": "contoh"}, headers=HTMX
    )
    assert found.status_code == 200
    confirm_url = reverse("web:tickets:merge_confirm", args=[wa.number, mail.contact_id])
    assert confirm_url in found.content.decode()
    confirm = client.get(confirm_url, headers=HTMX)
    assert "rudi@contoh.co.id" in confirm.content.decode()
    response = client.post(
        reverse("web:tickets:merge", args=[wa.number]), {"contact": mail.contact_id}, headers=HTMX
    )
    assert response.status_code == 200
    assert fresh(mail).contact_id == wa.contact_id
    assert Contact.objects.get(pk=mail.contact_id).merged_into_id == wa.contact_id
    html = response.content.decode()
    assert "rudi@contoh.co.id" in html  # the customer panel now lists both addresses
    assert f"#{mail.number}" in html


@pytest.mark.parametrize("who", ["budi", "wati"])
def test_agents_do_not_merge_customers(shop: Shop, who: str) -> None:
    ticket = shop.whatsapp_from_dewi("Halo") if who == "budi" else shop.email_from_rudi("Halo")
    other = (shop.email_from_rudi("x") if who == "budi" else shop.whatsapp_from_dewi("x")).contact
    client = client_for(getattr(shop, who))
    assert (
        "side-merge"
        not in client.get(reverse("web:tickets:detail", args=[ticket.number])).content.decode()
    )
    assert (
        client.post(
            reverse("web:tickets:merge", args=[ticket.number]), {"contact": other.pk}
        ).status_code
        == 403
    )
    assert (
        client.get(reverse("web:tickets:merge_search", args=[ticket.number]), {"q": "a"})
    ).status_code == 403
    assert Contact.objects.get(pk=other.pk).merged_into_id is None


def test_link_a_related_ticket_by_number(shop: Shop) -> None:
    first = shop.whatsapp_from_dewi("Pesanan A", wamid="a")
    tickets.set_status(first, "solved", actor=shop.budi)
    tickets.set_status(first, "closed", actor=shop.budi)
    second = shop.whatsapp_from_dewi("Pesanan B", wamid="b")
    assert second.pk != first.pk
    response = client_for(shop.budi).post(
        reverse("web:tickets:link", args=[second.number]),
        {"other": f"#{first.number}"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert list(fresh(second).related.all()) == [first]
    assert f"Ditautkan ke #{first.number}" in response.content.decode()


def test_a_ticket_budi_cannot_see_is_not_linked(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    hidden = shop.email_from_rudi("Rahasia pengiriman")
    response = client_for(shop.budi).post(
        reverse("web:tickets:link", args=[ticket.number]),
        {"other": str(hidden.number)},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert fresh(ticket).related.count() == 0
    assert change(shop.budi, ticket, "status", "solved")[0] == 200


def test_the_side_panel_refreshes_with_the_header_for_live_updates(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    tickets.set_status(ticket, "pending", actor=shop.joko)  # someone else, elsewhere
    html = (
        client_for(shop.budi)
        .get(reverse("web:tickets:side", args=[ticket.number]), headers=HTMX)
        .content.decode()
    )
    assert '<option value="pending" selected>' in html
    assert f'id="head-{ticket.number}" hx-swap-oob="true"' in html
    assert "Tertunda" in html
