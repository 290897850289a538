"""WhatsApp after the 24-hour window, in a real browser: free text gives way to the approved
templates; the agent picks one, fills its values, sees the preview and sends it."""

from __future__ import annotations

import re
import uuid

import pytest

from loket.web.tests.browser.conftest import MARK, STILL_MARKED, OpenAs
from loket.web.tests.browser.stack import Stack

try:
    from playwright.sync_api import expect
except ImportError:
    pytest.skip("Playwright is not installed", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Run in ``loket shell`` on the stack: a customer who last wrote 25 hours ago on the demo's
# WhatsApp number, and an approved template of that number (as a sync would store it).
_SEED = """
from datetime import timedelta
from loket.channels.items import InboundMessage, Sender
from loket.channels.models import Channel, Template
from loket.core import clock
from loket.tickets import services
from loket.tickets.models import Message
channel = Channel.objects.filter(kind="whatsapp").order_by("pk").first()
body = "Halo {{{{1}}}}, pesanan {{{{2}}}} sudah kami kirim hari ini."
Template.objects.update_or_create(
    channel=channel, name="pesanan_dikirim", language="id",
    defaults=dict(category="UTILITY", status="APPROVED", body=body, parameters=["1", "2"],
                  components=[{{"type": "BODY", "text": body}}], synced_at=clock.now()),
)
received = services.receive(channel, InboundMessage(
    external_id="wamid.browser.{tag}",
    sender=Sender("phone", "{phone}", "Putri Anggraini", international=True),
    text="Kak, pesanan saya kapan dikirim?",
))
Message.objects.filter(pk=received.message.pk).update(
    created_at=clock.now() - timedelta(hours=25)
)
print("ticket", received.message.ticket.number)
"""


def test_window_closed_pick_a_template_fill_it_and_send(stack: Stack, open_as: OpenAs) -> None:
    tag = uuid.uuid4().hex[:8]
    phone = "62857" + str(int(tag, 16) % 10**8).zfill(8)
    out = stack.loket("shell", "-c", _SEED.format(tag=tag, phone=phone))
    found = re.search(r"ticket (\d+)", out)
    assert found, out
    number = int(found.group(1))

    page = open_as("budi", path=f"/tiket/{number}/")
    conv = page.locator(f'[data-ticket="{number}"]')
    composer = conv.locator("form[data-composer]")
    # Free text is gone while the answer goes to WhatsApp; the templates are offered instead.
    expect(conv.locator("[data-whatsapp-window].is-closed")).to_be_visible()
    expect(composer.locator("textarea[name=text]")).to_be_hidden()
    picker = conv.locator(f"#wa-templates-{number}")
    expect(picker).to_have_attribute("open", "")

    page.evaluate(MARK)
    # A reaction is a free message too: refused in plain words, the timeline left as it was.
    conv.locator(".react-picker summary").last.click()
    conv.locator(".react-picker button[name=emoji]").first.click()
    expect(conv.locator("[data-toast]")).to_contain_text("24")
    expect(conv.locator(".timeline .bubble")).to_have_count(1)
    picker.locator('[data-template="pesanan_dikirim"]').click()
    form = picker.locator("form[data-template-form]")
    values = form.locator("input[name=params]")
    expect(values).to_have_count(2)
    expect(values.first).to_have_value("Putri Anggraini")
    values.nth(1).fill("#INV-2024")
    expect(form.locator("[data-template-preview]")).to_have_text(
        "Halo Putri Anggraini, pesanan #INV-2024 sudah kami kirim hari ini."
    )
    form.locator("button[data-send-template]").click()

    bubble = conv.locator("[data-message-id]", has_text="pesanan #INV-2024 sudah kami kirim")
    expect(bubble).to_have_count(1)
    expect(bubble).to_have_attribute(
        "data-status", re.compile(r"^(queued|sending|sent|delivered|read)$")
    )
    assert page.evaluate(STILL_MARKED)


def test_on_a_phone_the_closed_window_and_its_templates_fit(stack: Stack, open_as: OpenAs) -> None:
    tag = uuid.uuid4().hex[:8]
    phone = "62858" + str(int(tag, 16) % 10**8).zfill(8)
    out = stack.loket("shell", "-c", _SEED.format(tag=tag, phone=phone))
    found = re.search(r"ticket (\d+)", out)
    assert found, out
    number = int(found.group(1))

    page = open_as("budi", phone=True, path=f"/tiket/{number}/")
    conv = page.locator(f'[data-ticket="{number}"]')
    picker = conv.locator(f"#wa-templates-{number}")
    picker.locator('[data-template="pesanan_dikirim"]').click()
    expect(picker.locator("button[data-send-template]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The quote and reaction tools of the customer's message are thumb-sized.
    react = conv.locator(".react-picker summary").first
    box = react.bounding_box()
    assert box is not None
    assert box["height"] >= 32


# A customer's rich messages (docs/adr/0004's meta["wa"]), as the inbound parser stores them.
_RICH = """
from loket.channels.items import InboundAttachment, InboundMessage, Sender
from loket.channels.models import Channel
from loket.tickets import services
channel = Channel.objects.filter(kind="whatsapp").order_by("pk").first()
sender = Sender("phone", "{phone}", "Rahmat Hidayat", international=True)
def say(n, text, wa, files=()):
    item = InboundMessage(external_id=f"wamid.rich.{tag}.{{n}}", sender=sender, text=text,
                          meta={{"wa": wa}}, attachments=list(files))
    return services.receive(channel, item).message
tag = "{tag}"
say(1, "Toko Batik Sari", {{"type": "location", "location": {{"latitude": -7.79,
    "longitude": 110.36, "name": "Toko Batik Sari", "address": "Jl. Malioboro 12"}}}})
say(2, "Rina", {{"type": "contacts", "contacts": [{{"name": "Rina Kurnia",
    "phones": [{{"phone": "+62 811-222-333"}}]}}]}})
say(3, "BATIK-L x2", {{"type": "order", "order": {{"items": [{{"product_retailer_id": "BATIK-L",
    "quantity": 2, "item_price": 150000, "currency": "IDR"}}], "total": "300000",
    "currency": "IDR"}}}})
say(4, "", {{"type": "audio"}}, [InboundAttachment("voice.ogg", "audio/ogg; codecs=opus",
    b"OggS")])
last = say(5, "Yang lokasi tadi ya", {{"type": "text", "forwarded": True,
    "context": {{"id": f"wamid.rich.{{tag}}.1"}}}})
print("ticket", last.ticket.number)
"""


def test_rich_whatsapp_messages_show_without_script_or_csp_errors(
    stack: Stack, open_as: OpenAs
) -> None:
    tag = uuid.uuid4().hex[:8]
    phone = "62859" + str(int(tag, 16) % 10**8).zfill(8)
    out = stack.loket("shell", "-c", _RICH.format(tag=tag, phone=phone))
    found = re.search(r"ticket (\d+)", out)
    assert found, out
    number = int(found.group(1))
    page = open_as("budi", path=f"/tiket/{number}/")
    conv = page.locator(f'[data-ticket="{number}"]')
    expect(conv.locator(".wa-location a[rel='noopener noreferrer']")).to_be_visible()
    expect(conv.locator('.wa-contact a[href="tel:+62811222333"]')).to_be_visible()
    expect(conv.locator(".wa-order tfoot")).to_contain_text("Rp 300.000")
    expect(conv.locator("audio[controls]")).to_have_count(1)
    # Quoting and reacting: the quote goes above the composer, Esc takes it away.
    conv.locator("[data-reply-to]").last.click()
    quote = conv.locator("[data-quote]")
    expect(quote).to_be_visible()
    expect(quote.locator("input[name=reply_to]")).not_to_have_value("")
    conv.locator("textarea[name=text]").press("Escape")
    expect(quote).to_be_hidden()
    conv.locator(".wa-quote a[data-quote-link]").click()
    expect(conv.locator(".bubble.is-flash")).to_have_count(1)
    # Inside the window the templates wait behind the composer's "Template" button.
    picker = conv.locator(f"#wa-templates-{number}")
    expect(picker).to_be_hidden()
    conv.locator("form[data-composer] [data-open-templates]").click()
    expect(picker).to_be_visible()
    expect(picker.locator(".wa-template-list")).not_to_contain_text("Memuat")
    expect(picker.locator(".wa-template-list")).not_to_contain_text("Loading")
