"""An email channel's health in the admin: when its mailbox was last fetched and with what
outcome, the last good fetch, the last error, the UID state, IDLE or polling, the last mail in.
Only admins see it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse

from loket.accounts.models import User
from loket.channels.email import imap
from loket.channels.email.tests.test_imap import connect, mail
from loket.channels.models import Channel
from loket.conftest import Shop
from loket.core import clock
from loket.core.tests import dovecot as dovecot_module
from loket.core.tests.dovecot import Dovecot, running_dovecot


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def signed_in(user: User, language: str = "en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def section(page: str, marker: str) -> str:
    return page.split(f'data-health="{marker}"', 1)[1].split("</dd>", 1)[0].split("<br>", 1)[0]


def settings_page(shop: Shop) -> str:
    response = signed_in(shop.sari).get(reverse("web:manage:channel", args=[shop.email.pk]))
    assert response.status_code == 200
    return response.content.decode()


def email_row(shop: Shop) -> str:
    page = signed_in(shop.sari).get(reverse("web:manage:channels")).content.decode()
    return page.split(f'data-channel-row="{shop.email.pk}"')[1].split("</tr>")[0]


def test_the_admin_sees_a_good_fetch_and_how_mail_is_noticed(shop: Shop, dovecot: Dovecot) -> None:
    channel = connect(shop.email, dovecot)
    dovecot.append(mail("sehat-1@contoh.co.id"))
    uid = dovecot.append(mail("sehat-2@contoh.co.id"))
    assert imap.fetch_once(channel).ok
    imap.record_watch(channel, "idle")
    Channel.objects.filter(pk=channel.pk).update(last_inbound_at=clock.now())

    page = settings_page(shop)
    assert "data-email-health" in page
    assert "2 new mails" in section(page, "fetch")
    assert "<time" in section(page, "fetch-ok")
    assert "IMAP IDLE: at once" in section(page, "watch")
    assert f"INBOX · UIDVALIDITY {dovecot.uidvalidity()} · last UID {uid}" in section(page, "uid")
    assert "<time" in section(page, "inbound")
    assert "No errors" in section(page, "error")

    row = email_row(shop)
    assert "(2 new)" in row
    assert "IDLE: mail comes in at once" in row


def test_the_admin_sees_a_failing_fetch_with_its_error_and_the_last_good_one(
    shop: Shop, dovecot: Dovecot
) -> None:
    channel = connect(shop.email, dovecot)
    assert imap.fetch_once(channel).ok
    imap.record_watch(channel, "polling")
    dovecot_module._stop(dovecot.base)
    channel.refresh_from_db()
    result = imap.fetch_once(channel)
    assert not result.ok

    page = settings_page(shop)
    assert "failed" in section(page, "fetch")
    assert "<time" in section(page, "fetch-ok")
    assert "Polling: the server does not offer IDLE" in section(page, "watch")
    error = page.split('data-health="error"', 1)[1].split("</dd>", 1)[0]
    assert "Connection refused" in error
    assert "<time" in error

    row = email_row(shop)
    assert "failed" in row
    assert 'data-health="fetch-ok"' in row
    assert "Connection refused" in row  # the list's error column


def test_a_mailbox_never_fetched_says_what_to_run(shop: Shop, dovecot: Dovecot) -> None:
    connect(shop.email, dovecot)
    page = settings_page(shop)
    assert "Not yet: is `loket run` (or `loket email_fetch --watch`) running?" in page
    assert "Not watched yet" in section(page, "watch")


def test_a_channel_without_imap_says_where_mail_comes_from(shop: Shop) -> None:
    page = settings_page(shop)
    assert 'data-health="no-imap"' in page
    assert 'data-health="fetch"' not in page
    assert 'data-health="no-imap"' in email_row(shop)


def test_the_health_is_shown_in_indonesian_too(shop: Shop) -> None:
    client = signed_in(shop.sari, "id")
    response = client.get(reverse("web:manage:channel", args=[shop.email.pk]))
    assert response.status_code == 200
    assert "data-email-health" in response.content.decode()


@pytest.mark.parametrize("who", ["joko", "budi", "wati"])
def test_only_admins_reach_the_email_health(shop: Shop, who: str) -> None:
    client = signed_in(getattr(shop, who))
    for url in (
        reverse("web:manage:channel", args=[shop.email.pk]),
        reverse("web:manage:channels"),
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert b"data-email-health" not in response.content
        assert b'data-health="' not in response.content


def test_the_email_settings_come_in_sections(shop: Shop) -> None:
    client = signed_in(shop.sari)
    page = client.get(reverse("web:manage:add_channel", args=["email"])).content.decode()
    for section in ("mailbox", "imap", "smtp"):
        assert f'<section class="form-section" data-form-section="{section}">' in page
    assert '<details class="form-section" data-form-section="oauth">' in page  # folded
    assert 'name="oauth_refresh_token"' in page
    page = client.get(reverse("web:manage:add_channel", args=["whatsapp"])).content.decode()
    assert "data-form-section" not in page


def test_a_mail_left_in_the_mailbox_is_named(shop: Shop, dovecot: Dovecot) -> None:
    channel = connect(shop.email, dovecot)
    assert imap.fetch_once(channel).ok
    broken = dovecot.append(mail("rusak@contoh.co.id"))
    [path] = (dovecot.base / "mail" / dovecot.user / "new").glob("*")
    path.chmod(0)  # Dovecot cannot serve it
    for _attempt in range(imap.GIVE_UP_AFTER + 1):
        imap.fetch_once(Channel.objects.get(pk=channel.pk))

    page = settings_page(shop)
    given_up = page.split('data-health="given-up"', 1)[1].split("</dd>", 1)[0]
    assert "1 mail could not be fetched and was left in the mailbox" in given_up
    assert f"UID {broken}" in given_up
    assert "Internal error" in given_up
    assert "1 mail left in the mailbox" in email_row(shop)
