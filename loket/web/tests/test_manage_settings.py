"""Sari (admin) sets the business name, the reopen period and the default language."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.audit.models import Event
from loket.conftest import Shop
from loket.core import site

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_saves_the_general_settings(shop: Shop) -> None:
    client = signed_in(shop.sari)

    response = client.post(
        reverse("web:manage:settings"),
        {"business_name": "Toko Batik Sari", "reopen_days": "3", "default_language": "en"},
    )

    assert response.status_code == 302
    assert site.business_name() == "Toko Batik Sari"
    assert site.reopen_days() == 3
    assert site.default_language() == "en"
    assert Event.objects.get(kind="site.settings_changed").actor_id == shop.sari.pk
    page = client.get(reverse("web:manage:settings")).content.decode()
    assert 'value="Toko Batik Sari"' in page
    assert 'value="3"' in page


def test_an_empty_reopen_period_is_the_servers_setting(shop: Shop, settings: Any) -> None:
    settings.LOKET_REOPEN_DAYS = 7
    site.update(shop.sari, reopen_days=2)

    signed_in(shop.sari).post(
        reverse("web:manage:settings"),
        {"business_name": "", "reopen_days": "", "default_language": ""},
    )

    assert site.reopen_days() == 7
    assert site.default_language() == "id"


def test_a_bad_value_says_what_is_wrong(shop: Shop) -> None:
    response = signed_in(shop.sari).post(
        reverse("web:manage:settings"), {"reopen_days": "-2", "default_language": "fr"}
    )

    assert response.status_code == 422
    assert site.reopen_days() != -2
    assert not Event.objects.filter(kind="site.settings_changed").exists()


def test_the_sign_in_page_shows_the_business_and_speaks_the_default_language(
    shop: Shop,
) -> None:
    site.update(shop.sari, business_name="Toko Batik Sari", default_language="en")

    page = Client().get(reverse("web:login")).content.decode()
    assert "Toko Batik Sari" in page
    assert '<html lang="en">' in page
    assert "Password" in page

    # A browser that asks for a language Loket speaks gets it.
    indonesian = Client(headers={"Accept-Language": "id-ID,id;q=0.9"}).get(reverse("web:login"))
    assert '<html lang="id">' in indonesian.content.decode()
    # One that asks for a language Loket does not speak gets the site's default.
    french = Client(headers={"Accept-Language": "fr-FR"}).get(reverse("web:login"))
    assert '<html lang="en">' in french.content.decode()
