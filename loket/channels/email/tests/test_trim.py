"""What an agent sees of an inbound mail: the customer's new words, without the quoted history
and the signature (email lessons §5). The whole mail stays stored; this is display only."""

from __future__ import annotations

import pytest

from loket.channels.email import parse
from loket.channels.email.trim import MAX_LINES, Trimmed, trim_html, trim_raw_html, trim_text

OLD_MAIL = "> Halo Bu Siti,\n>\n> Pesanan #1042 sudah kami kirim.\n>\n> Salam,\n> Toko Batik"


def test_gmail_reply_in_english_keeps_only_the_answer() -> None:
    found = trim_text(
        "Thanks, it arrived today.\n\n"
        "On Mon, Nov 30, 2026 at 10:15 AM Toko Batik <cs@tokobatik.id> wrote:\n\n" + OLD_MAIL
    )
    assert found.reply == "Thanks, it arrived today."
    assert found.quoted.startswith("On Mon, Nov 30, 2026")
    assert "Pesanan #1042" in found.quoted
    assert found.trimmed


@pytest.mark.parametrize(
    "header",
    [
        "Pada Sen, 30 Nov 2026 pukul 10.15, Toko Batik <cs@tokobatik.id> menulis:",
        "Pada tanggal Sen, 30 Nov 2026 10.15, Toko Batik <cs@tokobatik.id> menulis:",
        # Gmail wraps a long header line.
        "Pada tanggal Sen, 30 Nov 2026 10.15, Toko Batik Nusantara <\ncs@tokobatik.id> menulis:",
        "Pada Senin, 30 November 2026 10.15.00 WIB, Toko Batik <cs@tokobatik.id> menulis:",
    ],
)
def test_indonesian_reply_headers_start_the_quote(header: str) -> None:
    found = trim_text(f"Barangnya belum sampai, Kak.\nMohon dicek ya.\n\n{header}\n\n{OLD_MAIL}")
    assert found.reply == "Barangnya belum sampai, Kak.\nMohon dicek ya."
    assert "Pesanan #1042" in found.quoted


def test_indonesian_outlook_header_block_starts_the_quote() -> None:
    found = trim_text(
        "Sudah saya transfer tadi pagi.\n\n"
        "________________________________\n"
        "Dari: Toko Batik <cs@tokobatik.id>\n"
        "Dikirim: Senin, 30 November 2026 10.15\n"
        "Kepada: Siti Rahayu <siti@contoh.id>\n"
        "Subjek: Re: [#1042] Pesanan belum sampai\n\n"
        "Halo Bu Siti, mohon kirim bukti transfer."
    )
    assert found.reply == "Sudah saya transfer tadi pagi."
    assert found.quoted.startswith("____")
    assert "mohon kirim bukti transfer" in found.quoted


def test_english_outlook_block_without_a_rule_starts_the_quote() -> None:
    found = trim_text(
        "Outlook with a reply\n\n"
        "From: Toko Batik [mailto:cs@tokobatik.id]\n"
        "Sent: Monday, November 30, 2026 10:15 AM\n"
        "To: Siti Rahayu\n"
        "Subject: Order\n\n"
        "Old text"
    )
    assert found.reply == "Outlook with a reply"


def test_shipping_details_that_look_like_header_fields_are_content() -> None:
    text = (
        "Tolong kirim ulang ya.\nDari: Jakarta Barat\nKepada: Surabaya\nTanggal: 5 Desember\n"
        "Terima kasih"
    )
    assert trim_text(text) == Trimmed(reply=text)


@pytest.mark.parametrize("marker", ["-----Original Message-----", "-----Pesan Asli-----"])
def test_original_message_markers_start_the_quote(marker: str) -> None:
    found = trim_text(f"Oke, saya tunggu.\n\n{marker}\nDari: cs@tokobatik.id\nIsi lama")
    assert found.reply == "Oke, saya tunggu."
    assert found.quoted.startswith(marker)


@pytest.mark.parametrize(
    "line",
    [
        "Sent from my iPhone",
        "Dikirim dari iPhone saya",
        "Dikirim dari Yahoo Mail di Android",
        "Sent from Yahoo Mail on Android",
        "Get Outlook for Android",
    ],
)
def test_mobile_signatures_are_cut_as_signature(line: str) -> None:
    found = trim_text(f"Siap, terima kasih.\n\n{line}\n")
    assert found.reply == "Siap, terima kasih."
    assert found.signature == line
    assert found.quoted == ""


def test_a_sentence_about_sending_from_a_phone_is_content() -> None:
    text = (
        "The notification was sent from my iPhone app to all users.\n\n"
        "Sent from my iPhone app to every customer of the shop yesterday evening.\n\n"
        "Dikirim dari gudang Jakarta kemarin, tapi belum sampai."
    )
    assert trim_text(text) == Trimmed(reply=text)


def test_signature_delimiter_cuts_the_signature() -> None:
    found = trim_text("Baik, saya tunggu kabarnya.\n-- \nSiti Rahayu\n0812-3456-7890")
    assert found.reply == "Baik, saya tunggu kabarnya."
    assert found.signature == "-- \nSiti Rahayu\n0812-3456-7890"


def test_mobile_signature_above_the_quote_and_the_quote_are_both_cut() -> None:
    found = trim_text(
        "Ok\n\nDikirim dari iPhone saya\n\n"
        "> Pada 30 Nov 2026, pukul 10.15, Toko Batik <cs@tokobatik.id> menulis:\n" + OLD_MAIL
    )
    assert found.reply == "Ok"
    assert found.signature == "Dikirim dari iPhone saya"
    assert "Pesanan #1042" in found.quoted


def test_quoted_lines_at_the_end_are_cut_without_a_header() -> None:
    found = trim_text(f"Terima kasih infonya.\n\n{OLD_MAIL}\n")
    assert found.reply == "Terima kasih infonya."
    assert found.quoted == OLD_MAIL


def test_answer_below_the_quote_is_the_reply() -> None:
    found = trim_text(
        "On Mon, Nov 30, 2026 at 10:15 AM Toko Batik <cs@tokobatik.id> wrote:\n"
        f"{OLD_MAIL}\n\nYes, the blue one please."
    )
    assert found.reply == "Yes, the blue one please."
    assert "Pesanan #1042" in found.quoted


def test_interleaved_answers_keep_the_quotes_they_answer() -> None:
    text = (
        "Halo,\n"
        "Pada 30 Nov 2026 10.15, Toko Batik <cs@tokobatik.id> menulis:\n"
        "> Ukuran apa yang Ibu mau?\n\n"
        "Ukuran M.\n\n"
        "> Warna?\n\n"
        "Biru, dan tolong dibungkus kado.\n"
        "Kalau bisa dikirim besok.\n"
        "Terima kasih banyak."
    )
    assert trim_text(text).reply == text


def test_a_greeting_below_the_quote_stays_with_the_answer() -> None:
    found = trim_text(
        "Test reply\n\nOn 04/19/2011 07:10 AM, Roman Tkachenko wrote:\n\n>\n> Test\n\n"
        "Regards, Roman"
    )
    assert found.reply == "Test reply\n\nRegards, Roman"
    assert "> Test" in found.quoted


@pytest.mark.parametrize(
    "marker", ["---------- Forwarded message ---------", "---------- Pesan terusan ---------"]
)
def test_a_forwarded_mail_below_the_text_is_content(marker: str) -> None:
    text = (
        f"Tolong dibantu, ini dari kurir.\n\n{marker}\n"
        "From: Kurir Kilat <noreply@kurir.id>\nDate: Mon, 30 Nov 2026 at 09:00\n"
        "Subject: Paket tertahan\nTo: siti@contoh.id\n\nPaket Anda tertahan di gudang."
    )
    assert trim_text(text) == Trimmed(reply=text)


def test_a_forward_at_the_top_shows_the_forwarded_text() -> None:
    found = trim_text(
        "---------- Forwarded message ----------\nFrom: Some One <foo@bar.com>\n"
        "Date: Thu, Jan 28, 2016 at 4:00 PM\nSubject: Some subject\nTo: cs@tokobatik.id\n\n\n"
        "This is a forwarded email."
    )
    assert found.reply == "This is a forwarded email."


def test_a_mail_that_is_only_a_quote_is_shown_whole() -> None:
    text = "Pada 30 Nov 2026 10.15, Toko Batik <cs@tokobatik.id> menulis:\n" + OLD_MAIL
    assert trim_text(text) == Trimmed(reply=text)


@pytest.mark.parametrize("text", ["", "   \n\n", "-- \n", "Sent from my iPhone"])
def test_never_an_empty_reply_for_a_mail_with_content(text: str) -> None:
    assert trim_text(text).reply == (text.strip("\n").rstrip() if text.strip() else text)


def test_windows_line_ends_are_read() -> None:
    found = trim_text(
        "Oke.\r\n\r\nOn Mon, Nov 30, 2026 at 10:15 AM Budi <b@c.id> wrote:\r\n> x\r\n"
    )
    assert found.reply == "Oke."


def test_long_mails_are_read_up_to_the_line_cap() -> None:
    body = "\n".join(f"baris {n}" for n in range(MAX_LINES + 50))
    late_quote = f"{body}\n\nOn Mon, Nov 30, 2026 at 10:15 AM Budi <b@c.id> wrote:\n> x"
    # The header below the cap is never looked at: the whole mail is the reply.
    assert trim_text(late_quote).reply == late_quote
    early = f"Oke.\n\nOn Mon, Nov 30, 2026 at 10:15 AM Budi <b@c.id> wrote:\n{body}"
    found = trim_text(early)
    assert found.reply == "Oke."
    assert found.quoted.endswith(f"baris {MAX_LINES + 49}")


@pytest.mark.parametrize(
    "text",
    [
        "bq" * 100,
        "On " + "a" * 100_000 + " wrote:",
        ("On 2020 x " * 30 + "\n") * 1500,
        ("a@b " * 99 + "wrote x\n") * 1500,
        ("> " * 200 + "\n") * 2000,
        ("From: " * 60 + "\n") * 1500,
    ],
)
def test_hostile_bodies_come_back(text: str) -> None:
    # Linear patterns only: these finish at once (the timing itself is benchmarked, not tested).
    assert trim_text(text).reply


def test_a_reply_and_its_header_on_one_line_are_split() -> None:
    found = trim_text("reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:\n> Hi")
    assert found.reply == "reply"


# --- HTML ----------------------------------------------------------------------------------
GMAIL = (
    '<div dir="ltr">Barangnya sudah sampai, terima kasih!</div><br>'
    '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">Pada Sen, 30 Nov 2026 pukul '
    "10.15 Toko Batik &lt;cs@tokobatik.id&gt; menulis:<br></div>"
    '<blockquote class="gmail_quote">Pesanan #1042 sudah kami kirim.</blockquote></div>'
)


def test_gmail_html_quote_is_cut_by_its_container() -> None:
    kept = trim_raw_html(GMAIL)
    assert kept is not None
    assert "Barangnya sudah sampai" in kept
    assert "Pesanan #1042" not in kept
    assert "menulis" not in kept


def test_gmail_forward_is_not_cut() -> None:
    forward = (
        "<div>FYI</div>"
        '<div class="gmail_quote">---------- Forwarded message ---------<br>From: Kurir'
        "<blockquote>Paket tertahan</blockquote></div>"
    )
    assert trim_raw_html(forward) is None


def test_outlook_html_quote_is_cut_at_its_reply_section() -> None:
    outlook = (
        "<div>Sudah saya transfer.</div>"
        '<div id="appendonsend"></div><hr style="display:inline-block;width:98%">'
        '<div id="divRplyFwdMsg"><b>Dari:</b> Toko Batik &lt;cs@tokobatik.id&gt;<br>'
        "<b>Dikirim:</b> Senin, 30 November 2026 10.15<br><b>Subjek:</b> Pesanan</div>"
        "<div>Mohon kirim bukti transfer.</div>"
    )
    kept = trim_raw_html(outlook)
    assert kept is not None
    assert "Sudah saya transfer." in kept
    assert "bukti transfer" not in kept


def test_sanitised_html_is_cut_at_the_reply_header_and_blockquote() -> None:
    # Sanitising drops Gmail's classes: the header text and the blockquote still tell.
    stored = parse.sanitize_html(GMAIL)
    assert "gmail_quote" not in stored
    kept = trim_html(stored)
    assert kept is not None
    assert "Barangnya sudah sampai" in kept
    assert "Pesanan #1042" not in kept


def test_outlook_header_block_in_sanitised_html_is_cut() -> None:
    stored = parse.sanitize_html(
        "<p>Hi. I am fine.</p><p>Thanks,<br>Alex</p><hr>"
        "<p><b>From:</b> Alexander L [mailto:abc@example.com]<br><b>Sent:</b> Friday, June 27, "
        "2014 12:06 PM<br><b>To:</b> Alexander<br><b>Subject:</b> Test message</p>"
        "<p>Hello! How are you?</p>"
    )
    kept = trim_html(stored)
    assert kept is not None
    assert "Thanks," in kept
    assert "How are you" not in kept


def test_html_without_a_quote_is_not_cut() -> None:
    assert trim_html("<p>Halo, apakah batik tulis ukuran M masih ada?</p>") is None
    assert trim_html("<blockquote>Only a quote</blockquote>") is None
    assert trim_html("") is None


def test_cut_html_is_sanitised_and_balanced() -> None:
    kept = trim_raw_html(
        '<div><div>Reply <script>alert(1)</script><img src=x onerror="alert(2)">'
        "<div>On Mon, Nov 30, 2026 at 10:15 AM Budi &lt;b@c.id&gt; wrote:</div>"
        "<blockquote><div>old</div></blockquote>"
    )
    assert kept is not None
    assert "script" not in kept
    assert "onerror" not in kept
    assert "old" not in kept
    assert kept.count("<div>") == kept.count("</div>")


def test_hostile_html_comes_back() -> None:
    assert trim_html("<div>" * 5000 + "x" + "<blockquote>q</blockquote>" * 2000) is not None
    assert trim_html("<p>Hi</p>" + "<p>On 2020 text</p>" * 5000) is None
