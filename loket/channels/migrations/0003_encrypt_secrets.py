"""Encrypt the secrets already stored in plain text in Channel.config (see channels.secrets)."""

from typing import Any

from django.db import migrations


def encrypt(apps: Any, schema_editor: Any) -> None:
    from loket.channels import secrets

    channel_model = apps.get_model("channels", "Channel")
    for channel in channel_model.objects.all():
        sealed = secrets.seal(channel.kind, channel.config or {})
        if sealed != channel.config:
            channel_model.objects.filter(pk=channel.pk).update(config=sealed)


def decrypt(apps: Any, schema_editor: Any) -> None:
    from loket.channels import secrets

    channel_model = apps.get_model("channels", "Channel")
    for channel in channel_model.objects.all():
        clear = {key: secrets.reveal(value) for key, value in (channel.config or {}).items()}
        if clear != channel.config:
            channel_model.objects.filter(pk=channel.pk).update(config=clear)


class Migration(migrations.Migration):
    dependencies = [("channels", "0002_whatsapp_templates")]

    operations = [migrations.RunPython(encrypt, decrypt)]
