"""Sari (admin) creates, renames and staffs teams."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import Team, User
from loket.audit.models import Event
from loket.conftest import Shop

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_shows_teams_with_members_and_channels(shop: Shop) -> None:
    page = signed_in(shop.sari).get(reverse("web:manage:teams")).content.decode()

    sales = page.split(f'data-team-row="{shop.sales.pk}"')[1].split("</tr>")[0]
    assert "Joko Susilo" in sales
    assert "Budi Santoso" in sales
    assert "Wati Rahayu" not in sales
    assert "WhatsApp Toko" in sales


def test_a_new_team_with_members(shop: Shop) -> None:
    response = signed_in(shop.sari).post(
        reverse("web:manage:teams"), {"name": "  Gudang  ", "members": [shop.wati.pk]}
    )

    assert response.status_code == 302
    team = Team.objects.get(name="Gudang")
    assert list(team.members.all()) == [shop.wati]
    event = Event.objects.get(kind="team.created", subject_id=team.pk)
    assert event.data == {"name": "Gudang", "members": ["wati@batiksari.id"]}


def test_a_team_name_is_unique_whatever_the_case(shop: Shop) -> None:
    response = signed_in(shop.sari).post(reverse("web:manage:teams"), {"name": "penjualan"})

    assert response.status_code == 422
    assert "Sudah ada tim bernama penjualan" in response.content.decode()
    assert Team.objects.count() == 2


def test_renaming_and_changing_members(shop: Shop) -> None:
    response = signed_in(shop.sari).post(
        reverse("web:manage:team", args=[shop.sales.pk]),
        {"name": "Penjualan Online", "members": [shop.joko.pk, shop.wati.pk]},
    )

    assert response.status_code == 302
    shop.sales.refresh_from_db()
    assert shop.sales.name == "Penjualan Online"
    assert set(shop.sales.members.all()) == {shop.joko, shop.wati}
    assert Event.objects.get(kind="team.renamed").data == {
        "from": "Penjualan",
        "to": "Penjualan Online",
    }
    assert Event.objects.get(kind="team.members_changed").data == {
        "added": ["wati@batiksari.id"],
        "removed": ["budi@batiksari.id"],
    }
    # Budi left the team: its tickets are no longer his to see (unless assigned to him).
    assert not shop.budi.teams.filter(pk=shop.sales.pk).exists()
