"""Which handles a note mentions: "@budi" and "@budi.santoso", never an email address."""

from __future__ import annotations

import pytest

from loket.conftest import Shop
from loket.notifications.services import mentioned_agents, mentioned_handles


@pytest.mark.parametrize(
    ("text", "handles"),
    [
        ("@budi tolong cek", ["budi"]),
        ("cc @Sari, @joko.", ["sari", "joko"]),
        ("(@budi) dan @budi lagi", ["budi"]),
        ("kirim ke budi@batiksari.id", []),
        ("@budi.santoso", ["budi.santoso"]),
        ("@@budi", []),
        ("tanpa sebutan", []),
    ],
)
def test_handles_in_a_note(text: str, handles: list[str]) -> None:
    assert mentioned_handles(text) == handles


def test_handles_are_the_local_part_of_active_agents_emails(shop: Shop) -> None:
    assert mentioned_agents("@wati @budi @nobody") == [shop.wati, shop.budi]
    shop.wati.is_active = False
    shop.wati.save()
    assert mentioned_agents("@wati @budi") == [shop.budi]
