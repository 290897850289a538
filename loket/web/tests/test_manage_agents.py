"""Sari (admin) manages the agents: invites a new one, changes roles and teams, deactivates.

- an invitation emails a set-password link that works once; the new agent then signs in;
- with no mail server configured the link is shown to the admin as well;
- a deactivated agent cannot sign in and cannot be given tickets; their tickets stay;
- nobody deactivates themselves, and the last admin stays an admin.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from loket.accounts.models import Role, User
from loket.audit.models import Event
from loket.conftest import PASSWORD, Shop
from loket.core import site
from loket.tickets import services as tickets

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "batik-kawung-2026"
LINK = re.compile(r"https?://[^\s\"<]+/masuk/atur/[^\s\"<]+/")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invite_ani(shop: Shop, client: Client | None = None, **extra: Any) -> Any:
    data = {
        "name": "Ani Kusuma",
        "email": "Ani@BatikSari.id",
        "role": "agent",
        "teams": [shop.sales.pk, shop.shipping.pk],
        **extra,
    }
    return (client or signed_in(shop.sari)).post(reverse("web:manage:invite"), data)


def sign_in(email: str, password: str) -> Client:
    client = Client()
    response = client.post(reverse("web:login"), {"username": email, "password": password})
    assert response.status_code in {200, 302}
    return client


def is_signed_in(client: Client) -> bool:
    return client.get(reverse("web:inbox:index")).status_code == 200


def test_the_agent_list_shows_each_agent_with_role_teams_and_status(shop: Shop) -> None:
    page = signed_in(shop.sari).get(reverse("web:manage:agents")).content.decode()

    for agent in (shop.sari, shop.joko, shop.budi, shop.wati):
        assert f'data-agent-row="{agent.pk}"' in page
        assert agent.email in page
    budi_row = page.split(f'data-agent-row="{shop.budi.pk}"')[1].split("</tr>")[0]
    assert "Penjualan" in budi_row
    assert "Agen" in budi_row  # the role, in Indonesian
    assert "Aktif" in budi_row


def test_an_invitation_emails_a_link_that_lets_the_new_agent_sign_in(
    shop: Shop, mailoutbox: list[Any]
) -> None:
    response = invite_ani(shop)

    assert response.status_code == 200
    ani = User.objects.get(email="ani@batiksari.id")
    assert ani.name == "Ani Kusuma"
    assert ani.role == Role.AGENT
    assert not ani.has_usable_password()
    assert {t.name for t in ani.teams.all()} == {"Penjualan", "Pengiriman"}
    event = Event.objects.get(kind="agent.invited")
    assert event.actor_id == shop.sari.pk
    assert event.data == {
        "email": "ani@batiksari.id",
        "role": "agent",
        "teams": ["Pengiriman", "Penjualan"],
    }

    [message] = mailoutbox
    assert message.to == ["ani@batiksari.id"]
    link = LINK.search(message.body)
    assert link is not None
    # The test mail backend is not a real mail server: the admin sees the link too.
    assert link.group(0) in response.content.decode()

    # Ani cannot sign in before she has chosen a password.
    assert not is_signed_in(sign_in("ani@batiksari.id", ""))

    browser = Client()
    form = browser.get(link.group(0), follow=True)
    assert form.status_code == 200
    assert b'name="new_password1"' in form.content
    done = browser.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link.group(0),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("web:password_reset_complete")

    assert is_signed_in(sign_in("ani@batiksari.id", NEW_PASSWORD))
    # The link worked once.
    again = Client().get(link.group(0), follow=True)
    assert b'name="new_password1"' not in again.content


def test_a_new_agent_speaks_the_sites_default_language(shop: Shop, mailoutbox: list[Any]) -> None:
    site.update(shop.sari, default_language="en")
    invite_ani(shop)

    ani = User.objects.get(email="ani@batiksari.id")
    assert ani.language == "en"
    assert "Choose your password" in mailoutbox[0].body


def test_an_invitation_in_indonesian_by_default(shop: Shop, mailoutbox: list[Any]) -> None:
    invite_ani(shop)
    assert User.objects.get(email="ani@batiksari.id").language == "id"
    assert "kata sandi" in mailoutbox[0].body.lower()


def test_an_invitation_to_an_email_in_use_is_refused_and_says_why(
    shop: Shop, mailoutbox: list[Any]
) -> None:
    response = invite_ani(shop, email="BUDI@batiksari.id")

    assert response.status_code == 422
    assert "budi@batiksari.id" in response.content.decode()
    assert not mailoutbox
    assert User.objects.filter(email__iexact="budi@batiksari.id").count() == 1


def test_an_invitation_can_be_sent_again_until_a_password_is_chosen(
    shop: Shop, mailoutbox: list[Any]
) -> None:
    invite_ani(shop)
    ani = User.objects.get(email="ani@batiksari.id")
    client = signed_in(shop.sari)

    response = client.post(reverse("web:manage:resend", args=[ani.pk]))
    assert response.status_code == 200
    assert len(mailoutbox) == 2
    assert Event.objects.filter(kind="agent.invitation_resent", subject_id=ani.pk).count() == 1

    # Budi has a password: no invitation for him.
    refused = client.post(reverse("web:manage:resend", args=[shop.budi.pk]), follow=True)
    assert len(mailoutbox) == 2
    assert "sudah punya kata sandi" in refused.content.decode()


def test_the_admin_changes_an_agents_role_and_teams(shop: Shop) -> None:
    response = signed_in(shop.sari).post(
        reverse("web:manage:agent", args=[shop.budi.pk]),
        {"role": "supervisor", "teams": [shop.shipping.pk]},
    )

    assert response.status_code == 302
    shop.budi.refresh_from_db()
    assert shop.budi.role == Role.SUPERVISOR
    assert [t.name for t in shop.budi.teams.all()] == ["Pengiriman"]
    event = Event.objects.get(kind="agent.changed", subject_id=shop.budi.pk)
    assert event.data == {
        "role": {"from": "agent", "to": "supervisor"},
        "teams": {"from": ["Penjualan"], "to": ["Pengiriman"]},
    }


def test_the_last_admin_stays_an_admin(shop: Shop) -> None:
    response = signed_in(shop.sari).post(
        reverse("web:manage:agent", args=[shop.sari.pk]), {"role": "agent"}
    )

    assert response.status_code == 422
    assert "satu-satunya admin" in response.content.decode()
    shop.sari.refresh_from_db()
    assert shop.sari.role == Role.ADMIN


def test_a_deactivated_agent_keeps_their_tickets_and_cannot_sign_in_or_be_assigned(
    shop: Shop,
) -> None:
    ticket = shop.whatsapp_from_dewi("Kak, batik parang ukuran L ada?")
    tickets.assign(ticket, shop.budi, actor=shop.joko)
    budi_browser = sign_in(shop.budi.email, PASSWORD)
    assert is_signed_in(budi_browser)

    response = signed_in(shop.sari).post(
        reverse("web:manage:deactivate", args=[shop.budi.pk]), headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    row = response.content.decode()
    assert f'data-agent-row="{shop.budi.pk}"' in row
    assert "Nonaktif" in row
    assert "<html" not in row  # only the row
    shop.budi.refresh_from_db()
    assert not shop.budi.is_active
    ticket.refresh_from_db()
    assert ticket.assignee_id == shop.budi.pk  # the ticket stays
    assert Event.objects.filter(kind="agent.deactivated", subject_id=shop.budi.pk).exists()

    assert not is_signed_in(budi_browser)  # the open session ends
    assert not is_signed_in(sign_in(shop.budi.email, PASSWORD))
    other = shop.email_from_rudi("Stok batik tulis ada?")
    with pytest.raises(ValidationError):
        tickets.assign(other, shop.budi, actor=shop.joko)

    signed_in(shop.sari).post(reverse("web:manage:reactivate", args=[shop.budi.pk]))
    assert is_signed_in(sign_in(shop.budi.email, PASSWORD))


def test_the_admin_cannot_deactivate_themselves(shop: Shop) -> None:
    response = signed_in(shop.sari).post(
        reverse("web:manage:deactivate", args=[shop.sari.pk]), headers={"HX-Request": "true"}
    )

    assert "tidak bisa menonaktifkan diri sendiri" in response.content.decode()
    shop.sari.refresh_from_db()
    assert shop.sari.is_active


def test_the_agent_list_takes_a_fixed_number_of_queries(
    shop: Shop, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(shop.sari)
    client.get(reverse("web:manage:agents"))
    for n in range(5):
        User.objects.create_user(f"agen{n}@batiksari.id", None, name=f"Agen {n}").teams.set(
            [shop.sales]
        )
    with django_assert_max_num_queries(8):
        response = client.get(reverse("web:manage:agents"))
    assert response.content.decode().count("data-agent-row=") == 9
