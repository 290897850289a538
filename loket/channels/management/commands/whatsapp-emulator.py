"""``loket whatsapp-emulator``: the spelling of the issue and the docs (see whatsapp_emulator)."""

from loket.channels.management.commands.whatsapp_emulator import Command

__all__ = ["Command"]
