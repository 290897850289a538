"""Which ticket a customer's message lands in.

- a contact's unclosed ticket on that channel continues (pending becomes open again);
- a solved ticket reopens on a reply within LOKET_REOPEN_DAYS (default 7), otherwise the
  message opens a new ticket linked to the old one;
- a closed ticket never reopens; an automatic message (auto-reply) never reopens anything;
- email replies thread by their headers and by the [#number] in the subject.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from time_machine import TimeMachineFixture

from loket.audit.models import Event
from loket.audit.services import SYSTEM
from loket.channels.items import Sender
from loket.channels.models import Channel
from loket.conftest import Shop
from loket.contacts.services import add_identity, merge
from loket.tickets import services
from loket.tickets.models import Status, Ticket
from loket.tickets.tests.conftest import DEWI, RUDI, writes

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _solved(shop: Shop, ticket: Ticket) -> Ticket:
    services.reply(ticket, shop.budi, "Sudah kami kirim ya kak, resi JNE 0123")
    return services.set_status(ticket, Status.SOLVED, actor=shop.budi)


def test_a_second_message_continues_the_open_ticket(shop: Shop, clock: TimeMachineFixture) -> None:
    first = writes(shop.whatsapp, DEWI, "Kak, batik parang ukuran L ada?")
    clock.shift(timedelta(minutes=3))
    second = writes(shop.whatsapp, DEWI, "Warna coklat ya kak")

    assert second.ticket == first.ticket
    ticket = Ticket.objects.get()
    assert ticket.preview == "Warna coklat ya kak"
    assert ticket.last_customer_message_at == first.created_at + timedelta(minutes=3)
    # Still waiting since the first unanswered message.
    assert ticket.waiting_since == first.created_at


def test_the_same_customer_on_another_channel_gets_a_ticket_there(shop: Shop) -> None:
    by_mail = writes(shop.email, RUDI, subject="Tanya stok").ticket
    services.reply(by_mail, shop.wati, "Stok ada kak")
    add_identity(by_mail.contact, "phone", "0812-3456-7890", actor=SYSTEM)

    on_whatsapp = writes(shop.whatsapp, DEWI, "Ini Rudi kak, lewat WA").ticket

    assert on_whatsapp.contact == by_mail.contact
    assert on_whatsapp != by_mail
    assert on_whatsapp.channel == shop.whatsapp


def test_a_customer_reply_moves_a_pending_ticket_back_to_open(
    shop: Shop, clock: TimeMachineFixture
) -> None:
    ticket = writes(shop.whatsapp, DEWI, "Bisa COD kak?").ticket
    services.reply(ticket, shop.budi, "Bisa kak, alamatnya di mana?")
    services.set_status(ticket, Status.PENDING, actor=shop.budi)
    clock.shift(timedelta(hours=5))

    message = writes(shop.whatsapp, DEWI, "Jl. Malioboro 10, Yogyakarta")

    assert message.ticket.pk == ticket.pk
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.waiting_since == message.created_at
    change = Event.objects.filter(kind="ticket.status_changed").latest("id")
    assert change.data == {"from": "pending", "to": "open", "reason": "customer_reply"}
    assert change.actor_label == "system"


@pytest.mark.parametrize("later", [timedelta(hours=1), 6 * DAY, 7 * DAY])
def test_a_reply_within_seven_days_reopens_the_solved_ticket(
    shop: Shop, clock: TimeMachineFixture, later: timedelta
) -> None:
    ticket = _solved(shop, writes(shop.whatsapp, DEWI, "Paket belum sampai").ticket)
    clock.shift(later)

    message = writes(shop.whatsapp, DEWI, "Kak, paketnya rusak")

    assert message.ticket.pk == ticket.pk
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.solved_at is None
    assert Ticket.objects.count() == 1


def test_a_reply_after_seven_days_opens_a_new_ticket_linked_to_the_old(
    shop: Shop, clock: TimeMachineFixture
) -> None:
    old = _solved(shop, writes(shop.whatsapp, DEWI, "Paket belum sampai").ticket)
    clock.shift(7 * DAY + timedelta(minutes=1))

    message = writes(shop.whatsapp, DEWI, "Kak, mau pesan lagi")

    new = message.ticket
    assert new.pk != old.pk
    assert new.status == Status.NEW
    assert new.number == old.number + 1
    assert list(new.related.all()) == [old]
    assert list(old.related.all()) == [new]
    old.refresh_from_db()
    assert old.status == Status.SOLVED
    created = Event.objects.filter(kind="ticket.created", ticket_id=new.pk).get()
    assert created.data["follows"] == old.number

    # The conversation goes on in the new ticket.
    assert writes(shop.whatsapp, DEWI, "Yang motif kawung").ticket == new


def test_the_reopen_period_is_configurable(
    shop: Shop, clock: TimeMachineFixture, settings: Any
) -> None:
    settings.LOKET_REOPEN_DAYS = 2
    old = _solved(shop, writes(shop.whatsapp, DEWI, "Paket belum sampai").ticket)
    clock.shift(3 * DAY)

    assert writes(shop.whatsapp, DEWI, "Kak?").ticket != old


def test_a_closed_ticket_never_reopens(shop: Shop, clock: TimeMachineFixture) -> None:
    old = writes(shop.whatsapp, DEWI, "Paket belum sampai").ticket
    services.set_status(old, Status.CLOSED, actor=shop.budi)
    clock.shift(timedelta(minutes=10))

    new = writes(shop.whatsapp, DEWI, "Kak, satu lagi").ticket

    assert new != old
    assert new.status == Status.NEW
    old.refresh_from_db()
    assert old.status == Status.CLOSED


def test_a_reply_quoting_a_closed_ticket_opens_a_linked_new_one(shop: Shop) -> None:
    old_message = writes(shop.email, RUDI, subject="Retur barang", external_id="r1@contoh.co.id")
    old = old_message.ticket
    services.set_status(old, Status.CLOSED, actor=shop.wati)

    new = writes(
        shop.email,
        RUDI,
        "Barang retur belum diganti",
        subject="Re: Retur barang",
        reply_to="r1@contoh.co.id",
        references=["r1@contoh.co.id"],
    ).ticket

    assert new != old
    assert list(new.related.all()) == [old]
    old.refresh_from_db()
    assert old.status == Status.CLOSED


@pytest.mark.parametrize("status", [Status.SOLVED, Status.PENDING])
def test_an_auto_reply_never_reopens(shop: Shop, clock: TimeMachineFixture, status: str) -> None:
    ticket = writes(shop.email, RUDI, subject="Tanya stok", external_id="q1@contoh.co.id").ticket
    services.reply(ticket, shop.wati, "Stok ada kak")
    services.set_status(ticket, status, actor=shop.wati)
    clock.shift(timedelta(hours=1))

    auto = writes(
        shop.email,
        RUDI,
        "Saya sedang cuti sampai tanggal 10.",
        subject="Out of office: Tanya stok",
        reply_to="q1@contoh.co.id",
        automatic=True,
    )

    assert auto.ticket.pk == ticket.pk
    assert auto.meta["automatic"] is True
    ticket.refresh_from_db()
    assert ticket.status == status
    assert ticket.waiting_since is None  # nobody waits on an auto-reply


def test_an_auto_reply_long_after_solving_opens_no_new_ticket(
    shop: Shop, clock: TimeMachineFixture
) -> None:
    ticket = writes(shop.email, RUDI, subject="Tanya stok", external_id="q1@contoh.co.id").ticket
    _solved(shop, ticket)
    clock.shift(30 * DAY)

    auto = writes(
        shop.email,
        RUDI,
        "Alamat email ini sudah tidak aktif.",
        subject="Auto: Tanya stok",
        reply_to="q1@contoh.co.id",
        automatic=True,
    )

    assert auto.ticket.pk == ticket.pk
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED


def test_an_email_reply_threads_by_its_headers(shop: Shop) -> None:
    ticket = writes(shop.email, RUDI, subject="Tanya stok", external_id="q1@contoh.co.id").ticket
    # The shop's second mailbox gets the reply (Rudi answered to the other address).
    orders = Channel.objects.create(kind="email", name="Pesanan", address="order@batiksari.id")

    reply = writes(
        orders,
        RUDI,
        "Jadi stoknya berapa?",
        subject="Re: Tanya stok",
        reply_to="q1@contoh.co.id",
        references=["q0@contoh.co.id", "q1@contoh.co.id"],
    )

    assert reply.ticket.pk == ticket.pk
    assert reply.reply_to is not None
    assert reply.reply_to.external_id == "q1@contoh.co.id"
    # References alone are enough too.
    again = writes(
        orders, RUDI, "Halo?", subject="Re: Re: Tanya stok", references=["q1@contoh.co.id"]
    )
    assert again.ticket.pk == ticket.pk
    assert Ticket.objects.count() == 1


def test_an_email_quoting_the_ticket_number_threads_into_that_ticket(
    shop: Shop, clock: TimeMachineFixture
) -> None:
    ticket = _solved(shop, writes(shop.email, RUDI, subject="Tanya stok").ticket)
    clock.shift(DAY)
    orders = Channel.objects.create(kind="email", name="Pesanan", address="order@batiksari.id")

    quoting = writes(
        orders,
        RUDI,
        "Soal tiket kemarin",
        subject=f"Re: Tanya stok [#{ticket.number}]",
        ticket_number=ticket.number,
    )

    assert quoting.ticket.pk == ticket.pk
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_a_stranger_quoting_someone_elses_ticket_gets_their_own(shop: Shop) -> None:
    dewis = writes(shop.whatsapp, DEWI, "Pesanan #1001 saya").ticket

    stranger = writes(
        shop.email,
        Sender("email", "penipu@contoh.com", "Orang Lain"),
        subject=f"Re: [#{dewis.number}]",
        ticket_number=dewis.number,
        reply_to="wamid.dewi.1",
    ).ticket

    assert stranger != dewis
    assert stranger.contact != dewis.contact


def test_a_late_reply_to_an_old_thread_twice_makes_one_follow_up(
    shop: Shop, clock: TimeMachineFixture
) -> None:
    old = writes(shop.email, RUDI, subject="Retur", external_id="r1@contoh.co.id").ticket
    _solved(shop, old)
    clock.shift(20 * DAY)

    first = writes(shop.email, RUDI, "Barangnya rusak lagi", reply_to="r1@contoh.co.id").ticket
    second = writes(shop.email, RUDI, "Ini fotonya", reply_to="r1@contoh.co.id").ticket

    assert first != old
    assert second == first
    assert Ticket.objects.count() == 2


def test_an_unclosed_ticket_wins_over_a_newer_solved_one(
    shop: Shop, clock: TimeMachineFixture
) -> None:
    waiting = writes(shop.whatsapp, DEWI, "Kak, pesanan A sudah dikirim?").ticket
    services.reply(waiting, shop.budi, "Boleh minta nomor pesanannya kak?")
    services.set_status(waiting, Status.PENDING, actor=shop.budi)
    # Dewi also wrote from her second number; that conversation was solved later...
    clock.shift(DAY)
    second_number = Sender("phone", "0857-1111-2222", "Dewi (kantor)")
    other = writes(shop.whatsapp, second_number, "Kak, ini Dewi juga").ticket
    _solved(shop, other)
    # ...and an agent then merged the two customers.
    merge(waiting.contact, other.contact, actor=SYSTEM)
    clock.shift(10 * DAY)

    answer = writes(shop.whatsapp, DEWI, "Nomor pesanannya 4471")

    assert answer.ticket.pk == waiting.pk
    assert Ticket.objects.count() == 2
    waiting.refresh_from_db()
    assert waiting.status == Status.OPEN


def test_a_whatsapp_reply_to_a_closed_conversation_continues_the_open_one(
    shop: Shop, clock: TimeMachineFixture
) -> None:
    old = writes(shop.whatsapp, DEWI, "Kak, resinya?", external_id="wamid.old").ticket
    services.set_status(old, Status.CLOSED, actor=shop.budi)
    clock.shift(DAY)
    current = writes(shop.whatsapp, DEWI, "Mau pesan lagi kak").ticket
    assert current != old

    # Dewi swipes to answer her old message from the closed conversation.
    quoted = writes(shop.whatsapp, DEWI, "Yang seperti ini kak", reply_to="wamid.old")

    assert quoted.ticket.pk == current.pk
    assert Ticket.objects.count() == 2
