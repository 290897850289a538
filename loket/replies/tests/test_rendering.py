"""Placeholders are filled from an allowlist by plain substitution, never by the template engine."""

from __future__ import annotations

import pytest

from loket.conftest import Shop
from loket.core import site
from loket.replies import rendering
from loket.replies.rendering import render, values_for
from loket.tickets.models import Ticket


@pytest.fixture
def ticket(shop: Shop) -> Ticket:
    received = shop.whatsapp_from_dewi("Kak, batik tulis ukuran L masih ada?")
    return Ticket.objects.select_related("contact").get(pk=received.pk)


def test_every_placeholder_is_filled_for_the_ticket_and_agent(shop: Shop, ticket: Ticket) -> None:
    text = (
        "Halo {{ contact.first_name }} ({{contact.name}}), saya {{ agent.first_name }} "
        "({{ agent.name }}) dari {{ business.name }}. Tiket #{{ ticket.number }}: "
        "{{ ticket.subject }}."
    )
    result = render(text, values_for(ticket, shop.budi))
    assert result.unknown == ()
    assert result.text == (
        f"Halo Dewi (Dewi Lestari), saya Budi (Budi Santoso) dari Loket. "
        f"Tiket #{ticket.number}: {ticket.subject}."
    )


def test_hostile_template_syntax_stays_literal(shop: Shop, ticket: Ticket) -> None:
    text = (
        "{{ settings.SECRET_KEY }} {% load static %}{% debug %} {{ contact.name|upper }} "
        "{{ contact.__class__ }} {# comment #} {{ ticket.contact.identities.all }}"
    )
    result = render(text, values_for(ticket, shop.budi))
    assert result.text == text
    assert result.unknown == (
        "{{ settings.SECRET_KEY }}",
        "{{ contact.name|upper }}",
        "{{ contact.__class__ }}",
        "{{ ticket.contact.identities.all }}",
    )


def test_values_are_inserted_once_not_expanded_again(shop: Shop, ticket: Ticket) -> None:
    ticket.contact.name = "{{ agent.name }} {% now 'Y' %}"
    result = render("Halo {{ contact.name }}", values_for(ticket, shop.budi))
    assert result.text == "Halo {{ agent.name }} {% now 'Y' %}"
    assert result.unknown == ()


def test_a_customer_without_a_name_is_greeted_as_kak(shop: Shop, ticket: Ticket) -> None:
    ticket.contact.name = ""
    result = render("Halo {{ contact.first_name }}, {{ contact.name }}", values_for(ticket, None))
    assert result.text == "Halo Kak, Kak"


def test_without_a_ticket_its_placeholders_stay_visible_but_are_not_unknown(shop: Shop) -> None:
    result = render("#{{ ticket.number }} dari {{ agent.first_name }}", values_for(None, shop.wati))
    assert result.text == "#{{ ticket.number }} dari Wati"
    assert result.unknown == ()


def test_unknown_placeholders_are_named_with_the_known_ones() -> None:
    message = rendering.describe_unknown(["{{ pesanan.resi }}"])
    assert "{{ pesanan.resi }}" in message
    assert "{{ contact.name }}" in message


def test_a_huge_run_of_braces_stays_unchanged() -> None:
    text = "{{" * 20_000 + "}}" * 20_000
    assert render(text, {}).text == text


def test_the_business_name_comes_from_the_site_settings(shop: Shop, ticket: Ticket) -> None:
    assert render("{{ business.name }}", values_for(ticket, None)).text == "Loket"
    site.update(shop.sari, business_name="Toko Batik Sari")
    assert render("{{ business.name }}", values_for(ticket, None)).text == "Toko Batik Sari"
