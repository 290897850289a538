"""Finding the saved replies an agent may use, in a fixed number of queries."""

from __future__ import annotations

from typing import Any

from loket.conftest import Shop
from loket.replies import selectors, services
from loket.replies.services import MacroSpec


def _titles(replies: list[Any]) -> list[str]:
    return [r.title for r in replies]


def test_search_finds_personal_and_shared_replies_but_not_others(shop: Shop) -> None:
    services.create_reply(shop.budi, title="Ongkir Budi", body="Ongkir ke Jawa Rp10.000")
    services.create_reply(shop.wati, title="Ongkir Wati", body="Ongkir ke Bali")
    services.create_reply(shop.joko, title="Ongkir umum", body="Cek ongkir di situs", shared=True)
    assert _titles(selectors.search_replies(shop.budi, "ongkir")) == ["Ongkir Budi", "Ongkir umum"]
    assert _titles(selectors.search_replies(shop.wati, "ONGKIR")) == ["Ongkir Wati", "Ongkir umum"]


def test_shortcut_matches_rank_first(shop: Shop) -> None:
    services.create_reply(shop.joko, title="Alamat toko", body="Jl. Malioboro", shared=True)
    services.create_reply(shop.joko, title="Salam", body="Halo", shortcut="al", shared=True)
    services.create_reply(shop.budi, title="Terima kasih", body="Makasih", shortcut="alhamdulillah")
    services.create_reply(shop.budi, title="Stok", body="Stok habis, kalau alternatif mau?")
    found = selectors.search_replies(shop.budi, "al")
    assert _titles(found) == ["Salam", "Terima kasih", "Alamat toko", "Stok"]


def test_an_empty_search_lists_replies_by_title_up_to_the_limit(shop: Shop) -> None:
    for i in range(12):
        services.create_reply(shop.budi, title=f"Balasan {i:02d}", body="x")
    found = selectors.search_replies(shop.budi, "")
    assert _titles(found) == [f"Balasan {i:02d}" for i in range(10)]


def test_search_costs_one_query_however_many_replies(
    shop: Shop, django_assert_num_queries: Any
) -> None:
    for i in range(30):
        services.create_reply(shop.budi, title=f"Balasan {i}", body="x", shortcut=f"b{i}")
        services.create_reply(shop.joko, title=f"Umum {i}", body="x", shared=True)
    with django_assert_num_queries(1):
        selectors.search_replies(shop.budi, "b")


def test_library_splits_personal_and_shared_in_two_queries(
    shop: Shop, django_assert_num_queries: Any
) -> None:
    services.create_reply(shop.budi, title="Punya Budi", body="x")
    services.create_reply(shop.joko, title="Bersama", body="x", shared=True)
    services.create_macro(shop.budi, MacroSpec(name="M Budi", assignment="me"))
    services.create_macro(
        shop.joko, MacroSpec(name="M Wati", assignment="agent", assignee=shop.wati), shared=True
    )
    with django_assert_num_queries(2):
        library = selectors.library(shop.budi)
        assert [m.assignee for m in library.shared_macros] == [shop.wati]
    assert _titles(library.personal_replies) == ["Punya Budi"]
    assert _titles(library.shared_replies) == ["Bersama"]
    assert [m.name for m in library.personal_macros] == ["M Budi"]
    assert [m.name for m in selectors.macros_for(shop.wati)] == ["M Wati"]


def test_a_deactivated_agent_sees_nothing(shop: Shop) -> None:
    services.create_reply(shop.joko, title="Bersama", body="x", shared=True)
    shop.budi.is_active = False
    assert selectors.search_replies(shop.budi, "") == []
