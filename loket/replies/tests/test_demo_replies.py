"""The demo shop's saved replies and macros load through the services and fill in cleanly."""

from __future__ import annotations

from loket.conftest import Shop
from loket.demo import replies as demo_replies
from loket.replies import rendering, selectors, services
from loket.tickets.models import Ticket


def test_demo_replies_and_macros_load_and_render_without_unknown_placeholders(
    shop: Shop,
) -> None:
    demo_replies.add({"joko": shop.joko, "budi": shop.budi, "wati": shop.wati})
    library = selectors.library(shop.budi)
    assert [r.shortcut for r in library.personal_replies] == ["cek"]
    assert len(library.shared_replies) == len(demo_replies.SHARED_REPLIES)
    assert len(library.shared_macros) == 2
    ticket = Ticket.objects.select_related("contact").get(
        pk=shop.whatsapp_from_dewi("Kak, ongkir ke Bandung berapa?").pk
    )
    values = rendering.values_for(ticket, shop.budi)
    for reply in library.shared_replies:
        assert rendering.render(reply.body, values).unknown == ()
    salam = selectors.search_replies(shop.budi, "salam")[0]
    assert rendering.render(salam.body, values).text.startswith("Halo Kak Dewi,")
    pay = next(m for m in library.shared_macros if m.name == "Tunggu pembayaran")
    applied = services.apply_macro(ticket, pay, shop.budi)
    assert applied.ticket.status == "pending"
    assert applied.ticket.assignee_id == shop.budi.pk
