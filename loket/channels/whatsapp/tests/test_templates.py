"""Templates come from Meta (here: the emulator over real HTTP) and are filled in to send.

- sync pages through ``GET /{WABA_ID}/message_templates``, adds, updates and drops;
- the body text and parameter names come from the components ({{1}} or {{customer_name}});
- ``render`` shows what the customer reads; ``send_components`` is Meta's send shape;
- only approved templates are offered.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loket.channels.models import Channel, Template
from loket.channels.whatsapp import graph, templates
from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.server import running_emulator
from loket.channels.whatsapp.emulator.state import TEMPLATES
from loket.channels.whatsapp.tests.config_support import emulated_channel
from loket.conftest import Shop

pytestmark = pytest.mark.django_db

NAMED = {
    "id": "991",
    "name": "pengingat_bayar",
    "language": "id",
    "status": "APPROVED",
    "category": "UTILITY",
    "parameter_format": "NAMED",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Tagihan {{invoice}}"},
        {
            "type": "BODY",
            "text": "Halo {{customer_name}}, tagihan {{invoice}} sebesar {{amount}} "
            "jatuh tempo besok. Terima kasih, {{customer_name}}!",
        },
        {"type": "FOOTER", "text": "Batik Sari"},
    ],
}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
def channel(shop: Shop, emu: Emulator) -> Channel:
    return emulated_channel(emu.base_url, shop.sales)


def test_sync_copies_every_template_of_the_account(channel: Channel) -> None:
    result = templates.sync(channel)
    assert result == templates.SyncResult(created=len(TEMPLATES), updated=0, removed=0)
    status = Template.objects.get(channel=channel, name="status_pesanan", language="id")
    assert status.status == "APPROVED"
    assert status.category == "UTILITY"
    assert status.external_id == "1203948576102938"
    assert status.body.startswith("Halo {{1}}, pesanan {{2}}")
    assert status.parameters == ["1", "2", "3"]
    rejected = Template.objects.get(channel=channel, name="diskon_kilat")
    assert rejected.reason == "PROMOTIONAL"
    assert not rejected.approved


def test_sync_follows_the_paging_cursors(channel: Channel, emu: Emulator) -> None:
    with emu.state.lock:
        for n in range(230):
            emu.state.templates.append({**TEMPLATES[3], "id": f"x{n}", "name": f"massal_{n:03d}"})
    result = templates.sync(channel)
    assert result.created == len(TEMPLATES) + 230
    assert Template.objects.filter(channel=channel, name__startswith="massal_").count() == 230


def test_a_second_sync_updates_and_removes(channel: Channel, emu: Emulator) -> None:
    templates.sync(channel)
    with emu.state.lock:
        everything = emu.state.templates
        everything[4] = {**everything[4], "status": "APPROVED"}  # konfirmasi_pembayaran
        del everything[5]  # diskon_kilat deleted on Meta
        everything.append(NAMED)
    result = templates.sync(channel)
    assert result == templates.SyncResult(created=1, updated=1, removed=1)
    assert not Template.objects.filter(name="diskon_kilat").exists()
    assert Template.objects.get(name="konfirmasi_pembayaran").approved
    assert templates.sync(channel) == templates.SyncResult(0, 0, 0)


def test_only_approved_templates_are_offered(channel: Channel) -> None:
    templates.sync(channel)
    names = [t.name for t in templates.approved(channel)]
    assert names == sorted(
        ["status_pesanan", "lanjutkan_percakapan", "promo_akhir_pekan", "order_status"]
    )


def test_a_failed_sync_changes_nothing(channel: Channel, emu: Emulator) -> None:
    templates.sync(channel)
    emu.set_token_expired()
    with pytest.raises(graph.GraphError) as caught:
        templates.sync(channel)
    assert caught.value.code == 190
    assert Template.objects.filter(channel=channel).count() == len(TEMPLATES)


def test_positional_templates_render_and_build_components(channel: Channel) -> None:
    templates.sync(channel)
    promo = Template.objects.get(name="promo_akhir_pekan")
    assert templates.render(promo, ["20%", "BATIK20"]) == (
        "Promo akhir pekan\n\n"
        "Diskon 20% untuk semua batik tulis sampai Minggu! Pakai kode BATIK20 saat checkout."
        "\n\nBalas STOP untuk berhenti"
    )
    assert templates.send_components(promo, ["20%", "BATIK20"]) == [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "20%"}, {"type": "text", "text": "BATIK20"}],
        }
    ]


def test_a_missing_value_stays_visible_in_the_preview(channel: Channel) -> None:
    templates.sync(channel)
    status = Template.objects.get(name="status_pesanan")
    assert templates.render(status, ["Dewi", ""]).startswith("Halo Dewi, pesanan {{2}} kamu")
    with pytest.raises(templates.TemplateError):
        templates.send_components(status, ["Dewi"])


def test_named_parameters_in_header_and_body(channel: Channel, emu: Emulator) -> None:
    with emu.state.lock:
        emu.state.templates.append(NAMED)
    templates.sync(channel)
    named = Template.objects.get(name="pengingat_bayar")
    assert named.parameters == ["header.invoice", "customer_name", "invoice", "amount"]
    params = ["INV-7", "Bu Dewi", "INV-7", "Rp190.000"]
    assert templates.render(named, params) == (
        "Tagihan INV-7\n\nHalo Bu Dewi, tagihan INV-7 sebesar Rp190.000 jatuh tempo besok. "
        "Terima kasih, Bu Dewi!\n\nBatik Sari"
    )
    assert templates.send_components(named, params) == [
        {
            "type": "header",
            "parameters": [{"type": "text", "text": "INV-7", "parameter_name": "invoice"}],
        },
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Bu Dewi", "parameter_name": "customer_name"},
                {"type": "text", "text": "INV-7", "parameter_name": "invoice"},
                {"type": "text", "text": "Rp190.000", "parameter_name": "amount"},
            ],
        },
    ]


def test_the_emulator_accepts_what_send_components_builds(channel: Channel, emu: Emulator) -> None:
    """The components are what Meta expects: the emulator checks them against the template."""
    templates.sync(channel)
    status = Template.objects.get(name="status_pesanan")
    body = {
        "messaging_product": "whatsapp",
        "to": "6281234567890",
        "type": "template",
        "template": {
            "name": status.name,
            "language": {"code": status.language},
            "components": templates.send_components(status, ["Dewi", "#4521", "dikirim"]),
        },
    }
    answer = graph.client(channel).post(f"{channel.config['phone_number_id']}/messages", json=body)
    assert answer["messages"][0]["id"].startswith("wamid.")
