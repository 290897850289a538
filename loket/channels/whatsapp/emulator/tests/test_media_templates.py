"""Media upload and download with expiry, templates list and template sends, token check."""

from __future__ import annotations

import hashlib

import httpx

from loket.channels.whatsapp.emulator.core import Emulator
from loket.channels.whatsapp.emulator.tests.conftest import TOKEN, Graph, error_code

DEWI = "6281234567890"
PDF = b"%PDF-1.4 faktur #4521\n%%EOF"


def upload(graph: Graph, data: bytes = PDF, mime: str = "application/pdf") -> httpx.Response:
    return graph.http.post(
        f"/{graph.emu.config.phone_number_id}/media",
        files={"file": ("faktur-4521.pdf", data, mime)},
        data={"type": mime, "messaging_product": "whatsapp"},
    )


def test_upload_then_send_by_id_then_download_with_the_bearer_token(
    emu: Emulator, graph: Graph
) -> None:
    media_id = upload(graph).json()["id"]
    assert media_id.isdigit()

    sent = graph.send(
        {
            "to": DEWI,
            "type": "document",
            "document": {"id": media_id, "filename": "faktur-4521.pdf", "caption": "Faktur"},
        }
    )
    assert sent.status_code == 200
    info = graph.http.get(f"/{media_id}").json()
    assert info["messaging_product"] == "whatsapp"
    assert info["id"] == media_id
    assert info["mime_type"] == "application/pdf"
    assert info["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert info["file_size"] == len(PDF)
    assert httpx.get(info["url"]).status_code == 401  # the URL needs the token too
    assert error_code(httpx.get(info["url"])) == 190
    assert graph.http.get(info["url"]).content == PDF
    assert emu.uploads[0].filename == "faktur-4521.pdf"
    assert emu.media_bytes(media_id) == PDF


def test_a_media_url_expires(emu: Emulator, graph: Graph) -> None:
    media_id = upload(graph).json()["id"]
    emu.set_knobs(media_url_ttl=-1.0)

    url = graph.http.get(f"/{media_id}").json()["url"]

    response = graph.http.get(url)
    assert response.status_code == 404
    assert "expired" in response.json()["error"]["error_data"]["details"]
    emu.set_knobs(media_url_ttl=300.0)
    assert graph.http.get(graph.http.get(f"/{media_id}").json()["url"]).content == PDF


def test_a_tampered_media_url_is_refused(graph: Graph) -> None:
    media_id = upload(graph).json()["id"]
    url = graph.http.get(f"/{media_id}").json()["url"]
    assert graph.http.get(url.replace("hash=", "hash=0")).status_code == 404


def test_upload_needs_the_documented_fields(graph: Graph) -> None:
    number = graph.emu.config.phone_number_id
    no_product = graph.http.post(
        f"/{number}/media", files={"file": ("a.pdf", PDF, "application/pdf")}
    )
    assert error_code(no_product) == 100
    no_file = graph.http.post(
        f"/{number}/media", data={"messaging_product": "whatsapp", "type": "image/png"}
    )
    assert error_code(no_file) in (100, 131008)


def test_unknown_media_and_delete(graph: Graph) -> None:
    assert error_code(graph.http.get("/4242424242")) == 100
    media_id = upload(graph).json()["id"]
    assert graph.http.delete(f"/{media_id}").json() == {"success": True}
    assert error_code(graph.http.get(f"/{media_id}")) == 100


def test_customer_media_is_fetched_through_the_same_flow(emu: Emulator, graph: Graph) -> None:
    photo = b"\xff\xd8\xff\xe0 foto kain rusak"
    emu.customer_sends_media(DEWI, photo, "image/jpeg", caption="Kainnya sobek")
    image = emu.chat_view(DEWI, seen=False)["messages"][0]["content"]

    info = graph.http.get(f"/{image['id']}").json()

    assert info["sha256"] == image["sha256"] == hashlib.sha256(photo).hexdigest()
    assert graph.http.get(info["url"]).content == photo


def test_templates_are_listed_with_fields_and_paging(emu: Emulator, graph: Graph) -> None:
    first = graph.http.get(
        f"/{emu.config.waba_id}/message_templates",
        params={"fields": "name,status,language,category,components", "limit": 4},
    ).json()
    assert len(first["data"]) == 4
    assert set(first["data"][0]) == {"id", "name", "status", "language", "category", "components"}
    following = httpx.get(
        first["paging"]["next"], headers={"Authorization": f"Bearer {TOKEN}"}
    ).json()
    assert "next" not in following["paging"]
    every = first["data"] + following["data"]
    statuses = {t["name"]: t["status"] for t in every}
    assert statuses["status_pesanan"] == "APPROVED"
    assert "PENDING" in statuses.values()
    assert "REJECTED" in statuses.values()
    assert {t["category"] for t in every} == {"UTILITY", "MARKETING"}


def template(name: str, language: str, *params: str) -> dict[str, object]:
    return {
        "to": DEWI,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": language},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
            ],
        },
    }


def test_an_approved_template_is_accepted_and_rendered(emu: Emulator, graph: Graph) -> None:
    response = graph.send(template("status_pesanan", "id", "Dewi", "#4521", "dikirim"))

    assert response.status_code == 200
    assert response.json()["messages"][0]["message_status"] == "accepted"
    shown = emu.chat_view(DEWI, seen=False)["messages"][0]["content"]["rendered"]
    assert "Halo Dewi, pesanan #4521 kamu sekarang berstatus: dikirim." in shown


def test_template_errors(graph: Graph) -> None:
    assert error_code(graph.send(template("tidak_ada", "id"))) == 132001
    assert error_code(graph.send(template("status_pesanan", "en_US", "a", "b", "c"))) == 132001
    assert error_code(graph.send(template("konfirmasi_pembayaran", "id", "a", "b"))) == 132001
    assert error_code(graph.send(template("diskon_kilat", "id", "a"))) == 132001
    assert error_code(graph.send(template("status_pesanan", "id", "Dewi"))) == 132000


def test_the_token_check(emu: Emulator, graph: Graph) -> None:
    number = graph.http.get(
        f"/{emu.config.phone_number_id}",
        params={"fields": "display_phone_number,verified_name,quality_rating"},
    ).json()
    assert number == {
        "id": emu.config.phone_number_id,
        "display_phone_number": "+" + emu.config.display_phone_number,
        "verified_name": emu.config.verified_name,
        "quality_rating": "GREEN",
    }


def test_a_wrong_missing_or_expired_token_is_190(emu: Emulator) -> None:
    path = f"{emu.base_url}/v23.0/{emu.config.phone_number_id}"
    assert httpx.get(path).status_code == 401
    wrong = httpx.get(path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == 190
    emu.set_token_expired()
    expired = httpx.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert expired.status_code == 401
    assert (
        "expired"
        in expired.json()["error"]["message"] + expired.json()["error"]["error_data"]["details"]
    )
