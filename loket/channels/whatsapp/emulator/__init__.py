"""A local stand-in for Meta's WhatsApp Cloud API (``loket whatsapp-emulator``).

It speaks the subset of the Graph API that Loket uses, over real HTTP, with the documented
bodies, errors and signed webhooks (``shared/reference/channel-contracts.md`` §1 and §4), and
serves a "customer phone" page where a person chats as a customer. It is a separate
"Meta" process: its state lives in memory, never in Loket's database, so the channel code
cannot tell it from Meta except by its base URL.

- ``wire``: the bodies (webhook envelopes, Graph errors, send validation) and the signature.
- ``state``: configuration, knobs, media, conversations and the record of what was sent.
- ``webhooks``: delivers signed webhooks in the background, with retries.
- ``server``: the HTTP server, the Python API for tests (``running_emulator``).
"""
