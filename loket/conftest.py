"""Named personas shared by every test (an Indonesian shop: Toko Batik Sari).

- owner Sari (admin), supervisor Joko (team Penjualan)
- agents Budi (team Penjualan) and Wati (team Pengiriman)
- customers: Dewi on WhatsApp (+62 812-3456-7890), Rudi by email (rudi@contoh.co.id)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import translation

from loket.accounts.models import Role, Team, User
from loket.channels.email.inbound import forget_addresses
from loket.channels.items import InboundMessage, Sender
from loket.channels.models import Channel
from loket.core import crypto, site
from loket.tickets import services as tickets
from loket.tickets.models import Ticket

PASSWORD = "rahasia-toko-123"


@dataclass
class Shop:
    sales: Team
    shipping: Team
    sari: User
    joko: User
    budi: User
    wati: User
    whatsapp: Channel
    email: Channel

    def whatsapp_from_dewi(self, text: str, wamid: str = "wamid.dewi.1") -> Ticket:
        received = tickets.receive(
            self.whatsapp,
            InboundMessage(
                external_id=wamid,
                sender=Sender("phone", "6281234567890", "Dewi Lestari", international=True),
                text=text,
            ),
        )
        return received.message.ticket

    def email_from_rudi(
        self, text: str, message_id: str = "m1@contoh.co.id", subject: str = "Tanya stok"
    ) -> Ticket:
        received = tickets.receive(
            self.email,
            InboundMessage(
                external_id=message_id,
                sender=Sender("email", "Rudi@Contoh.co.id", "Rudi Hartono"),
                subject=subject,
                text=text,
            ),
        )
        return received.message.ticket


def _agent(email: str, name: str, role: str, *teams: Team) -> User:
    user = User.objects.create_user(email, PASSWORD, name=name, role=role)
    user.teams.set(teams)
    return user


@pytest.fixture
def shop(db: None) -> Shop:
    sales = Team.objects.create(name="Penjualan")
    shipping = Team.objects.create(name="Pengiriman")
    return Shop(
        sales=sales,
        shipping=shipping,
        sari=_agent("sari@batiksari.id", "Sari Wulandari", Role.ADMIN),
        joko=_agent("joko@batiksari.id", "Joko Susilo", Role.SUPERVISOR, sales),
        budi=_agent("budi@batiksari.id", "Budi Santoso", Role.AGENT, sales),
        wati=_agent("wati@batiksari.id", "Wati Rahayu", Role.AGENT, shipping),
        whatsapp=Channel.objects.create(
            kind="whatsapp", name="WhatsApp Toko", address="+6281100001111", team=sales
        ),
        email=Channel.objects.create(
            kind="email", name="Email CS", address="cs@batiksari.id", team=shipping
        ),
    )


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    """Attachments written by a test go to its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


# One encryption key for the whole run: stored channel secrets never need the data directory.
_ENCRYPTION_KEY = crypto.generate_key()


@pytest.fixture(autouse=True)
def _encryption_key(settings: Any) -> None:
    settings.LOKET_ENCRYPTION_KEYS = [_ENCRYPTION_KEY]


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The personas' passwords are hashed once per test; PBKDF2 would spend seconds on it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Every test starts in the default language (Indonesian).

    A request activates its language for the thread and nothing resets it between tests, so
    one test's ``Accept-Language: en`` would otherwise leak English into the next.
    """
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_site_settings() -> Iterator[None]:
    """The site settings are cached per process; a test's rolled-back row must not leak."""
    site.clear_cache()
    forget_addresses()
    yield
    site.clear_cache()
    forget_addresses()


@pytest.fixture
def vendor() -> str:
    return connection.vendor
