"""Screenshots of the dashboard for the README: the inbox and a ticket, desktop and phone.

    .venv/bin/python bench/screenshots.py [--out docs/screenshots] [--as joko]

Starts the real stack on the demo shop (``loket run`` on a throwaway SQLite data directory,
the same harness as the browser tests), signs in through the sign-in form in headless
Debian Chromium (/usr/bin/chromium, driven by Playwright) and saves:

    inbox-desktop.png   ticket-desktop.png   (1280 x 800)
    inbox-phone.png     ticket-phone.png     (360 x 740, at 2x)

The ticket shown is the demo's busiest conversation still in progress that the agent sees; on
the desktop inbox it is open beside the list.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from loket.web.tests.browser.stack import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_PASSWORD,
    Stack,
    login,
    running_stack,
)

ROOT = Path(__file__).resolve().parent.parent
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}

# Printed by ``loket shell``: the number of the busiest open or pending ticket the agent sees.
_BUSIEST = """
from django.db.models import Count, Q
from loket.accounts.models import User
from loket.accounts.permissions import visible_tickets
from loket.tickets.models import Ticket
agent = User.objects.get(email={email!r})
ticket = (
    visible_tickets(agent, Ticket.objects.all())
    .filter(status__in=["open", "pending"])
    .annotate(n=Count("messages"), notes=Count("messages", filter=Q(messages__direction="note")))
    .order_by("-notes", "-n", "-number")
    .first()
)
print(ticket.number)
"""


def busiest_ticket(stack: Stack, key: str) -> int:
    return int(stack.loket("shell", "-c", _BUSIEST.format(email=login(key))).split()[-1])


def signed_in(browser: Browser, stack: Stack, key: str, *, phone: bool) -> Page:
    context = browser.new_context(
        base_url=stack.url,
        viewport=PHONE if phone else DESKTOP,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        locale="id-ID",
        timezone_id="Asia/Jakarta",
        color_scheme="light",
    )
    page = context.new_page()
    page.goto("/masuk/")
    form = page.locator("form.login")
    form.locator("input[name=username]").fill(login(key))
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    form.locator("[type=submit]").click()
    page.wait_for_url(lambda url: "/masuk/" not in url)
    return page


def settle(page: Page) -> None:
    """Wait for fragments and fonts, so the picture is the page at rest (the caret is hidden)."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(600)  # htmx fragments that load after the page
    page.evaluate("document.fonts.ready")


def shoot(browser: Browser, stack: Stack, key: str, number: int, out: Path) -> list[Path]:
    saved = []
    for device, phone in (("desktop", False), ("phone", True)):
        page = signed_in(browser, stack, key, phone=phone)
        page.locator("#ticket-list").first.wait_for()
        availability = page.locator("select[name=availability]")
        if availability.count() and availability.first.is_visible():  # at work: online
            with page.expect_response(lambda r: r.request.method == "POST"):
                availability.first.select_option("online")
            page.reload()
            page.locator("#ticket-list").first.wait_for()
        row = page.locator(f'[data-ticket-row="{number}"]')
        if not phone and row.count():
            # The three panes: the list, and the conversation opened beside it.
            row.scroll_into_view_if_needed()
            links = row.locator("a[href]")
            (links.first if links.count() else row).click()
            page.locator(f'[data-ticket="{number}"]').wait_for()
        settle(page)
        saved.append(out / f"inbox-{device}.png")
        page.screenshot(path=saved[-1])
        page.goto(f"/tiket/{number}/")
        page.locator(f'[data-ticket="{number}"]').wait_for()
        settle(page)
        saved.append(out / f"ticket-{device}.png")
        page.screenshot(path=saved[-1])
        page.context.close()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--as", dest="key", default="wati", help="demo login (default: wati)")
    options = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"Chromium is missing at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 1
    options.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="loket-screenshots-") as base,
        running_stack(Path(base)) as stack,
        sync_playwright() as playwright,
    ):
        number = busiest_ticket(stack, options.key)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            saved = shoot(browser, stack, options.key, number, options.out)
        finally:
            browser.close()
    for path in saved:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
