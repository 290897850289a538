"""The services behind the administration screens: invitations over a real SMTP server,
role and team changes, deactivation, and the guards that keep an install administrable."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from loket.accounts import services
from loket.accounts.models import Availability, Role, User
from loket.audit.models import Event
from loket.conftest import Shop
from loket.core.tests.processes import free_port
from loket.core.tests.smtp import SmtpServer
from loket.tickets.tests.conftest import smtp_server as smtp_server  # noqa: PLC0414 (fixture)

pytestmark = pytest.mark.django_db


def smtp_mailer(settings: Any, port: int) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 5},
        }
    }


def test_an_invitation_goes_out_over_smtp(
    shop: Shop, smtp_server: SmtpServer, settings: Any
) -> None:
    smtp_mailer(settings, smtp_server.port)

    invitation = services.invite_agent(
        email="ani@batiksari.id", name="Ani Kusuma", teams=[shop.sales], actor=shop.sari
    )

    assert invitation.emailed  # a real mail server took it: the link need not be shown
    [mail] = smtp_server.mails
    assert mail["To"] == "ani@batiksari.id"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert invitation.link in body.get_content()
    assert invitation.link.startswith(settings.SITE_URL + "/masuk/atur/")


def test_an_invitation_stands_when_the_mail_server_is_down(shop: Shop, settings: Any) -> None:
    smtp_mailer(settings, free_port())

    invitation = services.invite_agent(email="ani@batiksari.id", name="Ani Kusuma", actor=shop.sari)

    assert not invitation.emailed  # the admin is shown the link instead
    assert User.objects.filter(email="ani@batiksari.id", is_active=True).exists()


def test_the_console_backend_is_not_a_mail_server(settings: Any) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
    assert not services.outgoing_mail_configured()
    smtp_mailer(settings, 25)
    assert services.outgoing_mail_configured()


def test_an_admin_role_gives_and_takes_the_django_admin(shop: Shop) -> None:
    services.update_agent(shop.joko, role=Role.ADMIN, actor=shop.sari)
    joko = User.objects.get(pk=shop.joko.pk)
    assert (joko.role, joko.is_staff, joko.is_superuser) == (Role.ADMIN, True, True)

    services.update_agent(shop.sari, role=Role.AGENT, actor=shop.joko)  # Joko is admin now
    sari = User.objects.get(pk=shop.sari.pk)
    assert (sari.role, sari.is_staff, sari.is_superuser) == (Role.AGENT, False, False)


def test_the_last_admin_cannot_be_deactivated_or_demoted(shop: Shop) -> None:
    with pytest.raises(ValidationError):
        services.set_active(shop.sari, False, actor=None)
    with pytest.raises(ValidationError):
        services.update_agent(shop.sari, role=Role.SUPERVISOR, actor=None)
    assert User.objects.get(pk=shop.sari.pk).is_active


def test_deactivation_sets_the_agent_offline_and_is_recorded_once(shop: Shop) -> None:
    services.set_availability(shop.budi, Availability.ONLINE)

    services.set_active(shop.budi, False, actor=shop.sari)
    services.set_active(shop.budi, False, actor=shop.sari)

    budi = User.objects.get(pk=shop.budi.pk)
    assert budi.availability == Availability.OFFLINE
    assert Event.objects.filter(kind="agent.deactivated").count() == 1


def test_unchanged_role_and_teams_record_nothing(shop: Shop) -> None:
    services.update_agent(shop.budi, role=Role.AGENT, teams=[shop.sales], actor=shop.sari)
    assert not Event.objects.filter(kind="agent.changed").exists()


def test_an_invited_agent_with_a_bad_email_or_no_name_is_refused(shop: Shop) -> None:
    with pytest.raises(ValidationError):
        services.invite_agent(email="bukan-email", name="Ani", actor=shop.sari)
    with pytest.raises(ValidationError):
        services.invite_agent(email="ani@batiksari.id", name="  ", actor=shop.sari)
    with pytest.raises(ValidationError):
        services.invite_agent(email="ani@batiksari.id", name="Ani", role="owner", actor=shop.sari)
    assert not User.objects.filter(email="ani@batiksari.id").exists()
