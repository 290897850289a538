"""WhatsApp messages on the ticket page: every meta["wa"] type (docs/adr/0004) in words an
agent can act on, quotes, reactions, media players, failures with the way forward."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loket.accounts.models import User
from loket.channels.items import InboundAttachment, InboundMessage, Sender
from loket.conftest import Shop
from loket.tickets import services as tickets
from loket.tickets.models import DeliveryStatus, Message, Ticket
from loket.web.tickets import wa_timeline

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(shop: Shop) -> None:
    """Budi reads English here: the new strings are translated at integration (make messages);
    the Indonesian wording is the translators' (see the lead's locale)."""
    shop.budi.language = "en"
    shop.budi.save(update_fields=["language"])


DEWI = Sender("phone", "6281234567890", "Dewi Lestari", international=True)


def from_dewi(
    shop: Shop,
    wamid: str,
    text: str = "",
    wa: dict[str, Any] | None = None,
    *,
    attachments: list[InboundAttachment] | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    item = InboundMessage(
        external_id=wamid,
        sender=DEWI,
        text=text,
        attachments=attachments or [],
        meta=meta if meta is not None else {"wa": {"type": "text", **(wa or {})}},
        reply_to_external_id=str(((wa or {}).get("context") or {}).get("id") or ""),
    )
    return tickets.receive(shop.whatsapp, item).message


def page(user: User, ticket: Ticket) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("web:tickets:detail", args=[ticket.number]))
    assert response.status_code == 200
    return response.content.decode()


def bubble(html: str, message: Message) -> str:
    """The HTML of one message's bubble."""
    match = re.search(rf'<li class="bubble[^"]*" id="msg-{message.pk}".*?\n  </li>', html, re.S)
    assert match, f"no bubble for message {message.pk}"
    return match.group(0)


def test_a_location_is_a_card_with_a_map_link(shop: Shop) -> None:
    m = from_dewi(
        shop,
        "wamid.loc",
        "Toko Batik Sari\nJl. Malioboro 12",
        {
            "type": "location",
            "location": {
                "latitude": -7.7925,
                "longitude": 110.3658,
                "name": "Toko Batik Sari",
                "address": "Jl. Malioboro 12",
                "map_url": "https://www.google.com/maps/search/?api=1&query=-7.7925,110.3658",
            },
        },
    )
    html = bubble(page(shop.budi, m.ticket), m)
    assert "wa-location" in html
    assert "Toko Batik Sari" in html
    assert "Jl. Malioboro 12" in html
    assert "-7.7925, 110.3658" in html
    assert re.search(
        r'<a href="https://www.google.com/maps/search/\?api=1&amp;query=-7.7925,110.3658" '
        r'target="_blank" rel="noopener noreferrer">Open the map</a>',
        html,
    )
    # The card says it all: the text is not repeated under it.
    assert 'class="bubble-text"' not in html


def test_a_javascript_map_link_is_never_shown(shop: Shop) -> None:
    m = from_dewi(
        shop,
        "wamid.evil",
        "x",
        {
            "type": "location",
            "location": {"latitude": 1, "longitude": 2, "map_url": "javascript:alert(1)"},
            "referral": {"headline": "Promo", "source_url": "javascript:alert(2)"},
        },
    )
    html = page(shop.budi, m.ticket)
    assert "javascript:" not in html
    # A map link is made from the coordinates instead.
    assert "query=1,2" in html


def test_contact_cards_show_names_phones_as_tel_links_and_emails(shop: Shop) -> None:
    m = from_dewi(
        shop,
        "wamid.cards",
        "Rina\n+62 811-222-333",
        {
            "type": "contacts",
            "contacts": [
                {
                    "name": "Rina Kurnia",
                    "phones": [
                        {"phone": "+62 811-222-333", "wa_id": "62811222333", "type": "CELL"}
                    ],
                    "emails": [{"email": "rina@contoh.co.id", "type": "WORK"}],
                    "org": "CV Rina — Pemilik",
                },
                {"name": "Agus", "phones": [{"phone": "0812 9999", "type": "HOME"}]},
            ],
        },
    )
    html = bubble(page(shop.budi, m.ticket), m)
    assert html.count("wa-contact") == 2
    assert "Rina Kurnia" in html
    assert "CV Rina — Pemilik" in html
    assert '<a href="tel:+62811222333">+62 811-222-333</a>' in html
    assert '<a href="tel:08129999">0812 9999</a>' in html
    assert "rina@contoh.co.id" in html


@pytest.mark.parametrize("kind", ["button_reply", "list_reply", "button"])
def test_a_chosen_option_says_what_was_chosen(shop: Shop, kind: str) -> None:
    m = from_dewi(
        shop,
        f"wamid.{kind}",
        "Sudah sampai",
        {
            "type": "interactive" if kind != "button" else "button",
            "context": {"id": "wamid.ours"},
            "reply": {"kind": kind, "id": "ok", "title": "Sudah sampai", "description": "Paket"},
        },
    )
    html = bubble(page(shop.budi, m.ticket), m)
    assert "Chose: Sudah sampai" in html


def test_an_order_is_a_table_with_rupiah_prices_and_total(shop: Shop) -> None:
    m = from_dewi(
        shop,
        "wamid.order",
        "Tolong dikirim cepat",
        {
            "type": "order",
            "order": {
                "catalog_id": "c1",
                "text": "Tolong dikirim cepat",
                "items": [
                    {
                        "product_retailer_id": "BATIK-PARANG-L",
                        "quantity": 2,
                        "item_price": 150000,
                        "currency": "IDR",
                    },
                    {
                        "product_retailer_id": "SELENDANG",
                        "quantity": 1,
                        "item_price": "75000",
                        "currency": "IDR",
                    },
                ],
                "total": "375000",
                "currency": "IDR",
            },
        },
    )
    html = bubble(page(shop.budi, m.ticket), m)
    assert "<table>" in html
    assert re.search(
        r"<td>BATIK-PARANG-L</td><td>2</td><td>Rp 150.000</td><td>Rp 300.000</td>", html
    )
    assert "Rp 75.000" in html
    assert re.search(r"Total</th><td>Rp 375.000</td>", html)
    assert "Tolong dikirim cepat" in html


def test_money_formats() -> None:
    assert wa_timeline.money("1234567", "IDR") == "Rp 1.234.567"
    assert wa_timeline.money(12.5, "usd") == "USD 12.50"
    assert wa_timeline.money("nope", "IDR") == "nope"


def test_an_ad_referral_shows_above_the_message_as_context(shop: Shop) -> None:
    m = from_dewi(
        shop,
        "wamid.ad",
        "Mau tanya promo ini",
        {
            "referral": {
                "source_url": "https://fb.me/promo-batik",
                "source_type": "ad",
                "headline": "Diskon 30% Batik Tulis",
                "body": "Hanya minggu ini",
                "ctwa_clid": "ARAkL",
            }
        },
    )
    html = bubble(page(shop.budi, m.ticket), m)
    assert html.index("wa-referral") < html.index("Mau tanya promo ini")
    assert "Diskon 30% Batik Tulis" in html
    assert "Hanya minggu ini" in html
    assert '<a href="https://fb.me/promo-batik" target="_blank" rel="noopener noreferrer">' in html


def test_a_quote_links_to_the_quoted_message_in_the_timeline(shop: Shop) -> None:
    first = from_dewi(shop, "wamid.q1", "Kak, batik parang ukuran L ada?")
    second = from_dewi(shop, "wamid.q2", "Yang ini ya", {"context": {"id": "wamid.q1"}})
    assert second.reply_to == first
    html = bubble(page(shop.budi, first.ticket), second)
    assert f'<a href="#msg-{first.pk}" data-quote-link>Kak, batik parang ukuran L ada?</a>' in html


def test_a_quote_of_an_unknown_message_says_so(shop: Shop) -> None:
    m = from_dewi(shop, "wamid.q3", "Ini maksud saya", {"context": {"id": "wamid.elsewhere"}})
    html = bubble(page(shop.budi, m.ticket), m)
    assert "wa-quote" in html
    assert "data-quote-link" not in html


def test_forwarded_flags(shop: Shop) -> None:
    once = from_dewi(shop, "wamid.f1", "Info", {"forwarded": True})
    many = from_dewi(shop, "wamid.f2", "Hoaks", {"forwarded": "frequently"})
    html = page(shop.budi, once.ticket)
    assert "Forwarded" in bubble(html, once)
    assert "Forwarded many times" in bubble(html, many)


def test_a_changed_number_is_a_notice(shop: Shop) -> None:
    m = from_dewi(
        shop,
        "wamid.sys",
        "User A changed from X to Y",
        {
            "type": "system",
            "system": {"type": "user_changed_number", "body": "...", "new_wa_id": "6281299998888"},
        },
    )
    html = bubble(page(shop.budi, m.ticket), m)
    assert "+6281299998888" in html
    assert "wa-notice" in html


def test_an_unsupported_type_says_why_in_plain_words(shop: Shop) -> None:
    m = from_dewi(
        shop,
        "wamid.poll",
        "",
        {
            "type": "unsupported",
            "unsupported": {"type": "poll_update", "code": 131051, "reason": "not supported"},
        },
    )
    html = bubble(page(shop.budi, m.ticket), m)
    assert (
        "A poll message is not supported by the WhatsApp Cloud API; ask the customer to send "
        "it again as text." in html
    )
    assert "data-reply-to" not in html  # nothing to quote or react to


def test_a_message_loket_could_not_read_says_so(shop: Shop) -> None:
    m = from_dewi(
        shop,
        "wamid.broken",
        "",
        {
            "type": "unsupported",
            "unsupported": {"type": "location", "code": "", "reason": "latitude is not a number"},
        },
    )
    html = bubble(page(shop.budi, m.ticket), m)
    assert "Loket could not read this location message (latitude is not a number)" in html


def test_a_flow_answer_and_a_product_enquiry(shop: Shop) -> None:
    flow = from_dewi(
        shop,
        "wamid.flow",
        "Sent",
        {
            "type": "interactive",
            "reply": {
                "kind": "nfm_reply",
                "response": {"ukuran": "L", "warna": "Biru", "flow_token": "secret"},
            },
        },
    )
    product = from_dewi(
        shop,
        "wamid.product",
        "Masih ada?",
        {"referred_product": {"catalog_id": "c1", "product_retailer_id": "BATIK-PARANG-L"}},
    )
    html = page(shop.budi, flow.ticket)
    # (PostgreSQL's jsonb keeps keys in its own order.)
    assert "<dt>ukuran</dt><dd>L</dd>" in bubble(html, flow)
    assert "<dt>warna</dt><dd>Biru</dd>" in bubble(html, flow)
    assert "flow_token" not in html
    assert "BATIK-PARANG-L" in bubble(html, product)


def test_an_edit_and_a_revoke_mark_the_original(shop: Shop) -> None:
    original = from_dewi(shop, "wamid.e1", "Ukuran M")
    edit = from_dewi(
        shop, "wamid.e2", "Ukuran L", {"type": "edit", "edit": {"original_message_id": "wamid.e1"}}
    )
    gone = from_dewi(shop, "wamid.e3", "Salah kirim")
    revoke = from_dewi(
        shop, "wamid.e4", "", {"type": "revoke", "revoke": {"original_message_id": "wamid.e3"}}
    )
    html = page(shop.budi, original.ticket)
    assert "is-revoked" in bubble(html, gone)
    assert f'id="msg-{revoke.pk}"' not in html  # the revoke is no bubble of its own
    assert f'href="#msg-{original.pk}"' in bubble(html, edit)
    assert "Ukuran L" in bubble(html, edit)
    assert "wa-flag" in bubble(html, original)


def media(shop: Shop, kind: str, name: str, content_type: str, text: str = "") -> Message:
    """A customer's media message of ``kind`` carrying one file."""
    upload = InboundAttachment(name, content_type, f"{kind} bytes".encode())
    return from_dewi(shop, f"wamid.{kind}", text, {"type": kind}, attachments=[upload])


def test_media_play_in_the_page_stickers_are_small_documents_download(shop: Shop) -> None:
    voice = media(shop, "audio", "voice.ogg", "audio/ogg; codecs=opus")
    video = media(shop, "video", "video.mp4", "video/mp4", "Lihat ini")
    sticker = media(shop, "sticker", "sticker.webp", "image/webp")
    doc = media(shop, "document", "invoice.pdf", "application/pdf", "Invoice")
    html = page(shop.budi, voice.ticket)
    a = voice.attachments.get()
    url = reverse("web:tickets:attachment", args=[a.pk])
    assert f'<audio controls preload="none" src="{url}?inline=1"' in bubble(html, voice)
    assert "<video controls" in bubble(html, video)
    assert 'class="sticker"' in bubble(html, sticker)
    doc_url = reverse("web:tickets:attachment", args=[doc.attachments.get().pk])
    assert f'href="{doc_url}" download' in bubble(html, doc)
    # The voice note plays from our origin: served inline, under the page's CSP (self).
    client = Client()
    client.force_login(shop.budi)
    response = client.get(f"{url}?inline=1")
    assert response.status_code == 200
    assert not response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"].startswith("audio/ogg")
    page_csp = client.get(reverse("web:tickets:detail", args=[voice.ticket.number]))[
        "Content-Security-Policy"
    ]
    assert "media-src" not in page_csp
    assert "default-src 'self'" in page_csp


def test_reactions_show_as_badges_on_the_message(shop: Shop) -> None:
    m = from_dewi(shop, "wamid.r1", "Terima kasih kak")
    Message.objects.filter(pk=m.pk).update(
        meta={
            **m.meta,
            "reactions": [
                {"emoji": "❤️", "by": "customer", "sender": "6281234567890", "at": "2026-11-29"}
            ],
        }
    )
    html = bubble(page(shop.budi, m.ticket), m)
    assert re.search(r'<li class="reaction reaction-customer"[^>]*>❤️</li>', html)


def test_a_failed_reply_outside_the_window_offers_the_template_picker(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    message = tickets.reply(ticket, shop.budi, "Halo kak")
    Message.objects.filter(pk=message.pk).update(
        delivery_status=DeliveryStatus.FAILED,
        failure_code="131047",
        failure_reason="Lebih dari 24 jam sejak pesan terakhir pelanggan",
    )
    html = bubble(page(shop.budi, ticket), message)
    assert "Lebih dari 24 jam" in html
    assert "Send an approved template" in html
    assert f'href="#wa-templates-{ticket.number}" data-open-templates' in html


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("131026", "email"),
        ("130429", "will retry by itself"),
        ("190", "admin"),
        ("132001", "pick another template"),
        ("132015", "pick another template"),
    ],
)
def test_failure_advice_for_whatsapp_codes(shop: Shop, code: str, words: str) -> None:
    ticket = shop.whatsapp_from_dewi("Halo")
    message = tickets.reply(ticket, shop.budi, "Halo kak")
    Message.objects.filter(pk=message.pk).update(
        delivery_status=DeliveryStatus.FAILED, failure_code=code, failure_reason="x"
    )
    html = bubble(page(shop.budi, ticket), message)
    assert words in html.lower()
    assert "data-open-templates" not in html


def test_the_page_has_no_inline_script_or_handlers(shop: Shop) -> None:
    from_dewi(shop, "wamid.c1", "Halo", {"forwarded": True})
    m = from_dewi(shop, "wamid.c2", "<script>alert(1)</script>", {"context": {"id": "wamid.c1"}})
    html = page(shop.budi, m.ticket)
    assert "<script>alert(1)" not in html
    assert not re.search(r"\son[a-z]+\s*=", html)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "nonce=" in tag, tag
    assert "javascript:" not in html


def _count(user: User, ticket: Ticket) -> int:
    client = Client()
    client.force_login(user)
    url = reverse("web:tickets:detail", args=[ticket.number])
    client.get(url, headers={"HX-Request": "true"})
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, headers={"HX-Request": "true"}).status_code == 200
    return len(queries)


def test_rich_whatsapp_messages_cost_no_extra_queries(shop: Shop) -> None:
    first = from_dewi(shop, "wamid.n0", "Halo")
    baseline = _count(shop.budi, first.ticket)
    for n in range(1, 8):
        from_dewi(shop, f"wamid.n{n}", f"Pesan {n}", {"context": {"id": f"wamid.n{n - 1}"}})
        from_dewi(
            shop,
            f"wamid.l{n}",
            "Lokasi",
            {"type": "location", "location": {"latitude": n, "longitude": n}},
        )
        tickets.reply(
            first.ticket,
            shop.budi,
            "",
            meta={"wa": {"reaction": {"message_id": f"wamid.n{n}", "emoji": "👍"}}},
        )
    assert _count(shop.budi, first.ticket) == baseline
