"""The saved replies page: every agent manages their own; supervisors and admins the shared."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from loket.conftest import Shop
from loket.replies import services
from loket.replies.models import Macro, SavedReply
from loket.replies.services import MacroSpec


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_signing_in_is_required(shop: Shop, client: Client) -> None:
    for url in (
        reverse("web:replies:index"),
        reverse("web:replies:create"),
        reverse("web:replies:search"),
        reverse("web:replies:macro_create"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert "/masuk/" in response["Location"]


def test_the_page_lists_my_replies_and_the_shared_ones_not_others(shop: Shop) -> None:
    services.create_reply(shop.budi, title="Punya Budi", body="Halo dari Budi")
    services.create_reply(shop.wati, title="Punya Wati", body="Halo dari Wati")
    services.create_reply(shop.joko, title="Ongkir bersama", body="Gratis ongkir", shared=True)
    services.create_macro(shop.joko, MacroSpec(name="Tandai selesai", status="solved"), shared=True)
    page = _client(shop.budi).get(reverse("web:replies:index")).content.decode()
    assert "Punya Budi" in page
    assert "Ongkir bersama" in page
    assert "Tandai selesai" in page
    assert "Punya Wati" not in page


@pytest.mark.parametrize(
    ("who", "can_manage_shared"), [("budi", False), ("joko", True), ("sari", True)]
)
def test_edit_links_for_shared_items_only_for_supervisors_and_admins(
    shop: Shop, who: str, can_manage_shared: bool
) -> None:
    shared = services.create_reply(shop.joko, title="Bersama", body="x", shared=True)
    page = _client(getattr(shop, who)).get(reverse("web:replies:index")).content.decode()
    assert (reverse("web:replies:edit", args=[shared.pk]) in page) is can_manage_shared
    assert (
        'name="shared"'
        in _client(getattr(shop, who)).get(reverse("web:replies:create")).content.decode()
    ) is can_manage_shared


def test_an_agent_creates_a_personal_reply_through_the_form(shop: Shop) -> None:
    client = _client(shop.budi)
    response = client.post(
        reverse("web:replies:create"),
        {"title": "Salam", "shortcut": "salam", "body": "Halo {{ contact.first_name }}!"},
    )
    assert response.status_code == 302
    reply = SavedReply.objects.get()
    assert (reply.owner, reply.shortcut) == (shop.budi, "salam")


def test_an_agent_posting_shared_still_gets_a_personal_reply(shop: Shop) -> None:
    # The checkbox is not offered to agents; a forged field is ignored, not obeyed.
    _client(shop.budi).post(
        reverse("web:replies:create"), {"title": "Salam", "body": "Halo", "shared": "on"}
    )
    assert SavedReply.objects.get().owner == shop.budi


def test_a_supervisor_creates_a_shared_reply(shop: Shop) -> None:
    _client(shop.joko).post(
        reverse("web:replies:create"), {"title": "Ongkir", "body": "Gratis", "shared": "on"}
    )
    assert SavedReply.objects.get().owner is None


def test_form_errors_are_shown_with_the_text_kept(shop: Shop) -> None:
    response = _client(shop.budi).post(
        reverse("web:replies:create"),
        {"title": "Resi", "shortcut": "dua kata", "body": "Resi {{ pesanan.resi }}"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "{{ pesanan.resi }}" in page  # the text stays in the form and is named in the error
    assert "pesanan.resi" in str(response.context["form"].errors["body"])
    assert not SavedReply.objects.exists()


def test_a_shortcut_in_use_is_reported_on_its_field(shop: Shop) -> None:
    services.create_reply(shop.budi, title="A", body="a", shortcut="ok")
    response = _client(shop.budi).post(
        reverse("web:replies:create"), {"title": "B", "body": "b", "shortcut": "ok"}
    )
    assert response.status_code == 422
    assert "shortcut" in response.context["form"].errors


def test_editing_and_deleting_a_reply(shop: Shop) -> None:
    reply = services.create_reply(shop.budi, title="A", body="a")
    client = _client(shop.budi)
    assert client.get(reverse("web:replies:edit", args=[reply.pk])).status_code == 200
    client.post(reverse("web:replies:edit", args=[reply.pk]), {"title": "B", "body": "b"})
    reply.refresh_from_db()
    assert (reply.title, reply.body) == ("B", "b")
    assert client.get(reverse("web:replies:delete", args=[reply.pk])).status_code == 200
    assert client.post(reverse("web:replies:delete", args=[reply.pk])).status_code == 302
    assert not SavedReply.objects.exists()


def test_others_personal_replies_are_not_found_and_shared_ones_are_forbidden(shop: Shop) -> None:
    wati_reply = services.create_reply(shop.wati, title="Wati", body="w")
    shared = services.create_reply(shop.joko, title="Bersama", body="x", shared=True)
    budi = _client(shop.budi)
    for name in ("web:replies:edit", "web:replies:delete"):
        assert budi.get(reverse(name, args=[wati_reply.pk])).status_code == 404
        assert (
            budi.post(reverse(name, args=[wati_reply.pk]), {"title": "x", "body": "y"}).status_code
            == 404
        )
        assert budi.get(reverse(name, args=[shared.pk])).status_code == 403
        assert (
            budi.post(reverse(name, args=[shared.pk]), {"title": "x", "body": "y"}).status_code
            == 403
        )
    assert SavedReply.objects.count() == 2
    assert SavedReply.objects.get(pk=shared.pk).title == "Bersama"
    # The admin manages the shared one.
    sari = _client(shop.sari)
    sari.post(
        reverse("web:replies:edit", args=[shared.pk]),
        {"title": "Baru", "body": "y", "shared": "on"},
    )
    assert SavedReply.objects.get(pk=shared.pk).title == "Baru"


def test_macro_form_creates_and_edits_a_macro(shop: Shop) -> None:
    client = _client(shop.joko)
    response = client.post(
        reverse("web:replies:macro_create"),
        {
            "name": "Kirim ke gudang",
            "body": "Baik Kak {{ contact.first_name }}, kami cek ke gudang.",
            "status": "pending",
            "tags": "gudang, cek stok",
            "assignment": "agent",
            "assignee": str(shop.wati.pk),
            "shared": "on",
        },
    )
    assert response.status_code == 302
    macro = Macro.objects.get()
    assert (macro.owner, macro.status, macro.tags) == (None, "pending", ["cek stok", "gudang"])
    assert (macro.assignment, macro.assignee) == ("agent", shop.wati)
    page = client.get(reverse("web:replies:macro_edit", args=[macro.pk])).content.decode()
    assert "cek stok, gudang" in page
    client.post(
        reverse("web:replies:macro_edit", args=[macro.pk]),
        {"name": "Selesai", "status": "solved", "assignment": "none", "shared": "on"},
    )
    macro.refresh_from_db()
    assert (macro.name, macro.body, macro.tags, macro.assignee) == ("Selesai", "", [], None)


def test_an_empty_macro_is_refused_with_a_reason(shop: Shop) -> None:
    response = _client(shop.budi).post(
        reverse("web:replies:macro_create"), {"name": "Kosong", "assignment": "none"}
    )
    assert response.status_code == 422
    assert response.context["form"].non_field_errors()
    assert not Macro.objects.exists()


def test_an_agent_cannot_touch_a_shared_macro(shop: Shop) -> None:
    macro = services.create_macro(shop.joko, MacroSpec(name="M", status="solved"), shared=True)
    budi = _client(shop.budi)
    assert budi.post(reverse("web:replies:macro_delete", args=[macro.pk])).status_code == 403
    assert budi.get(reverse("web:replies:macro_edit", args=[macro.pk])).status_code == 403
    assert (
        _client(shop.joko).post(reverse("web:replies:macro_delete", args=[macro.pk])).status_code
        == 302
    )
    assert not Macro.objects.exists()
