"""Sending mail over SMTP with the channel's own server settings."""

from __future__ import annotations

import secrets
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from loket.channels import secrets as channel_secrets
from loket.channels.items import DeliveryError, SendResult
from loket.channels.models import Channel
from loket.core import clock, crypto
from loket.tickets.models import Direction, Message


def build(channel: Channel, message: Message) -> EmailMessage:
    ticket = message.ticket
    if message.identity is None:
        raise DeliveryError("no_recipient", _("The message has no recipient address."))
    domain = channel.address.rpartition("@")[2] or "loket.local"
    mail = EmailMessage()
    sender_name = str(message.author) if message.author else channel.name
    mail["From"] = formataddr((f"{sender_name} ({channel.name})", channel.address))
    mail["To"] = message.identity.value
    subject = ticket.subject or _("Your message")
    token = f"[#{ticket.number}]"
    mail["Subject"] = subject if token in subject else f"{subject} {token}"
    mail["Date"] = format_datetime(clock.now())
    # Short enough to stay on the header's first line (make_msgid's ids are folded, which
    # leaves "Message-ID:" empty and trips strict parsers and spam filters).
    unique = secrets.token_hex(6)
    mail["Message-ID"] = f"<loket.{ticket.number}.{message.pk}.{unique}@{domain}>"
    earlier = [
        m.external_id
        for m in ticket.messages.filter(
            direction__in=[Direction.INBOUND, Direction.OUTBOUND], external_id__isnull=False
        )
        .exclude(pk=message.pk)
        .order_by("created_at")
        if m.external_id and not m.external_id.startswith("sha256:") and "@" in m.external_id
    ]
    if earlier:
        mail["In-Reply-To"] = f"<{earlier[-1]}>"
        mail["References"] = " ".join(f"<{ref}>" for ref in earlier[-20:])
    mail["Auto-Submitted"] = "no"
    mail.set_content(message.text)
    for attachment in message.attachments.all():
        if not attachment.file or not attachment.file.name:
            continue
        with default_storage.open(attachment.file.name, "rb") as handle:
            data = handle.read()
        maintype, _sep, subtype = attachment.content_type.partition("/")
        mail.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.name,
        )
    return mail


def send(channel: Channel, message: Message) -> SendResult:
    mail = build(channel, message)
    config = channel.config
    host = str(config.get("smtp_host", ""))
    if not host:
        raise DeliveryError("smtp_not_configured", _("No SMTP server is set for this channel."))
    port = int(config.get("smtp_port", 587))
    security = str(config.get("smtp_security", "starttls"))
    timeout = float(config.get("smtp_timeout", 30))
    try:
        password = channel_secrets.get(channel, "smtp_password")
    except crypto.DecryptionError as exc:
        raise DeliveryError(
            "secret_unreadable",
            _("The stored SMTP password cannot be decrypted; type it again in the settings."),
        ) from exc
    try:
        if security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if security == "starttls":
                client.starttls(context=ssl.create_default_context())
            user = str(config.get("smtp_user", ""))
            if user:
                client.login(user, password)
            refused = client.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(
            "recipient_refused",
            _("The mail server refused the address %(to)s.") % {"to": mail["To"]},
        ) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            "smtp_auth", _("The mail server rejected the login; check the channel settings.")
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(
            "smtp_unavailable",
            _("The mail server could not be reached (%(error)s); trying again.") % {"error": exc},
            retryable=True,
        ) from exc
    if refused:
        raise DeliveryError("recipient_refused", str(refused))
    return SendResult(external_id=str(mail["Message-ID"]).strip("<>"))
