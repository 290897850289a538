"""Agents find tickets by what customers wrote: subjects, messages and notes, any form of a
word, with or without accents, by number, phone or email. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from itertools import count

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import QuerySet
from pytest_django import DjangoAssertNumQueries

from loket.accounts.models import User
from loket.accounts.permissions import visible_tickets
from loket.channels.items import InboundMessage, Sender
from loket.conftest import Shop
from loket.tickets import search, services
from loket.tickets.models import Ticket
from loket.tickets.search import ticket_query

_ids = count(1)


def from_customer(shop: Shop, phone: str, text: str, *, name: str = "") -> Ticket:
    """A WhatsApp message from a customer; each phone number is its own customer."""
    received = services.receive(
        shop.whatsapp,
        InboundMessage(
            external_id=f"wamid.search.{next(_ids)}",
            sender=Sender("phone", phone, name, international=True),
            text=text,
        ),
    )
    return received.message.ticket


def numbers(qs: QuerySet[Ticket]) -> set[int]:
    return set(qs.values_list("number", flat=True))


def found(q: str) -> set[int]:
    return numbers(ticket_query(Ticket.objects.all(), q))


def rows_in_index() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {search.TABLE}")  # noqa: S608
        (n,) = cursor.fetchone()
    return int(n)


@pytest.fixture
def kirim(shop: Shop) -> dict[str, Ticket]:
    """Four customers; three wrote a form of "kirim" (to send), one did not."""
    return {
        "pengiriman": from_customer(shop, "6281200000001", "Pengiriman ke Bandung berapa hari?"),
        "dikirim": from_customer(shop, "6281200000002", "Pesanan saya sudah dikirim belum ya?"),
        "kirimannya": from_customer(shop, "6281200000003", "Kirimannya rusak, kainnya sobek"),
        "other": from_customer(shop, "6281200000004", "Apakah batik tulis ready ukuran L?"),
    }


def test_a_root_finds_every_form_of_the_word(kirim: dict[str, Ticket]) -> None:
    wanted = {kirim[k].number for k in ("pengiriman", "dikirim", "kirimannya")}
    assert found("kirim") == wanted
    # And any form finds the others.
    assert found("pengiriman") == wanted
    assert found("KIRIMAN") == wanted


def test_a_word_matches_as_a_prefix(kirim: dict[str, Ticket]) -> None:
    assert found("band") == {kirim["pengiriman"].number}
    assert found("sobe") == {kirim["kirimannya"].number}


def test_a_half_typed_word_matches_but_a_known_root_is_a_whole_word(shop: Shop) -> None:
    year = from_customer(shop, "6281200000014", "Sudah satu tahun jadi pelanggan")
    know = from_customer(shop, "6281200000015", "Saya belum tahu ongkirnya")
    sent = from_customer(shop, "6281200000016", "Kirimannya sudah sampai")
    assert found("tahu") == {know.number}  # "tahu" (know) is a root: not "tahun" (year)
    assert found("tahun") == {year.number}
    assert found("tah") == {year.number, know.number}
    assert found("kirima") == {sent.number}


def test_accents_do_not_matter(shop: Shop) -> None:
    cafe = from_customer(shop, "6281200000005", "Saya pesan untuk Café Sari di Jogja")
    plain = from_customer(shop, "6281200000006", "Alamat kirim ke cafe Melati")
    assert found("cafe") == {cafe.number, plain.number}
    assert found("CAFÉ") == {cafe.number, plain.number}
    assert found("melatí") == {plain.number}


def test_every_word_must_match_somewhere_in_the_ticket(shop: Shop) -> None:
    rudi = shop.email_from_rudi("Apakah masih ada?", subject="Stok batik parang")
    shop.email_from_rudi("Ukuran XL untuk dua orang", message_id="m2@contoh.co.id")
    other = from_customer(shop, "6281200000007", "Batik parang ukuran M ada?")
    # Subject and a later message together make the match.
    assert found("parang xl") == {rudi.number}
    assert found("batik ukuran") == {rudi.number, other.number}
    assert found("parang xl pengiriman") == set()


def test_ticket_number(kirim: dict[str, Ticket]) -> None:
    ticket = kirim["dikirim"]
    assert found(f"#{ticket.number}") == {ticket.number}
    assert found(str(ticket.number)) == {ticket.number}
    assert found(f"#{ticket.number} pesanan") == {ticket.number}
    assert found(f"#{ticket.number} bandung") == set()


def test_quoted_words_are_a_phrase(shop: Shop) -> None:
    phrase = from_customer(shop, "6281200000008", "Mau pesan batik tulis warna biru")
    apart = from_customer(shop, "6281200000009", "Tulis alamatnya, batik dikirim besok")
    assert found("batik tulis") == {phrase.number, apart.number}
    assert found('"batik tulis"') == {phrase.number}
    assert found('"tulis batik"') == set()
    # A quoted word is exact: no prefix, no stem.
    assert found('"dikirim"') == {apart.number}
    assert found('"kirim"') == set()


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "(",
        ")",
        "AND",
        "OR",
        "NOT",
        "*",
        "kirim*",
        '"kirim',
        'kirim"',
        '""',
        "NEAR(kirim rusak)",
        "body:kirim",
        "{body stems}: x",
        "^kirim",
        "-kirim",
        "kirim AND OR NOT",
        "'",
        "\\",
        "%",
        "_",
        "a & b | c <-> d :* !e",
        "#",
        "#99999999999999999999999",
        "+62",
        "@",
        "@@",
        "x" * 500,
        "kirim " * 40,
        "\x00",
        "🙂 ✓",
    ],
)
def test_hostile_input_never_raises(kirim: dict[str, Ticket], q: str) -> None:
    list(ticket_query(Ticket.objects.all(), q))


def test_operators_are_plain_words(shop: Shop) -> None:
    """ "AND" or "NOT" in a query are words to find, not operators."""
    english = from_customer(shop, "6281200000010", "Do you ship to Bali and Lombok?")
    from_customer(shop, "6281200000011", "Kirim ke Bali bisa?")
    assert found("bali AND") == {english.number}
    assert found("kirim*") == found("kirim")
    assert found("NOT lombok") == set()


@pytest.mark.parametrize("q", ["", "   ", '"', "(", "*", '""', "!!"])
def test_a_query_with_nothing_to_search_leaves_the_list_as_it_is(
    kirim: dict[str, Ticket], q: str
) -> None:
    assert found(q) == numbers(Ticket.objects.all())


def test_an_internal_note_is_searchable(shop: Shop, kirim: dict[str, Ticket]) -> None:
    ticket = kirim["other"]
    services.add_note(ticket, shop.budi, "Pelanggan VIP, stok gudang Solo")
    assert found("gudang solo") == {ticket.number}


def test_an_answer_is_searchable(shop: Shop, kirim: dict[str, Ticket]) -> None:
    ticket = kirim["other"]
    services.reply(ticket, shop.budi, "Ready kak, ukuran L tinggal tiga")
    assert found("tinggal tiga") == {ticket.number}


def test_the_customers_phone_or_email_finds_their_tickets(shop: Shop) -> None:
    dewi = shop.whatsapp_from_dewi("Halo kak")
    rudi = shop.email_from_rudi("Selamat pagi")
    assert found("0812-3456-7890") == {dewi.number}
    assert found("+62 812 3456 7890") == {dewi.number}
    assert found("081234567890") == {dewi.number}
    # The number is found inside a longer query, spaces and all.
    assert found("0812 3456 7890 halo") == {dewi.number}
    assert found(f"halo 0812 3456 7890 {dewi.number}") == {dewi.number}
    assert found("0812 3456 7890 pagi") == set()
    assert found("RUDI@contoh.co.id") == {rudi.number}
    assert found("rudi@contoh.co.id pagi") == {rudi.number}
    assert found("rudi@contoh.co.id halo") == set()


def test_search_only_narrows_what_the_agent_may_see(shop: Shop) -> None:
    # WhatsApp tickets belong to Penjualan (Budi's team), email to Pengiriman (Wati's).
    on_whatsapp = from_customer(shop, "6281200000012", "Kiriman batik belum sampai")
    by_email = shop.email_from_rudi("Kiriman saya belum sampai", subject="Paket")

    def sees(user: User) -> set[int]:
        return numbers(ticket_query(visible_tickets(user, Ticket.objects.all()), "sampai"))

    assert sees(shop.budi) == {on_whatsapp.number}
    assert sees(shop.wati) == {by_email.number}
    assert sees(shop.sari) == {on_whatsapp.number, by_email.number}


def test_building_the_query_runs_no_sql(
    kirim: dict[str, Ticket], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(0):
        qs = ticket_query(Ticket.objects.all(), "kirim #1001 0812-3456-7890 rudi@contoh.co.id")
    with django_assert_num_queries(1):
        list(qs)


def test_rebuild_restores_a_lost_index_and_drops_deleted_tickets(
    shop: Shop, kirim: dict[str, Ticket]
) -> None:
    services.add_note(kirim["other"], shop.budi, "Sudah dicek di gudang")
    rows = rows_in_index()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {search.TABLE}")  # noqa: S608
    assert found("kirim") == set()

    assert search.reindex_all(batch=2) == rows
    assert rows_in_index() == rows
    assert found("kirim") == {kirim[k].number for k in ("pengiriman", "dikirim", "kirimannya")}
    assert found("gudang") == {kirim["other"].number}

    kirim["dikirim"].delete()
    search.reindex_all()
    assert rows_in_index() == rows - 2  # its subject and its message


def test_forget_ticket_removes_its_rows(kirim: dict[str, Ticket]) -> None:
    rows = rows_in_index()
    search.forget_ticket(kirim["pengiriman"].pk)
    assert rows_in_index() == rows - 2
    assert kirim["pengiriman"].number not in found("kirim")


def test_rebuild_command(kirim: dict[str, Ticket], capsys: pytest.CaptureFixture[str]) -> None:
    call_command("search", "rebuild")
    assert "Indexed 8 documents" in capsys.readouterr().out  # four subjects, four messages
    assert len(found("kirim")) == 3


def test_long_and_odd_text_is_indexed_safely(shop: Shop) -> None:
    text = "Résumé " + "x" * 70 + " 'quote' back\\slash " + "kata " * 10_000 + " akhirnya"
    ticket = from_customer(shop, "6281200000013", text)
    assert found("resume") == {ticket.number}
    assert found("back slash quote") == {ticket.number}
    assert found("akhir") == {ticket.number}
