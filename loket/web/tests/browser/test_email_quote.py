"""A long quoted mail in a real browser: the customer's new words show; the quoted history is
fetched when the agent opens it (htmx on the details element's toggle), with no JavaScript or
CSP error (the fixture fails the test on either)."""

from __future__ import annotations

import pytest

from loket.web.tests.browser.conftest import OpenAs
from loket.web.tests.browser.stack import Stack

try:
    from playwright.sync_api import expect
except ImportError:
    pytest.skip("Playwright is not installed", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_quoted_history_of_a_long_mail_loads_when_opened(open_as: OpenAs, stack: Stack) -> None:
    history = "\n".join(f"> Riwayat lama baris {n}: pesanan, ongkir, resi." for n in range(150))
    text = (
        "Kak, paketnya sudah sampai, terima kasih!\n\n"
        "Pada Sen, 30 Nov 2026 pukul 10.15, Toko Batik <cs@batiksari.test> menulis:\n"
        f"{history}\n"
    )
    number = stack.mail_in(stack.new_customer("Gita Permata"), text)

    page = open_as("sari", path=f"/tiket/{number}/")
    bubble = page.locator("[data-message-id]", has_text="paketnya sudah sampai")
    expect(bubble).to_be_visible()
    assert "Riwayat lama baris 120" not in page.content()

    with page.expect_response(lambda r: "/teks/" in r.url and r.ok):
        bubble.locator("details.email-quote summary").click()
    expect(bubble.locator(".email-full")).to_contain_text("Riwayat lama baris 120")
