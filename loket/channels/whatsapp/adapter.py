"""The WhatsApp channel's adapter: webhook bodies in (with their media), Graph API out."""

from __future__ import annotations

import logging

from loket.channels.items import InboundAttachment, InboundMessage, Item, Notice, SendResult
from loket.channels.models import Channel, ChannelKind, Delivery
from loket.channels.whatsapp import inbound, media
from loket.tickets.models import Message

log = logging.getLogger(__name__)

# Marks a delivery re-stored for the channel that owns its number (and makes it once only).
REROUTED_FROM = "X-Loket-Rerouted-From"


class WhatsAppAdapter:
    def parse(self, channel: Channel, delivery: Delivery) -> list[Item]:
        """Read the body, fetch its media now (Meta's URLs expire), pass on other numbers' news.

        A file that cannot be fetched never fails the delivery: the message is kept with the
        attachment's reason in ``note`` and the media id in ``meta["wa"]["media"]``, so the
        text of the batch is not held back by one file (Meta keeps the id for 7 days).
        """
        parsed = inbound.parse(
            bytes(delivery.body), phone_number_id=str(channel.config.get("phone_number_id", ""))
        )
        for item in parsed.items:
            if isinstance(item, Notice) and "time" not in item.data:
                # Meta dates template and account news, not errors: without a date, the
                # delivery tells a replay (recorded once) from the same error sent again.
                item.data["delivery"] = delivery.pk
            if isinstance(item, InboundMessage) and item.attachments:
                if _already_stored(channel, item.external_id):
                    continue  # a replay: the file was fetched the first time
                for attachment in item.attachments:
                    _fetch(channel, attachment)
        for number, body in parsed.foreign.items():
            reroute(delivery, number, body)
        return parsed.items

    def send(self, channel: Channel, message: Message) -> SendResult:
        from loket.channels.whatsapp import transport  # the sending half, loaded when sending

        return transport.send(channel, message)


def _already_stored(channel: Channel, external_id: str) -> bool:
    return Message.objects.filter(channel=channel, external_id=external_id).exists()


def _fetch(channel: Channel, attachment: InboundAttachment) -> None:
    media_id = str(attachment.meta.get("media_id", ""))
    try:
        downloaded = media.download(
            channel,
            media_id,
            sha256=str(attachment.meta.get("sha256", "")),
            mime_type=str(attachment.meta.get("mime_type", "")),
        )
    except media.MediaError as exc:
        log.warning("whatsapp: media %s not fetched: %s", media_id, exc.reason)
        attachment.note = exc.reason  # translated by media.py; says what went wrong
        return
    attachment.data = downloaded.data
    if attachment.content_type == "application/octet-stream":
        attachment.content_type = (
            downloaded.content_type.split(";")[0].strip() or "application/octet-stream"
        )


def reroute(delivery: Delivery, number: str, body: bytes) -> Delivery | None:
    """Store another number's changes as a delivery of the channel that owns the number.

    One Meta app posts every number's news to one callback URL; each number is its own
    channel here. Unknown numbers are logged and dropped (nobody can answer them).
    """
    from loket.channels import services  # services imports the registry, which imports us

    owner = (
        Channel.objects.filter(
            kind=ChannelKind.WHATSAPP, enabled=True, config__phone_number_id=number
        )
        .exclude(pk=delivery.channel_id)
        .order_by("pk")
        .first()
    )
    if owner is None:
        log.warning(
            "whatsapp: delivery %s holds news for phone number id %s, which no enabled "
            "channel owns; dropped",
            delivery.pk,
            number,
        )
        return None
    marker = {f"headers__{REROUTED_FROM}": str(delivery.pk)}
    if Delivery.objects.filter(channel=owner, **marker).exists():
        return None  # this delivery was read before (a replay)
    return services.store_delivery(owner, body, {REROUTED_FROM: str(delivery.pk)})
