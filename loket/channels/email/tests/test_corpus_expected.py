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

if __name__ == "__main__":  # run as a module: Django first, the mail code needs the models
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loket.settings")
    django.setup()

from loket.channels.email import parse, trim
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


# --- quote and signature trimming (lessons §5) ------------------------------------------------
def _same(got: str, want: str) -> bool:
    return _norm(got) == _norm(want)


def _above_quote(found: trim.Trimmed) -> str:
    """The reply with its signature: what talon's quotation stripping keeps."""
    return f"{found.reply}\n{found.signature}"


def _discourse(base: Path) -> list[tuple[str, list[str]]]:
    results = []
    for expected in sorted((base / "trimmed").glob("*.txt")):
        mail = base / "emails" / expected.name
        if not mail.exists():
            continue
        found = trim.trim_text(mail.read_text(encoding="utf-8"))
        wrong = [] if _same(found.reply, expected.read_text(encoding="utf-8")) else ["reply"]
        results.append((expected.name, wrong))
    return results


def _zapier(base: Path) -> list[tuple[str, list[str]]]:  # noqa: PLR0912 - one per fact
    data = json.loads((base / "expected.json").read_text())
    results = []
    for name, exp in data["expectations"].items():
        text = (base / "emails" / f"{name}.txt").read_text(encoding="utf-8")
        found = trim.trim_text(text)
        reply, cut = _norm(found.reply), _norm(f"{found.signature}\n{found.quoted}")
        wrong: list[str] = []
        for key in ("reply_equals", "reply_stripped_equals"):
            if key in exp and reply != _norm(exp[key]):
                wrong.append(key)
        wrong += [f"contains {s!r}" for s in exp.get("reply_contains", []) if _norm(s) not in reply]
        wrong += [f"has {s!r}" for s in exp.get("reply_not_contains", []) if _norm(s) in reply]
        fragments = exp.get("fragments", {})
        hidden = fragments.get("hidden")
        checked = bool(set(exp) & {"reply_equals", "reply_stripped_equals", "reply_contains"})
        checked = checked or bool(exp.get("reply_not_contains"))
        if hidden is not None:
            checked = True
            for index, needles in fragments.get("contains", {}).items():
                side = cut if hidden[int(index)] else reply
                wrong += [f"fragment {index} {s!r}" for s in needles if _norm(s) not in side]
            for index, prefix in fragments.get("starts_with", {}).items():
                side = cut if hidden[int(index)] else reply
                if not re.match(prefix, side):
                    wrong.append(f"fragment {index} starts")
            if not any(hidden) and cut:
                wrong.append("cut")
        elif fragments.get("count") == 1:
            checked = True  # one fragment: nothing is quoted or a signature
            if found.trimmed:
                wrong.append("cut")
        elif "max_seconds" in exp:
            checked = True  # must come back (the 1-second budget is a benchmark, not a test)
            if not found.reply:
                wrong.append("reply")
        elif fragments.get("contains"):
            # Without hidden flags: fragment 0 is the reply, the later ones the quote.
            checked = True
            for index, needles in fragments["contains"].items():
                side = reply if index == "0" else cut
                wrong += [f"fragment {index} {s!r}" for s in needles if _norm(s) not in side]
        if checked:
            results.append((name, wrong))
    return results


# crisp's bottom-posted mail: fragment 0 ("Hi,") is followed by more visible fragments (the
# interleaved quote and the answer below it; zapier's copy email_1_2 flags them visible).
_CRISP_INTERLEAVED = frozenset({"email_2.txt"})


def _crisp(base: Path) -> list[tuple[str, list[str]]]:  # noqa: PLR0912 - one per fact
    data = json.loads((base / "expected.json").read_text())
    common = data["common_first_fragment"]
    results = []
    for case in data["cases"]:
        name, exp = case["fixture"], case["expect"]
        text = (base / "fixtures" / name).read_text(encoding="utf-8")
        found = trim.trim_text(text)
        reply, cut = found.reply, f"{found.signature}\n{found.quoted}"
        wrong: list[str] = []
        checked = False
        for key in ("fragment_trimmed_equals", "fragment_equals"):
            for index, value in exp.get(key, {}).items():
                checked = True
                want = common if value == "common_first_fragment" else value
                if index == "0" and name in _CRISP_INTERLEAVED:
                    ok = _norm(reply).startswith(_norm(want))
                else:
                    ok = _same(reply if index == "0" else cut, want)
                if not ok:
                    wrong.append(f"fragment {index}")
        for key in ("visible_text_equals", "visible_text_trimmed_equals"):
            if key in exp:
                checked = True
                if not _same(reply, exp[key]):
                    wrong.append("visible text")
        for rule in exp.get("fragment_regex", []):
            checked = True
            interleaved = name in _CRISP_INTERLEAVED
            visible = rule["fragment"] == 0 or (interleaved and rule["fragment"] < 3)
            side = reply if visible else cut.strip()
            # A later fragment starts on some line of the reply or of the cut text.
            later = interleaved and rule["fragment"] > 0
            flags = re.MULTILINE if rule.get("multiline") or later else 0
            if bool(re.search(rule["pattern"], side, flags)) != rule["must_match"]:
                wrong.append(f"regex {rule['pattern']!r}")
        if exp.get("fragment_count") == 1:
            checked = True
            if found.trimmed:
                wrong.append("cut")
        flags_of = exp.get("flags", {})
        if any(f.get("signature") for f in flags_of.values()) or exp.get(
            "some_fragment_is_signature"
        ):
            checked = True
            if not found.signature:
                wrong.append("signature")
        if exp.get("quoted_text_nonempty"):
            checked = True
            quoted = (
                f"{found.quoted}\n{found.reply}" if name in _CRISP_INTERLEAVED else found.quoted
            )
            if not found.trimmed:
                wrong.append("quoted")
            wrong += [
                f"quoted {r!r}"
                for r in exp.get("quoted_text_regex", [])
                if not re.search(r, quoted)
            ]
        if exp.get("flag_lists", {}).get("hidden"):
            checked = True
            if any(exp["flag_lists"]["hidden"][1:]) and not found.trimmed:
                wrong.append("cut")
        if checked:
            results.append((f"{name} ({case['source_test']})", wrong))
    return results


def _talon(base: Path) -> list[tuple[str, list[str]]]:  # noqa: PLR0912 - one per fact
    results: list[tuple[str, list[str]]] = []
    standard = json.loads((base / "expected_standard_replies.json").read_text())
    for name, want in standard["expected_reply_text"].items():
        got = parse.parse((base / "fixtures" / "standard_replies" / name).read_bytes())
        found = trim.trim_text(got.text)
        results.append(
            (f"standard_replies/{name}", [] if _same(_above_quote(found), want) else ["reply"])
        )
    files = json.loads((base / "expected_fixture_files.json").read_text())
    html_replies = files["html_replies"]
    for name in html_replies["files"]:
        wrong = _html_case(
            (base / "fixtures" / name).read_text(encoding="utf-8", errors="replace"),
            html_replies["expected_text"],
            expected_is_html=False,
        )
        results.append((name, wrong))
    for case in files["html_special"]:
        source = (base / "fixtures" / case["file"]).read_text(encoding="utf-8", errors="replace")
        if "expected" in case:
            results.append((case["file"], _html_case(source, case["expected"])))
        else:
            found = trim.trim_text(source)
            ok = bool(found.reply.strip()) and "From" not in found.reply
            results.append((case["file"], [] if ok else ["reply"]))
    for case in json.loads((base / "inline_cases.json").read_text())["cases"]:
        if case["talon_test_decorators"]:
            continue  # patched limits or mocks: not a fact about the text
        function, source, want = case["talon_function"], case["input"], case["expected"]
        if function.endswith("extract_from") and isinstance(source, list):
            source, kind = source
            function = "extract_from_html" if kind == "text/html" else "extract_from_plain"
        if not isinstance(source, str):
            continue
        if function == "quotations.extract_from_html":
            wrong = _html_case(source, want)
        elif function == "quotations.extract_from_plain":
            wrong = [] if _same(_above_quote(trim.trim_text(source)), want) else ["reply"]
        elif function.endswith("extract_signature"):
            found = trim.trim_text(source)
            body, signature = want
            wrong = [] if _same(found.reply, body) else ["reply"]
            if not _same(found.signature, signature or ""):
                wrong.append("signature")
        else:
            continue
        results.append((case["id"], wrong))
    return results


def _html_case(source: str, want: str, *, expected_is_html: bool = True) -> list[str]:
    """Talon's HTML rule: the reply, as text, equals the expected one ignoring all whitespace."""
    kept = trim.trim_raw_html(source) or source
    got = re.sub(r"\s+", "", parse.html_to_text(kept))
    expected = parse.html_to_text(want) if expected_is_html else want
    return [] if got == re.sub(r"\s+", "", expected) else ["reply"]


CHECKS: dict[str, Callable[[Path], list[tuple[str, list[str]]]]] = {
    "chatwoot": _chatwoot,
    "crisp-email-reply-parser": _crisp,
    "discourse-email-reply-trimmer": _discourse,
    "email-reply-parser": _zapier,
    "django-helpdesk": _django_helpdesk,
    "spamscope-mail-parser": _spamscope,
    "stalwart-mail-parser": _stalwart,
    "stalwart-mail-parser/header-fields": _stalwart_addresses,
    "talon": _talon,
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
