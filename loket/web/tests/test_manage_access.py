"""Administration is for admins: Sari gets every page; Joko (supervisor), Budi and Wati (agents)
get 403 on every page and every action, and nothing changes; signed-out visitors go to sign-in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.audit.models import Event
from loket.conftest import Shop

pytestmark = pytest.mark.django_db

Url = Callable[[Shop], str]

PAGES: list[tuple[str, Url]] = [
    ("index", lambda s: reverse("web:manage:index")),
    ("agents", lambda s: reverse("web:manage:agents")),
    ("invite", lambda s: reverse("web:manage:invite")),
    ("agent", lambda s: reverse("web:manage:agent", args=[s.budi.pk])),
    ("teams", lambda s: reverse("web:manage:teams")),
    ("team", lambda s: reverse("web:manage:team", args=[s.sales.pk])),
    ("channels", lambda s: reverse("web:manage:channels")),
    ("add email", lambda s: reverse("web:manage:add_channel", args=["email"])),
    ("add whatsapp", lambda s: reverse("web:manage:add_channel", args=["whatsapp"])),
    ("channel", lambda s: reverse("web:manage:channel", args=[s.email.pk])),
    ("settings", lambda s: reverse("web:manage:settings")),
]

# Every action, with data that would change something if it were allowed.
ACTIONS: list[tuple[str, Url, dict[str, str]]] = [
    (
        "invite",
        lambda s: reverse("web:manage:invite"),
        {"name": "Ani", "email": "ani@batiksari.id", "role": "admin"},
    ),
    ("agent", lambda s: reverse("web:manage:agent", args=[s.budi.pk]), {"role": "admin"}),
    ("deactivate", lambda s: reverse("web:manage:deactivate", args=[s.wati.pk]), {}),
    ("reactivate", lambda s: reverse("web:manage:reactivate", args=[s.wati.pk]), {}),
    ("resend", lambda s: reverse("web:manage:resend", args=[s.wati.pk]), {}),
    ("new team", lambda s: reverse("web:manage:teams"), {"name": "Gudang"}),
    ("team", lambda s: reverse("web:manage:team", args=[s.sales.pk]), {"name": "Jualan"}),
    (
        "add channel",
        lambda s: reverse("web:manage:add_channel", args=["email"]),
        {"email_address": "info@batiksari.id", "imap_security": "tls", "smtp_security": "tls"},
    ),
    (
        "channel",
        lambda s: reverse("web:manage:channel", args=[s.email.pk]),
        {"email_address": "x@batiksari.id", "imap_security": "tls", "smtp_security": "tls"},
    ),
    (
        "toggle channel",
        lambda s: reverse("web:manage:toggle_channel", args=[s.email.pk]),
        {"enabled": "0"},
    ),
    ("settings", lambda s: reverse("web:manage:settings"), {"reopen_days": "1"}),
]

REFUSED = ["joko", "budi", "wati"]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("page", "url"), PAGES, ids=[p for p, _u in PAGES])
def test_the_admin_opens_every_page(shop: Shop, page: str, url: Url) -> None:
    response = signed_in(shop.sari).get(url(shop), follow=True)
    assert response.status_code == 200
    assert b'class="manage-nav"' in response.content


@pytest.mark.parametrize("persona", REFUSED)
@pytest.mark.parametrize(("page", "url"), PAGES, ids=[p for p, _u in PAGES])
def test_others_are_refused_every_page(shop: Shop, persona: str, page: str, url: Url) -> None:
    response = signed_in(getattr(shop, persona)).get(url(shop))
    assert response.status_code == 403


@pytest.mark.parametrize("persona", REFUSED)
@pytest.mark.parametrize(("action", "url", "data"), ACTIONS, ids=[a for a, _u, _d in ACTIONS])
def test_others_are_refused_every_action_and_nothing_changes(
    shop: Shop, persona: str, action: str, url: Url, data: dict[str, str]
) -> None:
    client = signed_in(getattr(shop, persona))
    before = Event.objects.count()
    for htmx in (False, True):
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.post(url(shop), data, headers=headers)
        assert response.status_code == 403
    assert Event.objects.count() == before
    assert not User.objects.filter(email="ani@batiksari.id").exists()
    shop.budi.refresh_from_db()
    shop.wati.refresh_from_db()
    shop.email.refresh_from_db()
    assert (shop.budi.role, shop.wati.is_active, shop.email.enabled) == ("agent", True, True)


@pytest.mark.parametrize(("page", "url"), PAGES, ids=[p for p, _u in PAGES])
def test_signed_out_visitors_are_sent_to_sign_in(shop: Shop, page: str, url: Url) -> None:
    response = Client().get(url(shop))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_a_deactivated_admin_is_refused(shop: Shop) -> None:
    client = signed_in(shop.sari)
    User.objects.filter(pk=shop.sari.pk).update(is_active=False)
    response = client.get(reverse("web:manage:agents"))
    assert response.status_code == 302  # no longer signed in at all


def test_a_channel_kind_without_a_form_is_not_found(shop: Shop) -> None:
    response = signed_in(shop.sari).get(reverse("web:manage:add_channel", args=["telegram"]))
    assert response.status_code == 404
