"""Media over real HTTP: download in two steps with the token (sha256, limits, an expired URL
fetched afresh, transient trouble retried, a 4xx never retried) and upload as multipart."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from loket.channels.whatsapp import media
from loket.channels.whatsapp.tests.test_graph_fake import (
    PHONE_NUMBER_ID,
    TOKEN,
    VERSION,
    Answer,
    FakeGraph,
    graph_error,
    running,
)
from loket.conftest import Shop

pytestmark = pytest.mark.django_db

PHOTO = b"\xff\xd8\xff\xe0" + b"batik parang " * 100


@pytest.fixture
def fake(shop: Shop) -> Iterator[FakeGraph]:
    with running() as server:
        server.configure(shop.whatsapp)
        yield server


@pytest.fixture
def naps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry pauses, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(media, "sleep", slept.append)
    return slept


def _paths(fake: FakeGraph) -> list[str]:
    return [s.path for s in fake.seen]


def test_a_file_is_fetched_in_two_steps_with_the_token(shop: Shop, fake: FakeGraph) -> None:
    media_id = fake.add_file(PHOTO, "image/jpeg")

    got = media.download(shop.whatsapp, media_id, sha256=hashlib.sha256(PHOTO).hexdigest())

    assert got.data == PHOTO
    assert got.content_type == "image/jpeg"
    assert got.filename == f"{media_id}.jpg"
    assert _paths(fake) == [f"/{VERSION}/{media_id}", f"/files/{media_id}"]
    assert all(s.headers["authorization"] == f"Bearer {TOKEN}" for s in fake.seen)
    assert all(s.headers["user-agent"].startswith("Loket/") for s in fake.seen)


def test_a_compressed_download_is_checked_after_decoding(shop: Shop, fake: FakeGraph) -> None:
    fake.gzip_files = True
    media_id = fake.add_file(PHOTO, "image/jpeg")
    got = media.download(shop.whatsapp, media_id, sha256=hashlib.sha256(PHOTO).hexdigest())
    assert got.data == PHOTO


def test_file_size_may_come_as_a_string(shop: Shop, fake: FakeGraph, settings: Any) -> None:
    fake.file_size_as_string = True
    media_id = fake.add_file(PHOTO, "image/jpeg")
    assert media.download(shop.whatsapp, media_id).data == PHOTO

    settings.LOKET_MAX_ATTACHMENT_BYTES = len(PHOTO) - 1
    with pytest.raises(media.MediaError) as caught:
        media.download(shop.whatsapp, media_id)
    assert caught.value.transient is False
    assert _paths(fake)[-1] == f"/{VERSION}/{media_id}"  # refused before downloading


def test_a_damaged_file_is_fetched_again_then_refused(
    shop: Shop, fake: FakeGraph, naps: list[float]
) -> None:
    fake.wrong_sha256 = True
    media_id = fake.add_file(PHOTO, "image/jpeg")

    with pytest.raises(media.MediaError) as caught:
        media.download(shop.whatsapp, media_id)

    assert "checksum" in caught.value.reason or caught.value.reason
    assert caught.value.transient is True  # worth another try later
    assert _paths(fake).count(f"/files/{media_id}") == media.ATTEMPTS
    assert naps == [1.0, 2.0]


def test_the_sha256_from_the_webhook_wins(shop: Shop, fake: FakeGraph, naps: list[float]) -> None:
    media_id = fake.add_file(PHOTO, "image/jpeg")
    with pytest.raises(media.MediaError):
        media.download(shop.whatsapp, media_id, sha256=hashlib.sha256(b"other").hexdigest())


def test_a_file_over_loket_s_limit_is_refused_while_downloading(
    shop: Shop, fake: FakeGraph, settings: Any
) -> None:
    media_id = fake.add_file(PHOTO, "application/pdf")
    # Meta's answer without file_size: the stream itself is cut at the limit.
    fake.fail(
        "GET",
        f"/{media_id}",
        Answer(
            200,
            {
                "id": media_id,
                "url": f"{fake.base_url}/files/{media_id}",
                "mime_type": "application/pdf",
            },
        ),
    )
    settings.LOKET_MAX_ATTACHMENT_BYTES = 100

    with pytest.raises(media.MediaError) as caught:
        media.download(shop.whatsapp, media_id)

    assert caught.value.transient is False
    assert "100" in caught.value.reason


def test_an_expired_url_is_asked_for_again_once(
    shop: Shop, fake: FakeGraph, naps: list[float]
) -> None:
    media_id = fake.add_file(PHOTO, "image/jpeg")
    fake.url_refusals = 1

    assert media.download(shop.whatsapp, media_id).data == PHOTO

    assert _paths(fake) == [f"/{VERSION}/{media_id}", f"/files/{media_id}"] * 2
    assert naps == []


def test_a_url_refused_twice_is_final(shop: Shop, fake: FakeGraph, naps: list[float]) -> None:
    media_id = fake.add_file(PHOTO, "image/jpeg")
    fake.url_refusals = 5

    with pytest.raises(media.MediaError) as caught:
        media.download(shop.whatsapp, media_id)

    assert caught.value.transient is False
    assert "404" not in caught.value.reason
    assert _paths(fake).count(f"/files/{media_id}") == 2
    assert naps == []


def test_a_4xx_from_graph_is_never_retried(shop: Shop, fake: FakeGraph, naps: list[float]) -> None:
    with pytest.raises(media.MediaError) as caught:
        media.download(shop.whatsapp, "404404404")  # unknown media id: Graph error 100

    assert caught.value.transient is False
    assert "7" in caught.value.reason  # kept for 7 days
    assert len(fake.seen) == 1
    assert naps == []


def test_server_trouble_is_retried_with_backoff(
    shop: Shop, fake: FakeGraph, naps: list[float]
) -> None:
    media_id = fake.add_file(PHOTO, "image/jpeg")
    fake.fail("GET", f"/{media_id}", graph_error(2, status=503, transient=True))
    fake.fail("GET", f"/files/{media_id}", Answer(502, b"bad gateway", "text/plain"))

    assert media.download(shop.whatsapp, media_id).data == PHOTO
    assert naps == [1.0, 2.0]


def test_an_expired_token_while_downloading_flags_the_channel(
    shop: Shop, fake: FakeGraph, naps: list[float]
) -> None:
    media_id = fake.add_file(PHOTO, "image/jpeg")
    fake.fail("GET", f"/{media_id}", graph_error(190, status=401))

    with pytest.raises(media.MediaError) as caught:
        media.download(shop.whatsapp, media_id)

    assert caught.value.transient is False
    shop.whatsapp.refresh_from_db()
    assert "(190: " in shop.whatsapp.last_error


def test_upload_is_multipart_with_type_and_messaging_product(shop: Shop, fake: FakeGraph) -> None:
    media_id = media.upload(shop.whatsapp, PHOTO, "image/jpeg", "kain.jpg")

    [seen] = fake.seen
    assert (seen.method, seen.path) == ("POST", f"/{VERSION}/{PHONE_NUMBER_ID}/media")
    assert seen.form == {"type": "image/jpeg", "messaging_product": "whatsapp"}
    assert seen.files == {"file": ("kain.jpg", "image/jpeg", PHOTO)}
    assert fake.files[media_id] == (PHOTO, "image/jpeg")


@pytest.mark.parametrize(
    ("content_type", "kind", "limit"),
    [
        ("image/png", "image", 5),
        ("video/mp4", "video", 16),
        ("audio/ogg; codecs=opus", "audio", 16),
        ("image/webp", "document", 100),
        ("application/pdf", "document", 100),
    ],
)
def test_uploads_keep_to_meta_s_size_per_type(
    shop: Shop, fake: FakeGraph, content_type: str, kind: str, limit: int
) -> None:
    assert media.kind_for(content_type) == kind
    assert media.LIMITS[kind] == limit * media.MB
    with pytest.raises(media.MediaError) as caught:
        media.upload(shop.whatsapp, b"x" * (limit * media.MB + 1), content_type, "big")
    assert caught.value.transient is False
    assert fake.seen == []
