"""An agent who forgot the password gets a link by email and chooses a new one.

Works with Django's test mail outbox here; with the console backend when no SMTP server is
configured. Unknown and deactivated addresses get no mail, and the page does not say so.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.conftest import PASSWORD, Shop

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "motif-parang-2026"
LINK = re.compile(r"https?://[^\s\"<]+/masuk/atur/[^\s\"<]+/")


def signs_in(email: str, password: str) -> bool:
    client = Client()
    client.post(reverse("web:login"), {"username": email, "password": password})
    return client.get(reverse("web:inbox:index")).status_code == 200


def test_the_sign_in_page_links_to_the_password_reset() -> None:
    page = Client().get(reverse("web:login")).content.decode()
    assert reverse("web:password_reset") in page
    assert "Lupa kata sandi?" in page


def test_a_password_reset_round_trip(shop: Shop, mailoutbox: list[Any]) -> None:
    browser = Client()
    form = browser.get(reverse("web:password_reset"))
    assert form.status_code == 200

    response = browser.post(reverse("web:password_reset"), {"email": "BUDI@batiksari.id"})

    assert response.status_code == 302
    assert response["Location"] == reverse("web:password_reset_done")
    [message] = mailoutbox
    assert message.to == ["budi@batiksari.id"]
    assert "Halo Budi Santoso" in message.body  # Budi's language: Indonesian
    link = LINK.search(message.body)
    assert link is not None

    page = browser.get(link.group(0), follow=True)
    assert b'name="new_password1"' in page.content
    done = browser.post(
        page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done["Location"] == reverse("web:password_reset_complete")
    assert "Kata sandi tersimpan" in browser.get(done["Location"]).content.decode()

    assert signs_in("budi@batiksari.id", NEW_PASSWORD)
    assert not signs_in("budi@batiksari.id", PASSWORD)
    used = browser.get(link.group(0), follow=True).content.decode()
    assert "Tautan ini sudah tidak berlaku" in used


def test_the_mail_speaks_the_agents_language(shop: Shop, mailoutbox: list[Any]) -> None:
    User.objects.filter(pk=shop.wati.pk).update(language="en")
    Client().post(reverse("web:password_reset"), {"email": "wati@batiksari.id"})
    assert "Hello Wati Rahayu" in mailoutbox[0].body


def test_a_weak_new_password_is_refused_with_the_reason(shop: Shop, mailoutbox: list[Any]) -> None:
    browser = Client()
    browser.post(reverse("web:password_reset"), {"email": "budi@batiksari.id"})
    link = LINK.search(mailoutbox[0].body)
    assert link is not None
    page = browser.get(link.group(0), follow=True)

    response = browser.post(
        page.redirect_chain[-1][0], {"new_password1": "12345678", "new_password2": "12345678"}
    )

    assert response.status_code == 200
    assert "terlalu umum" in response.content.decode()
    assert signs_in("budi@batiksari.id", PASSWORD)


@pytest.mark.parametrize("email", ["siapa@contoh.co.id", "wati@batiksari.id"])
def test_unknown_and_deactivated_addresses_get_no_mail_and_no_hint(
    shop: Shop, mailoutbox: list[Any], email: str
) -> None:
    User.objects.filter(pk=shop.wati.pk).update(is_active=False)

    response = Client().post(reverse("web:password_reset"), {"email": email})

    assert response.status_code == 302
    assert response["Location"] == reverse("web:password_reset_done")
    assert not mailoutbox


def test_a_tampered_link_does_not_work(shop: Shop) -> None:
    page = Client().get(
        reverse("web:password_reset_confirm", args=["Mg", "ccc-0123456789abcdef"]), follow=True
    )
    assert b'name="new_password1"' not in page.content
    assert "Tautan ini sudah tidak berlaku" in page.content.decode()
