"""Saved replies and macros in a real browser: "/" in the composer, then a macro in one click."""

from __future__ import annotations

import uuid

import pytest

from loket.web.tests.browser.conftest import OpenAs
from loket.web.tests.browser.stack import Stack

try:
    from playwright.sync_api import expect
except ImportError:
    pytest.skip("Playwright is not installed", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_slash_inserts_a_filled_in_reply_and_a_macro_sets_the_ticket_pending(
    open_as: OpenAs, stack: Stack
) -> None:
    customer = stack.new_customer("Ani Wijaya")
    number = stack.mail_in(
        customer, "Kak, sudah transfer ya.", subject=f"Transfer {uuid.uuid4().hex[:6]}"
    )
    page = open_as("wati")
    row = page.locator(f'[data-ticket-row="{number}"]')
    links = row.locator("a[href]")
    (links.first if links.count() else row).click()
    ticket = page.locator(f'[data-ticket="{number}"]')
    expect(ticket).to_be_visible()

    text = ticket.locator("form[data-composer] textarea[name=text]")
    text.click()
    text.press_sequentially("Baik. /sal")
    options = ticket.locator("[role=listbox] [role=option]")
    expect(options.first).to_contain_text("Salam pembuka")
    expect(text).to_have_attribute("aria-expanded", "true")
    first_id = options.first.get_attribute("id")
    expect(text).to_have_attribute("aria-activedescendant", first_id or "")
    text.press("Enter")
    expect(text).to_have_value(
        "Baik. Halo Kak Ani, terima kasih sudah menghubungi Loket. Saya Wati, ada yang bisa "
        "saya bantu? 😊"
    )
    expect(text).to_have_attribute("aria-expanded", "false")

    # Escape closes the list and keeps what was typed.
    text.fill("")
    text.press_sequentially("/")
    expect(options.first).to_be_visible()
    text.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    text.press("Escape")
    expect(options).to_have_count(0)
    expect(text).to_have_value("/")

    # A macro: reply, tag, assign to me and "pending" in one click.
    ticket.locator("[data-macro-menu] > summary").click()
    ticket.locator("[data-macro-menu] button", has_text="Tunggu pembayaran").click()
    expect(ticket.locator(".macro-result[role=status]")).to_be_visible()
    expect(ticket.locator("select[name=status]")).to_have_value("pending")
    expect(
        ticket.locator("[data-message-id]", has_text="Kami tunggu bukti transfernya")
    ).to_have_count(1)


def test_on_a_phone_the_reply_list_fits_the_screen(open_as: OpenAs, stack: Stack) -> None:
    customer = stack.new_customer("Ani Wijaya")
    number = stack.mail_in(customer, "Halo kak", subject=f"Tanya {uuid.uuid4().hex[:6]}")
    page = open_as("wati", phone=True, path=f"/tiket/{number}/")
    text = page.locator(f'[data-ticket="{number}"] form[data-composer] textarea[name=text]')
    text.click()
    text.press_sequentially("/")
    option = page.locator("[role=listbox] [role=option]", has_text="Salam pembuka")
    expect(option).to_be_visible()
    box = option.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    option.tap()
    expect(text).to_have_value(
        "Halo Kak Ani, terima kasih sudah menghubungi Loket. Saya Wati, ada yang bisa "
        "saya bantu? 😊"
    )
