"""`loket channel add email`: a mailbox from the command line, with the dashboard form's checks,
passwords kept out of the shell history, and the mailbox's health in `loket channel list`."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from loket.channels import secrets
from loket.channels.email import imap
from loket.channels.email.tests.test_imap import connect, mail
from loket.channels.models import Channel
from loket.conftest import Shop
from loket.core.tests.dovecot import Dovecot, running_dovecot

pytestmark = pytest.mark.django_db

GROSIR = [
    "channel", "add", "email",
    "--address", "Grosir@BatikSari.id",
    "--name", "Email Grosir",
    "--imap-host", "imap.batiksari.id",
    "--imap-user", "grosir@batiksari.id",
    "--smtp-host", "smtp.batiksari.id",
    "--smtp-user", "grosir@batiksari.id",
    "--team", "Penjualan",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def run(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        call_command(*args, stdout=out)
    return out.getvalue()


def test_a_mailbox_is_added_with_passwords_from_named_variables(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROSIR_IMAP", "imap-rahasia-1")
    monkeypatch.setenv("GROSIR_SMTP", "smtp-rahasia-2")
    out = run(
        *GROSIR,
        "--imap-password-env", "GROSIR_IMAP",
        "--smtp-password-env", "GROSIR_SMTP",
        "--imap-after", "move",
        "--imap-move-to", "Diproses",
        "--aliases", "info@batiksari.id, penjualan@batiksari.id",
    )  # fmt: skip
    channel = Channel.objects.get(address="grosir@batiksari.id")
    assert f"channel {channel.pk} added: Email Grosir (email)" in out
    assert channel.team == shop.sales
    config = channel.config
    assert (config["imap_port"], config["imap_security"], config["imap_folder"]) == (
        993,
        "tls",
        "INBOX",
    )
    assert (config["imap_after"], config["imap_move_to"]) == ("move", "Diproses")
    assert (config["smtp_port"], config["smtp_security"]) == (587, "starttls")
    assert config["aliases"] == ["info@batiksari.id", "penjualan@batiksari.id"]
    assert secrets.get(channel, "imap_password") == "imap-rahasia-1"
    assert secrets.get(channel, "smtp_password") == "smtp-rahasia-2"
    assert "rahasia" not in str(config)


def test_a_password_can_come_from_standard_input(shop: Shop) -> None:
    run(*GROSIR, "--imap-password", "-", "--smtp-password-env", "HOME", stdin="dari-stdin\n")
    channel = Channel.objects.get(address="grosir@batiksari.id")
    assert secrets.get(channel, "imap_password") == "dari-stdin"


def test_the_forms_checks_apply(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOKET_CHANNEL_IMAP_PASSWORD", raising=False)
    with pytest.raises(CommandError) as raised:
        run(*GROSIR, "--imap-after", "move", "--smtp-password", "x")
    assert "--imap-password Give the IMAP password (or log in with OAuth2)." in str(raised.value)
    assert "--imap-move-to Name the folder mail is moved to." in str(raised.value)

    with pytest.raises(CommandError, match="--oauth-client-id OAuth2 login needs the client ID"):
        run(*GROSIR, "--imap-auth", "oauth2", "--smtp-password", "x")
    assert not Channel.objects.filter(address="grosir@batiksari.id").exists()


def test_a_named_variable_must_exist_and_not_be_doubled(shop: Shop) -> None:
    with pytest.raises(CommandError, match="the environment variable TIDAK_ADA is not set"):
        run(*GROSIR, "--imap-password-env", "TIDAK_ADA")
    with pytest.raises(CommandError, match="Give --imap-password or --imap-password-env"):
        run(*GROSIR, "--imap-password", "a", "--imap-password-env", "HOME")


def test_an_oauth2_mailbox_is_added(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MS_REFRESH", "0.AXYZ-refresh")
    run(
        "channel", "add", "email",
        "--address", "cs@tokobatik.onmicrosoft.com",
        "--imap-host", "outlook.office365.com",
        "--imap-user", "cs@tokobatik.onmicrosoft.com",
        "--imap-auth", "oauth2",
        "--smtp-host", "smtp.office365.com",
        "--smtp-auth", "oauth2",
        "--oauth-provider", "microsoft",
        "--oauth-client-id", "6731de76-14a6-49ae-97bc-6eba6914391e",
        "--oauth-tenant", "tokobatik.onmicrosoft.com",
        "--oauth-refresh-token-env", "MS_REFRESH",
    )  # fmt: skip
    channel = Channel.objects.get(address="cs@tokobatik.onmicrosoft.com")
    assert channel.config["oauth_endpoint"] == (
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
    )
    assert channel.config["oauth_tenant"] == "tokobatik.onmicrosoft.com"
    assert secrets.get(channel, "oauth_refresh_token") == "0.AXYZ-refresh"


def test_the_list_shows_the_mailboxs_fetch_health(shop: Shop) -> None:
    with running_dovecot() as dovecot:
        channel = connect(shop.email, dovecot)
        dovecot.append(mail("daftar@contoh.co.id"))
        assert imap.fetch_once(channel).ok
        imap.record_watch(channel, "idle")
        line = next(line for line in run("channel", "list").splitlines() if "Email CS" in line)
        assert "(1 new)" in line
        assert "IDLE" in line
        stop_dovecot(dovecot)
        channel.refresh_from_db()
        assert not imap.fetch_once(channel).ok
    line = next(line for line in run("channel", "list").splitlines() if "Email CS" in line)
    assert "(FAILED)" in line
    assert "ERROR" in line


def stop_dovecot(dovecot: Dovecot) -> None:
    from loket.core.tests import dovecot as dovecot_module

    dovecot_module._stop(dovecot.base)
