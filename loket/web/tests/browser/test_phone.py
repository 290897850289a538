"""On a phone (360 px): one pane at a time, no sideways scrolling, thumb-sized controls."""

from __future__ import annotations

import pytest

from loket.web.tests.browser.conftest import OpenAs
from loket.web.tests.browser.stack import Stack

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:
    pytest.skip("Playwright is not installed", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

WIDTH = 360
TAP = 44  # px, the smallest comfortable tap target (UX.md)


def scroll_width(page: Page) -> int:
    width: int = page.evaluate("document.scrollingElement.scrollWidth")
    return width


def wider_than_screen(page: Page) -> list[str]:
    """Elements that stick out on the right: what makes a page scroll sideways."""
    found: list[str] = page.evaluate(
        """(width) => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > width + 0.5
                     && getComputedStyle(e).visibility !== 'hidden'
                     && e.getClientRects().length)
        .slice(0, 8)
        .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                  + (e.className && typeof e.className === 'string'
                     ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                  + ' right=' + Math.round(e.getBoundingClientRect().right))""",
        WIDTH,
    )
    return found


def assert_no_sideways_scroll(page: Page) -> None:
    assert scroll_width(page) <= WIDTH, (
        f"{page.url} scrolls sideways at {WIDTH} px (scrollWidth {scroll_width(page)}); "
        f"too wide: {wider_than_screen(page)}"
    )


def assert_tappable(control: Locator, what: str) -> None:
    expect(control).to_be_visible()
    box = control.bounding_box()
    assert box is not None, what
    size = f"{what} is {box['width']:.0f}x{box['height']:.0f} px, under {TAP} px to tap"
    assert box["height"] >= TAP, size
    assert box["width"] >= TAP, size


def test_inbox_and_conversation_at_360_px(open_as: OpenAs, stack: Stack) -> None:
    number = stack.mail_in(
        stack.new_customer("Eka Putri"),
        "Selamat pagi, saya mau tukar ukuran kemeja batik yang kemarin saya beli, "
        "dari M ke L, apakah bisa? Nomor pesanan BS-2406999. Terima kasih banyak.",
        subject="Tukar ukuran kemeja batik lengan panjang motif parang, pesanan BS-2406999",
    )
    page = open_as("wati", phone=True)
    assert page.evaluate("window.innerWidth") == WIDTH

    # The list.
    row = page.locator(f'#ticket-list [data-ticket-row="{number}"]')
    expect(row).to_be_visible()
    assert_no_sideways_scroll(page)
    assert_tappable(row, "an inbox row")

    # Tap: the conversation takes the whole screen.
    row.tap()
    ticket = page.locator(f'[data-ticket="{number}"]')
    expect(ticket).to_be_visible()
    expect(page.locator("#ticket-list")).to_be_hidden()
    assert_no_sideways_scroll(page)
    form = ticket.locator("form[data-composer]")
    assert_tappable(form.locator("button[data-send]"), "the send button")
    assert_tappable(form.locator("textarea[name=text]"), "the reply box")
    assert_tappable(ticket.locator("select[name=status]").first, "the status control")

    # Back to the list with the phone's back button ...
    page.go_back()
    expect(page.locator(f'#ticket-list [data-ticket-row="{number}"]')).to_be_visible()
    expect(page.locator(f'[data-ticket="{number}"]')).to_be_hidden()
    assert_no_sideways_scroll(page)

    # ... and with the conversation's own way back to the inbox.
    row.tap()
    expect(ticket).to_be_visible()
    back = ticket.locator('a[href="/"]').first
    assert_tappable(back, "the way back to the inbox")
    back.tap()
    expect(row).to_be_visible()
    expect(ticket).to_be_hidden()
