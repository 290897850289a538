"""`loket demo`: a believable shop in an empty database, loaded once, verifiable."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.test import Client

from loket.accounts.models import Role, Team, User
from loket.audit import services as audit
from loket.audit.models import Event
from loket.channels.models import Channel, Delivery, DeliveryState
from loket.conftest import Shop
from loket.contacts.models import Contact, Identity
from loket.core import clock
from loket.demo import shop as demo
from loket.tickets.models import DeliveryStatus, Direction, Message, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load(django_capture_on_commit_callbacks: Any) -> str:
    out = StringIO()
    # After commit the events are sealed (PostgreSQL) and the queued sends cleaned up.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", stdout=out)
    return out.getvalue()


def table_sizes() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "teams": Team.objects.count(),
        "channels": Channel.objects.count(),
        "contacts": Contact.objects.count(),
        "identities": Identity.objects.count(),
        "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(),
        "events": Event.objects.count(),
        "deliveries": Delivery.objects.count(),
    }


def test_demo_is_a_shop_with_every_kind_of_conversation(
    django_capture_on_commit_callbacks: Any,
) -> None:
    output = load(django_capture_on_commit_callbacks)
    assert "Demo loaded: 60 tickets" in output
    assert f"password: {demo.PASSWORD}" in output

    # People: an owner, a supervisor and four agents in two teams.
    roles = dict(User.objects.values_list("email", "role"))
    assert list(roles.values()).count(Role.ADMIN) == 1
    assert list(roles.values()).count(Role.SUPERVISOR) == 1
    assert list(roles.values()).count(Role.AGENT) == 4
    assert set(Team.objects.values_list("name", flat=True)) == {"Penjualan", "Pengiriman"}
    assert User.objects.get(role=Role.ADMIN).is_superuser

    # Channels: WhatsApp on an E.164 number and an email address.
    whatsapp = Channel.objects.get(kind="whatsapp")
    assert whatsapp.address.startswith("+62")
    assert whatsapp.address[1:].isdigit()
    assert "@" in Channel.objects.get(kind="email").address

    # Tickets in every status, on both channels, spread over the last two weeks.
    by_status = dict(Ticket.objects.values_list("status").annotate(n=Count("pk")))
    assert set(by_status) == set(Status.values)
    assert min(by_status.values()) >= 5
    assert set(Ticket.objects.values_list("channel__kind", flat=True)) == {"whatsapp", "email"}
    now = clock.now()
    created = list(Ticket.objects.values_list("created_at", flat=True))
    assert min(created) > now - timedelta(days=15)
    assert max(created) < now
    assert max(created) - min(created) > timedelta(days=10)
    assert Ticket.objects.filter(assignee__isnull=False).count() >= 30
    assert Ticket.objects.filter(assignee__isnull=True, status=Status.NEW).exists()
    assert Ticket.objects.filter(tags__isnull=False).distinct().count() >= 30

    # Messages: customers, agents and internal notes; delivery news in every state.
    directions = dict(Message.objects.values_list("direction").annotate(n=Count("pk")))
    assert (
        directions[Direction.INBOUND] > directions[Direction.OUTBOUND] > directions[Direction.NOTE]
    )
    outbound = Message.objects.filter(direction=Direction.OUTBOUND)
    states = set(outbound.values_list("delivery_status", flat=True))
    assert {
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
        DeliveryStatus.FAILED,
    } <= states
    assert DeliveryStatus.QUEUED not in states
    for failed in outbound.filter(delivery_status=DeliveryStatus.FAILED):
        assert failed.failure_reason.startswith("Pesan tidak terkirim")
    assert Message.objects.filter(text__icontains="resi").count() >= 5

    # A customer who wrote on both channels is one contact; one raw mail could not be read.
    maya = Identity.objects.get(value="maya.sofia@contoh.test").contact
    assert set(maya.identities.values_list("kind", flat=True)) == {"phone", "email"}
    assert maya.tickets.count() == 2
    assert Delivery.objects.filter(state=DeliveryState.FAILED).count() == 1

    # The history is in the event log, in time order, and the chain verifies.
    report = audit.verify()
    assert report.ok, report.problems
    assert report.checked == Event.objects.count()
    times = list(Event.objects.order_by("seq").values_list("created_at", flat=True))
    assert times == sorted(times)


def test_demo_twice_changes_nothing(django_capture_on_commit_callbacks: Any) -> None:
    load(django_capture_on_commit_callbacks)
    before = table_sizes()
    output = load(django_capture_on_commit_callbacks)
    assert "already loaded; nothing changed" in output
    assert table_sizes() == before


def test_demo_refuses_a_database_with_other_data(shop: Shop) -> None:
    before = table_sizes()
    with pytest.raises(CommandError, match="database yang masih kosong"):
        call_command("demo", stdout=StringIO())
    assert table_sizes() == before
    assert not demo.logins()


def test_sign_in_page_offers_demo_logins_only_while_the_demo_is_loaded(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    assert "coba-loket" not in client.get("/masuk/").content.decode()

    load(django_capture_on_commit_callbacks)
    page = client.get("/masuk/").content.decode()
    assert demo.PASSWORD in page
    for email in User.objects.values_list("email", flat=True):
        assert f'value="{email}"' in page

    # One click on a demo login signs in.
    response = client.post(
        "/masuk/", {"username": "budi@batiksari.test", "password": demo.PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200

    # A deactivated demo login is no longer offered.
    User.objects.filter(email="budi@batiksari.test").update(is_active=False)
    client.logout()
    assert 'value="budi@batiksari.test"' not in client.get("/masuk/").content.decode()
