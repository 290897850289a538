"""The robust parser on the mails that break naive code: charsets, names, nesting, senders."""

from __future__ import annotations

from django.utils import translation

from loket.channels.email import parse
from loket.channels.email.inbound import parse_mail


def _mail(headers: str, body: bytes = b"") -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n" + body


def test_an_unknown_charset_falls_back_and_is_marked() -> None:
    raw = _mail(
        "From: a@example.com\nContent-Type: text/plain; charset=x-unheard-of\n",
        "Harga naik, caf\xe9".encode("cp1252"),
    )
    parsed = parse.parse(raw)
    assert parsed.text == "Harga naik, caf\xe9"
    assert "charset:x-unheard-of" in parsed.problems


def test_microsoft_and_typo_labels_are_aliased() -> None:
    korean = _mail(
        "From: a@example.com\nContent-Type: text/plain; charset=ks_c_5601-1987\n",
        "안녕하세요".encode("cp949"),
    )
    typo = _mail("From: a@example.com\nContent-Type: text/plain; charset=uft-8\n", b"Selamat")
    assert parse.parse(korean).text == "안녕하세요"
    assert parse.parse(typo).text == "Selamat"


def test_rfc2231_and_rfc2047_filenames_are_decoded_and_never_a_path() -> None:
    raw = _mail(
        'From: a@example.com\nContent-Type: multipart/mixed; boundary="b"\n',
        b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''faktur%20%E2%98%95.pdf\r\n\r\nx\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="=?utf-8?B?Li4vLi4vcmluY2lhbi5wZGY=?="'
        b"\r\n\r\ny\r\n--b--\r\n",
    )
    names = [a.name for a in parse.parse(raw).attachments]
    assert names == ["faktur \u2615.pdf", "rincian.pdf"]


def test_an_attached_mail_is_one_attachment_named_after_its_subject() -> None:
    inner = b"From: b@example.com\r\nSubject: Pesanan 12\r\n\r\nisi\r\n"
    raw = _mail(
        'From: a@example.com\nContent-Type: multipart/mixed; boundary="b"\n',
        b"--b\r\nContent-Type: text/plain\r\n\r\nlihat lampiran\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--b--\r\n",
    )
    parsed = parse.parse(raw)
    assert parsed.text == "lihat lampiran"
    [attached] = parsed.attachments
    assert attached.name == "Pesanan 12.eml"
    assert b"isi" in (attached.data or b"")


def test_cid_images_are_marked_inline_and_html_is_sanitised_with_a_text_version() -> None:
    raw = _mail(
        'From: a@example.com\nContent-Type: multipart/related; boundary="b"\n',
        b"--b\r\nContent-Type: text/html\r\n\r\n"
        b'<p>Halo <script>alert(1)</script><img src="cid:logo@x"></p>\r\n'
        b"--b\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n\r\nPNG\r\n--b--\r\n",
    )
    parsed = parse.parse(raw)
    assert "<script" not in parsed.html
    assert 'src="cid:logo@x"' in parsed.html
    assert parsed.text == "Halo"
    [image] = parsed.attachments
    assert image.meta == {"cid": True, "inline": True}


def test_an_oversized_part_is_kept_as_a_note_not_in_memory(monkeypatch: object) -> None:
    raw = _mail(
        'From: a@example.com\nContent-Type: multipart/mixed; boundary="b"\n',
        b"--b\r\nContent-Type: application/zip\r\nContent-Disposition: attachment;"
        b' filename="big.zip"\r\n\r\n' + b"z" * 2000 + b"\r\n--b--\r\n",
    )
    old = parse.MAX_PART_BYTES
    parse.MAX_PART_BYTES = 1000
    try:
        with translation.override("en"):
            [big] = parse.parse(raw).attachments
    finally:
        parse.MAX_PART_BYTES = old
    assert big.data is None
    assert big.name == "big.zip"
    assert big.note == "File too large (2.0\xa0KB; the limit is 1000\xa0bytes); not stored."


def test_gmail_image_placeholders_become_inline_images_in_an_html_body() -> None:
    raw = _mail(
        'From: a@example.com\nContent-Type: multipart/mixed; boundary="b"\n',
        b"--b\r\nContent-Type: text/plain\r\n\r\n[image: foto.jpg]\r\nIni fotonya\r\n"
        b"--b\r\nContent-Type: image/jpeg; name=foto.jpg\r\nContent-ID: <ii_1>\r\n"
        b"Content-Disposition: inline; filename=foto.jpg\r\n\r\nJPG\r\n--b--\r\n",
    )
    parsed = parse.parse(raw)
    assert parsed.text == "Ini fotonya"
    assert '<img src="cid:ii_1"' in parsed.html
    assert parsed.attachments[0].meta["cid"] is True


def test_a_display_name_that_looks_like_an_address_does_not_win() -> None:
    raw = _mail("From: alice@example.com <bob@example.com>\nSubject: x\n", b"hi")
    assert parse_mail(raw).sender.value == "bob@example.com"


def test_without_from_the_reply_to_is_the_sender() -> None:
    raw = _mail("Reply-To: Budi <budi@example.co.id>\nSubject: x\n", b"hi")
    message = parse_mail(raw)
    assert (message.sender.name, message.sender.value) == ("Budi", "budi@example.co.id")
    assert "sender from Reply-To" in message.meta["parse_problems"]


def test_a_multipart_with_a_broken_boundary_keeps_its_body_as_text() -> None:
    raw = _mail(
        'From: a@example.com\nContent-Type: multipart/mixed; boundary="missing"\n',
        b"just text, no boundary at all",
    )
    assert "just text" in parse_mail(raw).text


def test_text_types_other_than_plain_and_html_are_attachments_not_body() -> None:
    raw = _mail(
        'From: a@example.com\nContent-Type: multipart/mixed; boundary="b"\n',
        b"--b\r\nContent-Type: text/plain\r\n\r\nJadwal terlampir\r\n"
        b"--b\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n"
        b"--b\r\nContent-Type: text/enriched\r\n\r\n<bold>x</bold>\r\n--b--\r\n",
    )
    parsed = parse.parse(raw)
    assert parsed.text == "Jadwal terlampir"
    assert [a.name for a in parsed.attachments] == ["calendar.ics", "attachment"]


def test_parts_after_a_nested_part_that_reuses_the_boundary_are_not_lost() -> None:
    # The nested alternative shares the outer boundary, so its end line ends the outer part
    # too; the PDF after it lands in the epilogue, where the stdlib leaves it.
    raw = _mail(
        'From: a@example.com\nContent-Type: multipart/mixed; boundary="b"\n',
        b'--b\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nFaktur terlampir\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p>Faktur terlampir</p>\r\n--b--\r\n\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="faktur.pdf"\r\n\r\n%PDF\r\n--b--\r\n',
    )
    parsed = parse.parse(raw)
    assert parsed.text == "Faktur terlampir"
    assert [a.name for a in parsed.attachments] == ["faktur.pdf"]
    assert "boundary re-split" in parsed.problems


def test_the_sender_is_the_first_mailbox_of_a_list_with_quoted_commas() -> None:
    raw = _mail(
        'From: "Toko; \\"Batik\\", Sari" <cs@batiksari.id>, Budi <budi@example.co.id>\n',
        b"hi",
    )
    message = parse_mail(raw)
    assert (message.sender.name, message.sender.value) == ('Toko; "Batik", Sari', "cs@batiksari.id")


def test_bytes_cp1252_leaves_undefined_fall_back_to_latin1_and_are_marked() -> None:
    raw = _mail(
        "From: a@example.com\nContent-Type: text/plain; charset=iso-8859-1\n",
        b"caf\xe9 \x81",
    )
    parsed = parse.parse(raw)
    assert parsed.text == "caf\xe9 \x81"
    assert parsed.problems == ["charset fallback latin-1:iso-8859-1"]
