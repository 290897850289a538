"""An agent's day in a real browser: sign in, open a ticket from the inbox, reply, solve it.

The reply really goes out: the task worker of ``loket run`` sends it through the demo email
channel to the SMTP sink, and the page shows the message as sent without a reload.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest

from loket.web.tests.browser.conftest import MARK, STILL_MARKED, OpenAs, sign_in
from loket.web.tests.browser.stack import Stack, text_of

try:
    from playwright.sync_api import Page, expect
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
except ImportError:
    pytest.skip("Playwright is not installed", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def open_from_inbox(page: Page, number: int) -> None:
    """Click the ticket's row in the inbox; its conversation opens."""
    row = page.locator(f'[data-ticket-row="{number}"]')
    expect(row).to_be_visible()
    links = row.locator("a[href]")
    (links.first if links.count() else row).click()
    expect(page.locator(f'[data-ticket="{number}"]')).to_be_visible()


def test_sign_in_open_reply_sent_and_solve(new_page: Callable[[], Page], stack: Stack) -> None:
    customer = stack.new_customer("Ani Wijaya")
    subject = f"Paket belum sampai {uuid.uuid4().hex[:6]}"
    number = stack.mail_in(customer, "Halo kak, paket saya belum sampai juga.", subject=subject)

    # Sign in through the form (Wati is an agent of Pengiriman, the email channel's team).
    page = new_page()
    sign_in(page, stack, "wati")
    expect(page.locator("#ticket-list[data-live-inbox]")).to_be_visible()

    open_from_inbox(page, number)
    ticket = page.locator(f'[data-ticket="{number}"]')
    expect(ticket).to_have_attribute("data-live-ticket", re.compile(r"^\d+$"))

    # Reply: the conversation updates in place (a reload would lose this mark).
    page.evaluate(MARK)
    text = f"Halo Kak Ani, paketnya sedang kami cek ke kurir ya. [{uuid.uuid4().hex[:8]}]"
    form = ticket.locator("form[data-composer]")
    form.locator("textarea[name=text]").fill(text)
    form.locator("button[data-send]").click()

    # The bubble appears, then turns "sent" once the worker has handed it to the mail server.
    bubble = ticket.locator("[data-message-id]", has_text=text)
    expect(bubble).to_have_count(1)
    expect(bubble).to_have_attribute("data-status", "sent")
    [mail] = [m for m in stack.sink.mails if text in text_of(m)]
    assert mail["To"] == customer.address
    assert f"[#{number}]" in mail["Subject"]
    expect(form.locator("textarea[name=text]")).to_have_value("")

    # Mark solved from the side panel: saved at once, and it holds after a reload.
    # The "sent" news refreshes the header a moment later; a choice made in the instant the
    # control is replaced is lost (a known gap, see the closing note), and the agent would
    # simply pick again. So does the test, at most three times.
    for attempt in range(3):
        try:
            with page.expect_response(
                lambda r: r.request.method == "POST" and "/live/" not in r.url and r.ok,
                timeout=5000,
            ):
                ticket.locator("select[name=status]").select_option("solved")
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    expect(ticket.locator("select[name=status]")).to_have_value("solved")
    assert page.evaluate(STILL_MARKED), "replying or solving reloaded the page"
    page.goto(f"/tiket/{number}/")
    expect(page.locator(f'[data-ticket="{number}"] select[name=status]')).to_have_value("solved")


def test_ctrl_enter_sends_from_the_composer(open_as: OpenAs, stack: Stack) -> None:
    number = stack.mail_in(stack.new_customer("Bayu Saputra"), "Mau tanya ongkir ke Medan.")
    page = open_as("rina", path=f"/tiket/{number}/")
    ticket = page.locator(f'[data-ticket="{number}"]')
    textarea = ticket.locator("form[data-composer] textarea[name=text]")

    text = f"Ongkir ke Medan Rp 38.000 ya kak. [{uuid.uuid4().hex[:8]}]"
    page.evaluate(MARK)
    textarea.click()
    textarea.press_sequentially(text)
    page.keyboard.press("Control+Enter")

    expect(ticket.locator("[data-message-id]", has_text=text)).to_have_count(1)
    expect(textarea).to_have_value("")
    assert page.evaluate(STILL_MARKED), "sending reloaded the page"
    # Enter alone is a new line, not a send.
    textarea.press_sequentially("baris satu")
    page.keyboard.press("Enter")
    textarea.press_sequentially("baris dua")
    expect(textarea).to_have_value("baris satu\nbaris dua")
    expect(ticket.locator("[data-message-id]", has_text="baris satu")).to_have_count(0)
