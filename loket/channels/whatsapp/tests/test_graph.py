"""The Graph client: the channel's URL, version and token, an explicit User-Agent, and every
failure as a GraphError (Meta's error object, or code -1 when the network failed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from loket.channels.whatsapp import graph
from loket.channels.whatsapp.graph import GraphError
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
from loket.core.tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    with running() as server:
        yield server


def test_calls_go_to_the_channels_base_url_and_version_with_its_token(
    shop: Shop, fake: FakeGraph
) -> None:
    channel = fake.configure(shop.whatsapp)
    assert TOKEN not in str(channel.config)  # stored encrypted

    answer = graph.client(channel).post(f"{PHONE_NUMBER_ID}/messages", json={"to": "62812"})

    assert answer["messages"][0]["id"].startswith("wamid.")
    [seen] = fake.seen
    assert seen.path == f"/{VERSION}/{PHONE_NUMBER_ID}/messages"
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["user-agent"].startswith("Loket/")
    assert seen.headers["content-type"] == "application/json"
    assert TOKEN not in repr(graph.client(channel))


def test_the_graph_error_object_becomes_a_graph_error(shop: Shop, fake: FakeGraph) -> None:
    channel = fake.configure(shop.whatsapp)
    body = graph_error(131030, transient=False).body
    body["error"]["error_subcode"] = 2494010
    body["error"]["error_user_title"] = "Recipient not allowed"
    fake.fail("POST", "/messages", Answer(400, body))

    with pytest.raises(GraphError) as caught:
        graph.client(channel).post(f"{PHONE_NUMBER_ID}/messages", json={})

    err = caught.value
    assert (err.code, err.subcode, err.http_status) == (131030, 2494010, 400)
    assert err.title == "Recipient not allowed"
    assert err.details == "Details of 131030"
    assert err.fbtrace_id == "AbCdEf123"
    assert err.transient is False


def test_is_transient_and_a_code_sent_as_a_string_are_read(shop: Shop, fake: FakeGraph) -> None:
    channel = fake.configure(shop.whatsapp)
    fake.fail(
        "GET",
        "/1234",
        Answer(
            500,
            {
                "error": {
                    "code": "2",
                    "message": "Service temporarily unavailable",
                    "is_transient": True,
                }
            },
        ),
    )
    with pytest.raises(GraphError) as caught:
        graph.client(channel).get("1234")
    assert (caught.value.code, caught.value.transient) == (2, True)
    assert caught.value.details == "Service temporarily unavailable"


@pytest.mark.parametrize(
    ("status", "transient"), [(502, True), (503, True), (429, True), (404, False), (400, False)]
)
def test_an_answer_without_an_error_object_is_code_minus_one(
    shop: Shop, fake: FakeGraph, status: int, transient: bool
) -> None:
    channel = fake.configure(shop.whatsapp)
    fake.fail("GET", "/1234", Answer(status, b"<html>Bad gateway</html>", "text/html"))
    with pytest.raises(GraphError) as caught:
        graph.client(channel).get("1234")
    assert (caught.value.code, caught.value.http_status) == (graph.NETWORK, status)
    assert caught.value.transient is transient


def test_a_success_that_is_not_json_is_a_transient_error(shop: Shop, fake: FakeGraph) -> None:
    channel = fake.configure(shop.whatsapp)
    fake.fail("GET", "/1234", Answer(200, b"<html>captive portal</html>", "text/html"))
    with pytest.raises(GraphError) as caught:
        graph.client(channel).get("1234")
    assert (caught.value.code, caught.value.transient) == (graph.NETWORK, True)


def test_no_server_is_a_transient_network_error_that_never_shows_the_token(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    shop.whatsapp.config = {
        "base_url": f"http://127.0.0.1:{free_port()}",
        "api_version": VERSION,
        "access_token": TOKEN,
    }
    shop.whatsapp.save()
    caplog.set_level(logging.DEBUG)

    with pytest.raises(GraphError) as caught:
        graph.client(shop.whatsapp).post(f"{PHONE_NUMBER_ID}/messages", json={"to": "1"})

    assert (caught.value.code, caught.value.transient, caught.value.http_status) == (-1, True, 0)
    assert TOKEN not in str(caught.value) + caught.value.details + caught.value.title
    assert TOKEN not in caplog.text


def test_a_token_in_an_error_is_cut_out_of_the_log(
    shop: Shop, fake: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    channel = fake.configure(shop.whatsapp)
    body = graph_error(190).body
    body["error"]["error_data"]["details"] = f"Token {TOKEN} has expired"
    fake.fail("POST", "/messages", Answer(401, body))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(GraphError):
        graph.client(channel).post(f"{PHONE_NUMBER_ID}/messages", json={})
    assert "graph POST" in caplog.text
    assert TOKEN not in caplog.text


def test_a_download_follows_redirects_with_the_token(shop: Shop, fake: FakeGraph) -> None:
    channel = fake.configure(shop.whatsapp)
    media_id = fake.add_file(b"\x89PNG photo", "image/png")

    response = graph.client(channel).download(f"{fake.base_url}/redirect/{media_id}")

    assert response.content == b"\x89PNG photo"
    assert [s.path for s in fake.seen] == [f"/redirect/{media_id}", f"/files/{media_id}"]
    assert all(s.headers["authorization"] == f"Bearer {TOKEN}" for s in fake.seen)
    assert all(s.headers["user-agent"].startswith("Loket/") for s in fake.seen)


def test_a_download_over_the_limit_stops_early(shop: Shop, fake: FakeGraph) -> None:
    channel = fake.configure(shop.whatsapp)
    media_id = fake.add_file(b"x" * 5000, "application/pdf")
    with pytest.raises(graph.TooLarge):
        graph.client(channel).download(f"{fake.base_url}/files/{media_id}", max_bytes=4999)
