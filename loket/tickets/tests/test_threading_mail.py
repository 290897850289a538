"""How mail threads (email lessons §6), beyond the rules chat and mail share.

- In-Reply-To names the ticket on the receiving mailbox, whoever answers (a colleague in Cc);
- References alone name it only while the subject is still the ticket's: a reply to an old
  mail that starts a new topic opens a new ticket that follows the old one;
- "[#1042]" in the subject names the ticket only for someone who takes part in it;
- a new mail with no thread evidence joins the sender's own ticket about the same subject,
  never another customer's, whatever its subject;
- a customer known by email and WhatsApp writing by email about the WhatsApp ticket lands in it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from time_machine import TimeMachineFixture

from loket.audit.services import SYSTEM
from loket.channels.items import Sender
from loket.conftest import Shop
from loket.contacts.services import add_identity
from loket.tickets import services
from loket.tickets.models import Status, Ticket
from loket.tickets.subjects import clean, ticket_number
from loket.tickets.tests.conftest import DEWI, RUDI, writes

pytestmark = pytest.mark.django_db

SITI = Sender("email", "siti@contoh.co.id", "Siti Aminah")


def _mail(
    shop: Shop, subject: str = "Tanya stok batik", message_id: str = "q1@contoh.co.id"
) -> Ticket:
    return writes(shop.email, RUDI, subject=subject, external_id=message_id).ticket


def test_a_colleague_answering_in_reply_to_joins_the_ticket(shop: Shop) -> None:
    ticket = _mail(shop)
    reply = services.reply(ticket, shop.wati, "Stok ada kak")
    reply.external_id = "loket.out.1@batiksari.id"
    reply.save(update_fields=["external_id"])

    colleague = writes(
        shop.email,
        SITI,
        "Saya rekan Rudi, kirim 3 ya",
        subject="Re: Tanya stok batik",
        reply_to="loket.out.1@batiksari.id",
    )

    assert colleague.ticket == ticket
    assert colleague.identity is not None
    assert colleague.identity.value == "siti@contoh.co.id"
    assert Ticket.objects.count() == 1


def test_references_with_a_new_subject_open_a_ticket_that_follows(shop: Shop) -> None:
    old = _mail(shop)

    new_topic = writes(
        shop.email,
        RUDI,
        "Mau tanya soal retur",
        subject="Retur barang cacat",
        references=["q1@contoh.co.id"],
    ).ticket
    same_topic = writes(
        shop.email,
        RUDI,
        "Jadi berapa?",
        subject="Re: Tanya stok batik",
        references=["q1@contoh.co.id"],
    ).ticket

    assert new_topic != old
    assert list(new_topic.related.all()) == [old]
    assert same_topic == old


@override_settings(LOKET_EMAIL_REFERENCES_NEED_SUBJECT=False)
def test_references_alone_can_be_trusted_by_setting(shop: Shop) -> None:
    old = _mail(shop)
    joined = writes(
        shop.email, RUDI, "x", subject="Topik lain", references=["q1@contoh.co.id"]
    ).ticket
    assert joined == old


def test_a_quoted_number_from_a_participant_on_another_address_joins(shop: Shop) -> None:
    ticket = _mail(shop)
    # Siti was written to in the ticket (the agent answered her address too).
    siti = add_identity(ticket.contact, "email", "siti@contoh.co.id", actor=SYSTEM)
    assert siti.contact == ticket.contact

    quoting = writes(
        shop.email,
        SITI,
        "Lanjut",
        subject=f"Re: Tanya stok batik [#{ticket.number}]",
        ticket_number=ticket.number,
    )

    assert quoting.ticket == ticket


def test_a_stranger_quoting_a_number_gets_a_new_ticket_linked_once(shop: Shop) -> None:
    ticket = _mail(shop)
    first = writes(
        shop.email, SITI, "Halo", subject=f"[#{ticket.number}] pesanan", ticket_number=ticket.number
    ).ticket
    second = writes(
        shop.email,
        SITI,
        "Halo lagi",
        subject=f"Re: [#{ticket.number}] pesanan",
        ticket_number=ticket.number,
    ).ticket

    assert first != ticket
    assert first.contact != ticket.contact
    assert list(first.related.all()) == [ticket]
    assert second == first
    assert ticket.messages.count() == 1


def test_a_new_mail_about_another_subject_is_a_new_ticket(shop: Shop) -> None:
    first = _mail(shop)
    other = writes(shop.email, RUDI, "Ongkir ke Medan berapa?", subject="Ongkir").ticket
    again = writes(shop.email, RUDI, "Halo?", subject="RE: AW: tanya STOK batik").ticket

    assert other != first
    assert again == first
    assert Ticket.objects.count() == 2


def test_the_same_subject_never_joins_another_customers_ticket(shop: Shop) -> None:
    rudis = _mail(shop, subject="Pesanan")
    sitis = writes(shop.email, SITI, "Pesanan saya belum sampai", subject="Pesanan").ticket
    assert sitis != rudis
    assert sitis.contact != rudis.contact


def test_a_same_subject_mail_after_solving_reopens_only_within_the_period(
    shop: Shop, clock: TimeMachineFixture
) -> None:
    ticket = _mail(shop)
    services.reply(ticket, shop.wati, "Ada kak")
    services.set_status(ticket, Status.SOLVED, actor=shop.wati)
    clock.shift(timedelta(days=2))
    back = writes(shop.email, RUDI, "Masih ada?", subject="Tanya stok batik").ticket
    assert back == ticket
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_an_email_about_the_whatsapp_ticket_lands_on_the_same_contact(shop: Shop) -> None:
    on_whatsapp = writes(shop.whatsapp, DEWI, "Kak, pesanan saya belum sampai").ticket
    add_identity(on_whatsapp.contact, "email", "dewi@contoh.co.id", actor=SYSTEM)

    by_mail = writes(
        shop.email,
        Sender("email", "Dewi@Contoh.co.id", "Dewi"),
        "Ini bukti transfernya",
        subject=f"Bukti transfer [#{on_whatsapp.number}]",
        ticket_number=on_whatsapp.number,
    )

    assert by_mail.ticket == on_whatsapp
    assert by_mail.ticket.contact == on_whatsapp.contact
    assert by_mail.channel == shop.email


@pytest.mark.parametrize(
    ("subject", "cleaned"),
    [
        ("Re: Tanya stok", "tanya stok"),
        ("RE: AW: Fwd: Tanya  stok [#1042]", "tanya stok"),
        ("Re[3]: Tanya stok", "tanya stok"),
        ("Re:Tanya stok", "tanya stok"),
        ("Balas: Tanya stok", "tanya stok"),
        ("WG: SV: Odp: Antw: RIF: Tanya stok", "tanya stok"),
        ("\u56de\u590d\uff1aTanya stok", "tanya stok"),
        ("[Batik Sari] Re: Tanya stok", "tanya stok"),
        ("Rekening baru", "rekening baru"),  # "Re" inside a word is not a prefix
        ("Tr: Tracking", "tracking"),
    ],
)
def test_subjects_are_cleaned_of_prefixes_in_many_languages(subject: str, cleaned: str) -> None:
    assert clean(subject) == cleaned


def test_the_last_token_in_a_subject_is_ours() -> None:
    assert ticket_number("Re: [#12] dari sistem lain [#1042]") == 1042
    assert ticket_number("Tanpa nomor #1042") is None
