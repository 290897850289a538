"""Live: what arrives while agents look is on their screens within seconds, without a reload.

New mail is imported with ``loket email import`` in another process, as an MTA would hand it
over; the pages learn about it only through the live feed (Server-Sent Events).
"""

from __future__ import annotations

import pytest

from loket.web.tests.browser.conftest import MARK, STILL_MARKED, OpenAs
from loket.web.tests.browser.stack import Stack

try:
    from playwright.sync_api import expect
except ImportError:
    pytest.skip("Playwright is not installed", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_new_messages_appear_live_for_other_agents(open_as: OpenAs, stack: Stack) -> None:
    customer = stack.new_customer("Citra Kirana")
    number = stack.mail_in(customer, "Kak, batik tulis yang biru masih ada?")

    # Rina has the conversation open; Wati (another agent, her own browser) the inbox.
    rina = open_as("rina", path=f"/tiket/{number}/", live=True)
    wati = open_as("wati", live=True)
    conversation = rina.locator(f'[data-ticket="{number}"]')
    expect(conversation).to_be_visible()
    expect(wati.locator("#ticket-list[data-live-inbox]")).to_be_visible()
    for page in (rina, wati):
        page.evaluate(MARK)

    # The customer writes again: the same conversation, on Rina's screen.
    text = "Sama yang ukuran XL ya kak, makasih"
    assert stack.mail_in(customer, text) == number
    expect(conversation.locator("[data-message-id]", has_text=text)).to_have_count(1)

    # Someone new writes: a new row in Wati's inbox.
    newcomer = stack.new_customer("Dodi Firmansyah")
    new_number = stack.mail_in(newcomer, "Permisi, toko buka hari Minggu?")
    expect(wati.locator(f'#ticket-list [data-ticket-row="{new_number}"]')).to_be_visible()

    for page in (rina, wati):
        assert page.evaluate(STILL_MARKED), f"{page.url} reloaded instead of updating live"


def test_an_agent_sees_who_else_is_on_the_ticket(open_as: OpenAs, stack: Stack) -> None:
    number = stack.mail_in(stack.new_customer("Fajar Nugroho"), "Kak, bisa COD?")
    # Rina opens the conversation (and her page says so to the server) ...
    beat = f"/live/presence/{number}/"
    open_as(
        "rina",
        path=f"/tiket/{number}/",
        until=lambda r: r.request.method == "POST" and beat in r.url and r.ok,
    )
    # ... then Joko opens it and sees her there; nobody sees themselves.
    joko = open_as("joko", path=f"/tiket/{number}/")
    others = joko.locator(f'[data-presence="{number}"] [data-presence-user]')
    expect(others).to_have_count(1)
    expect(others).to_contain_text("Rina Marlina")
