"""What Loket extracts from the corpus mails, compared with the answers their authors wrote.

Per corpus the share of mails whose checked facts all match is a pass rate; it must not drop
below the floor committed in ``corpus_floors.json`` (raise the floor when the parser improves).
Regenerate the table in ``docs/email-corpus.md`` with:

    .venv/bin/python -m loket.channels.email.tests.test_corpus_expected
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loket.channels.email import parse
from loket.channels.email.inbound import UnreadableMail, parse_mail
from loket.channels.email.tests.corpus import CORPUS
from loket.channels.items import InboundMessage

FLOORS = json.loads((Path(__file__).with_name("corpus_floors.json")).read_text())


def _norm(value: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", value)).strip()


def _parse(path: Path) -> InboundMessage | None:
    try:
        return parse_mail(path.read_bytes())
    except UnreadableMail:
        return None


def _chatwoot(base: Path) -> list[tuple[str, list[str]]]:
    data = json.loads((base / "expected.json").read_text())
    results = []
    for name, exp in data["expectations"].items():
        path = base / name if (base / name).exists() else base / "fixtures" / name
        got = _parse(path)
        wrong: list[str] = []
        if got is None:
            wrong.append("unreadable")
        else:
            if "subject" in exp and _norm(got.subject) != _norm(exp["subject"]):
                wrong.append("subject")
            if "sender_email_lowercased" in exp and (
                got.sender.value.lower() != exp["sender_email_lowercased"]
            ):
                wrong.append("from")
            if "attachment_count" in exp:
                visible = [a for a in got.attachments if not a.meta.get("cid")]
                if len(visible) != exp["attachment_count"]:
                    wrong.append("attachment_count")
            if "reply_text_starts_with" in exp and not got.text:
                wrong.append("text")
        results.append((name, wrong))
    return results


def _django_helpdesk(base: Path) -> list[tuple[str, list[str]]]:
    data = json.loads((base / "expected.json").read_text())
    results = []
    for name, exp in data["expectations"].items():
        got = _parse(base / "test_files" / name)
        wrong: list[str] = []
        if got is None:
            wrong.append("unreadable")
        else:
            title = exp.get("title", "")
            if title.endswith("...") and len(title) >= 200:  # django-helpdesk truncates at 200
                ok = _norm(got.subject).startswith(_norm(title[:-3]))
            else:
                ok = not title or _norm(got.subject) == _norm(title)
            if not ok:
                wrong.append("title")
            if "description" in exp and _norm(exp["description"]) not in _norm(got.text):
                wrong.append("description")
            if "description_contains" in exp and _norm(exp["description_contains"]) not in _norm(
                got.text
            ):
                wrong.append("description_contains")
            if exp.get("description_stripped") == "" and got.text.strip():
                wrong.append("blank description")
        results.append((name, wrong))
    return results


def _stalwart_names(part: dict[str, Any]) -> str:
    for header in part["headers"]:
        if header["name"] in ("content_disposition", "content_type"):
            value = (
                header["value"].get("ContentType") or {}
                if isinstance(header["value"], dict)
                else {}
            )
            for attr in value.get("attributes") or []:
                if attr["name"] in ("filename", "name"):
                    # Loket keeps a file name, never a path (``/u/nsb/x.ps`` is ``x.ps``).
                    return str(attr["value"]).replace("\\", "/").rsplit("/", 1)[-1]
    return ""


def _stalwart(base: Path) -> list[tuple[str, list[str]]]:
    results = []
    for answer in sorted(base.glob("*/*.json")):
        mail = answer.with_suffix(".eml")
        if not mail.exists():
            continue
        exp = json.loads(answer.read_text())
        # MIME only: many of these test mails have no sender, which Loket needs for a ticket.
        got = parse.parse(mail.read_bytes())
        wrong: list[str] = []
        parts = exp["parts"]
        names = sorted(n for n in (_stalwart_names(parts[i]) for i in exp["attachments"]) if n)
        if len(got.attachments) != len(exp["attachments"]):
            wrong.append("attachment_count")
        elif names and sorted(a.name for a in got.attachments if a.name in names) != names:
            wrong.append("attachment_names")
        texts = [parts[i]["body"].get("Text") for i in exp["text_body"]]
        first = next((t for t in texts if isinstance(t, str) and t.strip()), "")
        if first and _norm(first)[:200] not in _norm(got.text):
            wrong.append("text")
        results.append((f"{answer.parent.name}/{mail.name}", wrong))
    return results


def _spamscope(base: Path) -> list[tuple[str, list[str]]]:
    data = json.loads((base / "expected.json").read_text())
    results = []
    for name, exp in data["expectations"].items():
        sender = exp.get("from") or exp.get("headers", {}).get("From")
        if not sender and "attachment_count" not in exp:
            continue
        got = _parse(base / "mails" / name)
        wrong: list[str] = []
        if got is None:
            wrong.append("unreadable")
        else:
            if sender and (got.sender.name, got.sender.value.lower()) != (
                sender[0][0],
                sender[0][1].lower(),
            ):
                wrong.append("from")
            if "attachment_count" in exp and len(got.attachments) != exp["attachment_count"]:
                wrong.append("attachment_count")
        results.append((name, wrong))
    return results


def _stalwart_addresses(base: Path) -> list[tuple[str, list[str]]]:
    """The first mailbox of each address-header case, read as a From header by ``parse.address``
    (groups and empty lists are left out: a sender is one mailbox)."""
    results = []
    for number, case in enumerate(json.loads((base / "address.json").read_text())):
        expected = case["expected"]
        mailboxes = expected.get("List") if isinstance(expected, dict) else None
        if not mailboxes or "@" not in (mailboxes[0].get("address") or ""):
            continue
        header = case["header"].rstrip("\n")
        msg = parse.message_from_bytes(f"From:{header}\n\nx\n".encode(), [])
        name, address = parse.address(msg, "From", [])
        want = (mailboxes[0]["name"] or "", mailboxes[0]["address"])
        wrong = [] if (_norm(name), address) == (_norm(want[0]), want[1]) else ["address"]
        results.append((f"address.json#{number}", wrong))
    return results


CHECKS: dict[str, Callable[[Path], list[tuple[str, list[str]]]]] = {
    "chatwoot": _chatwoot,
    "django-helpdesk": _django_helpdesk,
    "spamscope-mail-parser": _spamscope,
    "stalwart-mail-parser": _stalwart,
    "stalwart-mail-parser/header-fields": _stalwart_addresses,
}


def rate(name: str) -> tuple[float, list[tuple[str, list[str]]]]:
    results = CHECKS[name](CORPUS / name)
    passed = sum(1 for _, wrong in results if not wrong)
    return (passed / len(results) if results else 0.0), results


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_pass_rate_does_not_drop_below_the_floor(name: str) -> None:
    if not (CORPUS / name).is_dir():
        pytest.skip(f"e-mail corpus folder {CORPUS / name} is absent")
    value, results = rate(name)
    assert results, f"no expected values found for {name}"
    failing = "\n".join(f"{mail}: {', '.join(wrong)}" for mail, wrong in results if wrong)
    assert value >= FLOORS[name], f"{name}: {value:.2%} < floor {FLOORS[name]:.2%}\n{failing}"


if __name__ == "__main__":
    print("| corpus | mails checked | passed | pass rate | floor |")
    print("|---|---|---|---|---|")
    failing: list[str] = []
    for corpus in sorted(CHECKS):
        value, results = rate(corpus)
        passed = sum(1 for _, wrong in results if not wrong)
        print(f"| {corpus} | {len(results)} | {passed} | {value:.1%} | {FLOORS[corpus]:.0%} |")
        failing += [f"* {corpus}/{mail}: {', '.join(wrong)}" for mail, wrong in results if wrong]
    print("\nMails that do not pass yet, and which facts differ:\n")
    print("\n".join(failing))
