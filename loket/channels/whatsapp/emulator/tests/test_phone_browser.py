"""The customer phone page in headless Chromium at 360 px: chat, file, tap, react, ticks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.tests.conftest import Graph
from loket.channels.whatsapp.emulator.tests.receiver import Receiver
from loket.web.tests.browser.stack import CHROMIUM, CHROMIUM_ARGS

try:
    from playwright.sync_api import ConsoleMessage, FilePayload, Page, expect, sync_playwright
except ImportError:
    HAVE_PLAYWRIGHT = False
else:
    HAVE_PLAYWRIGHT = True

pytestmark = pytest.mark.skipif(
    not HAVE_PLAYWRIGHT or not CHROMIUM.exists(),
    reason="needs Playwright and Chromium (see loket/web/tests/browser)",
)
DEWI = "6281234567890"


@pytest.fixture
def page(emu: Emulator) -> Iterator[tuple[Page, list[str]]]:
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740})
        tab = context.new_page()
        tab.set_default_timeout(10_000)

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                problems.append(message.text)

        tab.on("console", console)
        tab.on("pageerror", lambda error: problems.append(str(error)))
        expect.set_options(timeout=10_000)
        tab.goto(emu.base_url + "/")
        yield tab, problems
        browser.close()


def test_a_person_chats_as_the_customer(
    page: tuple[Page, list[str]], emu: Emulator, graph: Graph, receiver: Receiver
) -> None:
    tab, problems = page
    expect(tab.locator("#name")).to_have_value("Dewi Lestari")
    expect(tab.locator("#wa_id")).to_have_value(DEWI)

    tab.fill("#text", "Halo kak, kainnya ready?")
    tab.get_by_role("button", name="Kirim", exact=True).click()
    emu.wait_for(receiver.messages)
    assert receiver.messages()[0]["text"]["body"] == "Halo kak, kainnya ready?"

    buttons = {
        "type": "button",
        "body": {"text": "Mau warna apa kak?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "biru", "title": "Biru"}},
                {"type": "reply", "reply": {"id": "merah", "title": "Merah"}},
            ]
        },
    }
    wamid = graph.send({"to": DEWI, "type": "interactive", "interactive": buttons}).json()[
        "messages"
    ][0]["id"]
    expect(tab.locator(".msg.out .tick.read")).to_be_visible()
    tab.get_by_role("button", name="Merah").click()
    emu.wait_for(lambda: len(receiver.messages()) == 2)
    tap = receiver.messages()[1]
    assert tap["interactive"]["button_reply"] == {"id": "merah", "title": "Merah"}
    assert tap["context"]["id"] == wamid

    tab.get_by_role("button", name="Beri reaksi").click()
    tab.get_by_role("button", name="❤️").click()
    emu.wait_for(lambda: len(receiver.messages()) == 3)
    assert receiver.messages()[2]["reaction"] == {"message_id": wamid, "emoji": "❤️"}

    tab.fill("#caption", "Foto kainnya")
    photo: FilePayload = {"name": "kain.png", "mimeType": "image/png", "buffer": b"\x89PNG foto"}
    tab.set_input_files("#file", files=[photo])
    emu.wait_for(lambda: len(receiver.messages()) == 4)
    image = receiver.messages()[3]
    assert image["type"] == "image"
    assert image["image"]["caption"] == "Foto kainnya"
    expect(tab.locator(".msg.in img")).to_have_count(1)

    tab.get_by_role("button", name="Kirim lokasi").click()
    emu.wait_for(lambda: len(receiver.messages()) == 5)
    assert receiver.messages()[4]["location"]["latitude"] == pytest.approx(-7.7928)

    assert tab.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert problems == []
