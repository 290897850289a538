"""Channel-level news from a provider (template status, errors without a message, opt-outs).

(Being written for issue 4; the WhatsApp inbound helper owns this module.)
"""

from __future__ import annotations

from loket.channels.items import Notice
from loket.channels.models import Channel


def apply(channel: Channel, notice: Notice) -> None:
    raise NotImplementedError
