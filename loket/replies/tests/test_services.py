"""Managing saved replies and macros: who may do what, what is validated, what is recorded."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from loket.audit.models import Event
from loket.conftest import Shop
from loket.replies import selectors, services
from loket.replies.models import Assignment, SavedReply
from loket.replies.services import MacroSpec


def test_an_agent_creates_edits_and_deletes_a_personal_reply(shop: Shop) -> None:
    reply = services.create_reply(
        shop.budi, title="Salam", body="Halo {{ contact.first_name }}!", shortcut="/Salam"
    )
    assert reply.owner == shop.budi
    assert reply.shortcut == "salam"
    services.update_reply(shop.budi, reply, title="Salam pagi", body="Pagi!", shortcut="pagi")
    reply.refresh_from_db()
    assert (reply.title, reply.body, reply.shortcut) == ("Salam pagi", "Pagi!", "pagi")
    reply_id = reply.pk
    services.delete_reply(shop.budi, reply)
    assert not SavedReply.objects.exists()
    kinds = list(
        Event.objects.filter(subject_type="saved_reply", subject_id=reply_id)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["saved_reply.created", "saved_reply.updated", "saved_reply.deleted"]


def test_an_agent_cannot_create_a_shared_reply(shop: Shop) -> None:
    with pytest.raises(PermissionDenied):
        services.create_reply(shop.budi, title="Ongkir", body="Gratis ongkir", shared=True)
    assert not SavedReply.objects.exists()


@pytest.mark.parametrize("who", ["joko", "sari"])
def test_supervisors_and_admins_manage_shared_replies(shop: Shop, who: str) -> None:
    user = getattr(shop, who)
    reply = services.create_reply(user, title="Ongkir", body="Gratis ongkir", shared=True)
    assert reply.is_shared
    services.update_reply(shop.joko, reply, title="Ongkir", body="Ongkir Rp10.000")
    services.delete_reply(shop.sari, reply)
    assert not SavedReply.objects.exists()


def test_an_agent_cannot_change_a_shared_reply_or_anothers_personal_one(shop: Shop) -> None:
    shared = services.create_reply(shop.joko, title="Ongkir", body="Gratis", shared=True)
    personal = services.create_reply(shop.wati, title="Resi", body="Resi menyusul")
    for reply in (shared, personal):
        with pytest.raises(PermissionDenied):
            services.update_reply(shop.budi, reply, title="x", body="y")
        with pytest.raises(PermissionDenied):
            services.delete_reply(shop.budi, reply)
    # Not even an admin edits someone's personal reply: it is theirs.
    with pytest.raises(PermissionDenied):
        services.delete_reply(shop.sari, personal)
    # An agent cannot make their own reply shared.
    mine = services.create_reply(shop.budi, title="Mine", body="Punya saya")
    with pytest.raises(PermissionDenied):
        services.update_reply(shop.budi, mine, title="Mine", body="Punya saya", shared=True)
    assert SavedReply.objects.count() == 3


def test_a_supervisor_shares_a_personal_reply(shop: Shop) -> None:
    reply = services.create_reply(shop.joko, title="Retur", body="Retur 7 hari")
    services.update_reply(shop.joko, reply, title="Retur", body="Retur 7 hari", shared=True)
    reply.refresh_from_db()
    assert reply.owner_id is None
    assert selectors.visible_reply(shop.wati, reply.pk) == reply


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": " ", "body": "x"}, "title"),
        ({"title": "x", "body": "  "}, "body"),
        ({"title": "x", "body": "y", "shortcut": "dua kata"}, "shortcut"),
        ({"title": "x", "body": "Resi {{ order.resi }}"}, "body"),
        ({"title": "x" * 101, "body": "y"}, "title"),
    ],
)
def test_invalid_replies_are_refused_with_the_field_at_fault(
    shop: Shop, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        services.create_reply(shop.budi, **fields)
    assert field in caught.value.message_dict


def test_a_shortcut_is_unique_per_owner_and_among_shared(shop: Shop) -> None:
    services.create_reply(shop.budi, title="A", body="a", shortcut="ok")
    services.create_reply(shop.wati, title="B", body="b", shortcut="ok")  # someone else's: fine
    services.create_reply(shop.joko, title="C", body="c", shortcut="ok", shared=True)
    with pytest.raises(ValidationError) as caught:
        services.create_reply(shop.budi, title="D", body="d", shortcut="OK")
    assert "shortcut" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.create_reply(shop.sari, title="E", body="e", shortcut="ok", shared=True)


def test_macros_follow_the_same_ownership_rules(shop: Shop) -> None:
    spec = MacroSpec(name="Selesai", status="solved", tags=("Beres",))
    personal = services.create_macro(shop.budi, spec)
    assert personal.tags == ["beres"]
    with pytest.raises(PermissionDenied):
        services.create_macro(shop.budi, spec, shared=True)
    shared = services.create_macro(shop.joko, spec, shared=True)
    with pytest.raises(PermissionDenied):
        services.update_macro(shop.budi, shared, spec)
    with pytest.raises(PermissionDenied):
        services.delete_macro(shop.wati, personal)
    services.update_macro(shop.budi, personal, MacroSpec(name="Tunda", status="pending"))
    personal.refresh_from_db()
    assert (personal.name, personal.status, personal.tags) == ("Tunda", "pending", [])
    services.delete_macro(shop.sari, shared)
    kinds = list(Event.objects.filter(subject_type="macro").values_list("kind", flat=True))
    assert sorted(kinds) == sorted(
        ["macro.created", "macro.created", "macro.updated", "macro.deleted"]
    )


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (MacroSpec(name="Kosong"), "__all__"),
        (MacroSpec(name="Tutup", status="closed"), "status"),
        (MacroSpec(name="Ke siapa", assignment=Assignment.AGENT), "assignee"),
        (MacroSpec(name="Tag", tags=("x" * 51,)), "tags"),
        (MacroSpec(name="Balas", body="{{ pesanan.resi }}"), "body"),
    ],
)
def test_invalid_macros_are_refused(shop: Shop, spec: MacroSpec, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        services.create_macro(shop.joko, spec)
    assert field in caught.value.message_dict
