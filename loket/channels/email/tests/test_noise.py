"""Automated mail is recognised: auto-replies are never answered, bounces point at our mail."""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import Any

import pytest

from loket.channels.email.noise import auto_reply, bounce
from loket.channels.email.tests.corpus import folder

HUMAN = b"From: Ayu <ayu@example.id>\nTo: cs@batiksari.id\nSubject: Kain batik\n\nHalo, ada stok?\n"

# Measured on the sisimai set; a lower count is a regression. Raise them as the rules improve.
SISIMAI_AUTOMATED_FLOOR = 623  # of 629 bounce, vacation and abuse-report mails
SISIMAI_STATUS_FLOOR = 410  # of 457 comparable recipient status codes
SISIMAI_RECIPIENT_COUNT_FLOOR = 524  # of 561 bounces: as many failed recipients as sisimai
SISIMAI_MESSAGE_ID_FLOOR = 494  # of 561 bounces: the returned Message-ID found


def _with_header(line: str) -> bytes:
    """The human mail with ``line`` added, replacing a header of the same name."""
    head, _, body = HUMAN.partition(b"\n\n")
    name = line.split(":", 1)[0].lower().encode()
    kept = [h for h in head.split(b"\n") if h.split(b":", 1)[0].lower() != name]
    return b"\n".join([*kept, line.encode()]) + b"\n\n" + body


def test_a_person_s_mail_is_neither_automated_nor_a_bounce() -> None:
    assert auto_reply(HUMAN) == ""
    assert bounce(HUMAN) is None


def test_auto_submitted_no_means_a_person_sent_it() -> None:
    assert auto_reply(_with_header("Auto-Submitted: no")) == ""
    assert "auto-replied" in auto_reply(_with_header("Auto-Submitted: auto-replied"))


@pytest.mark.parametrize(
    "line",
    [
        "Precedence: bulk",
        "Precedence: junk",
        "Precedence: list",
        "X-Autoreply: yes",
        "X-AMAZON-MAIL-RELAY-TYPE: NOTIFICATION",
        "X-Loop: yes",
        "List-Id: <kabar.batiksari.id>",
        "List-Unsubscribe: <mailto:leave@example.id>",
        "X-Auto-Response-Suppress: All",
        "X-Apple-Action: VACATION",
        "From: Toko Online <no-reply@toko.example>",
        "From: noreply-pesanan@toko.example",
    ],
)
def test_machine_headers_mark_the_mail_automated(line: str) -> None:
    assert auto_reply(_with_header(line))


def test_a_parsed_message_is_accepted_too() -> None:
    msg = EmailMessage()
    msg["From"] = "ayu@example.id"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("Saya sedang cuti.")
    assert auto_reply(msg) == "Auto-Submitted: auto-generated"


def _osticket() -> Any:
    return json.loads((folder("osticket-header-cases") / "expected.json").read_text())


def test_osticket_auto_reply_lines() -> None:
    for line in _osticket()["auto_reply_header_lines"]:
        assert auto_reply(_with_header(line)), line


def test_osticket_bounce_lines() -> None:
    for line in _osticket()["bounce_header_lines"]:
        mail = _with_header(line)
        assert bounce(mail) is not None, line
        assert auto_reply(mail), line


RFC3464 = b"""\
From: Mail Delivery System <MAILER-DAEMON@mx.example.id>
To: cs@batiksari.id
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.id

Final-Recipient: rfc822; tidak.ada@example.id
Original-Recipient: rfc822;tidak.ada@example.id
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <tidak.ada@example.id>: Recipient address rejected

Final-Recipient: rfc822; penuh@example.id
Action: delayed
Status: 4.2.2

--B
Content-Type: text/rfc822-headers

From: cs@batiksari.id
To: tidak.ada@example.id
Message-ID: <ticket.42.7@batiksari.id>
Subject: Pesanan Anda

--B--
"""


def test_a_delivery_status_report_is_read_per_recipient() -> None:
    found = bounce(RFC3464)
    assert found is not None
    assert found.structured
    assert found.original_message_id == "<ticket.42.7@batiksari.id>"
    failed, delayed = found.recipients
    assert (failed.address, failed.action, failed.status) == (
        "tidak.ada@example.id",
        "failed",
        "5.1.1",
    )
    assert "Recipient address rejected" in failed.diagnostic
    assert failed.permanent
    assert (delayed.address, delayed.status, delayed.permanent) == (
        "penuh@example.id",
        "4.2.2",
        False,
    )


def test_a_generic_status_is_made_precise_by_the_diagnostic() -> None:
    report = RFC3464.replace(b"Status: 5.1.1", b"Status: 5.0.0").replace(
        b"550 5.1.1 <tidak", b"550 5.7.1 <tidak"
    )
    found = bounce(report)
    assert found is not None
    assert found.recipients[0].status == "5.7.1"


def test_a_bounce_without_a_sender_does_not_crash() -> None:
    mail = b"From: <>\nSubject: failure notice\n\nSorry, I couldn't deliver it.\n"
    found = bounce(mail)
    assert found is not None
    assert found.original_message_id == ""


def _sisimai_status(expected: dict[str, Any]) -> str:
    """The expected status when it is an RFC 3463 code (sisimai's x.0.9xx codes are its own)."""
    status = str(expected["status"])
    if not status or expected["reason"] in {"vacation", "feedback"}:
        return ""
    return "" if int(status.split(".")[2]) >= 900 else status


def test_sisimai_bounces_and_auto_replies() -> None:
    base = folder("sisimai-set-of-emails")
    files = json.loads((base / "expected.json").read_text())["files"]
    automated = status_total = status_right = bounces = same_count = with_id = 0
    mails = sorted((base / "maildir-bsd").glob("*.eml"))
    for path in mails:
        raw = path.read_bytes()
        found = bounce(raw)
        automated += bool(found or auto_reply(raw))
        table = files.get(path.name, {}).get("expected", [])
        if table and not any(e["reason"] in {"vacation", "feedback"} for e in table):
            bounces += 1
            same_count += bool(found and len(found.recipients) == len(table))
            with_id += bool(found and found.recipients and found.original_message_id)
        for expected in table:
            status = _sisimai_status(expected)
            if not status:
                continue
            status_total += 1
            index = expected["recipient_index"] - 1
            status_right += bool(
                found and index < len(found.recipients) and found.recipients[index].status == status
            )
    print(
        f"sisimai: automated {automated}/{len(mails)}, status {status_right}/{status_total}, "
        f"recipient count {same_count}/{bounces}, Message-ID {with_id}/{bounces}"
    )
    assert len(mails) == 629
    assert automated >= SISIMAI_AUTOMATED_FLOOR
    assert status_right >= SISIMAI_STATUS_FLOOR
    assert same_count >= SISIMAI_RECIPIENT_COUNT_FLOOR
    assert with_id >= SISIMAI_MESSAGE_ID_FLOOR


def test_sisimai_mails_that_are_not_bounces() -> None:
    base = folder("sisimai-set-of-emails") / "maildir-not"
    for name in ("is-not-bounce-01.eml", "is-not-bounce-02.eml"):
        raw = (base / name).read_bytes()
        assert auto_reply(raw) == "", name
        assert bounce(raw) is None, name
    # sisimai keeps this one as "not a bounce" for a parser bug it once had, yet it is an
    # Auto-Submitted notice from postmaster saying a mailbox was full: automated for us.
    assert auto_reply((base / "rb-issue-368-bug.eml").read_bytes())


def test_chatwoot_auto_reply_verdicts() -> None:
    base = folder("chatwoot")
    expected = json.loads((base / "expected.json").read_text())["expectations"]
    verdicts = {
        name: facts["auto_reply"] for name, facts in expected.items() if "auto_reply" in facts
    }
    assert len(verdicts) >= 4
    for name, automated in verdicts.items():
        assert bool(auto_reply((base / "fixtures" / name).read_bytes())) == automated, name
