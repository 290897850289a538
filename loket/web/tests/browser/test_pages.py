"""Every page of the dashboard in a real browser: it loads without a script error, a blocked
inline script or style (the CSP is strict), or a server error, and fits a 360 px phone."""

from __future__ import annotations

import pytest

from loket.web.tests.browser.conftest import OpenAs
from loket.web.tests.browser.stack import Stack

try:
    from playwright.sync_api import Page
except ImportError:
    pytest.skip("Playwright is not installed", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PAGES = [
    "/",
    "/tiket/{number}/",
    "/tiket/notifikasi/",
    "/balasan/",
    "/balasan/baru/",
    "/kelola/agen/",
    "/kelola/agen/undang/",
    "/kelola/tim/",
    "/kelola/kanal/",
    "/kelola/pengaturan/",
]


def sideways(page: Page) -> int:
    overflow: int = page.evaluate(
        "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_every_page_loads_cleanly(open_as: OpenAs, stack: Stack, phone: bool) -> None:
    number = stack.mail_in(stack.new_customer("Gita Savitri"), "Halo, mau tanya stok.")
    page = open_as("sari", phone=phone)
    too_wide = []
    for path in PAGES:
        url = path.format(number=number)
        response = page.goto(url)
        assert response is not None
        assert response.status == 200, f"{url}: HTTP {response.status}"
        page.wait_for_load_state("networkidle")  # fragments htmx loads after the page
        if phone and sideways(page) > 0:
            too_wide.append(f"{url} ({sideways(page)} px too wide)")
    assert not too_wide, "scrolls sideways at 360 px: " + ", ".join(too_wide)
