"""Loket speaks Indonesian first and English second.

The Indonesian catalog translates every string in the source, keeps every placeholder, and the
committed .mo files (so a machine without gettext still translates) say what the .po files say.

When a test here fails after strings were added or changed, from loket/ run:

    LOKET_DATA_DIR=/tmp/i18n ../.venv/bin/python -m loket makemessages -l id -l en \\
        --ignore 'tests/*' --ignore '*/tests/*'

translate the new or "#, fuzzy" entries in locale/id/LC_MESSAGES/django.po (and remove the
fuzzy mark), then `../.venv/bin/python -m loket compilemessages` and commit the .po and .mo.
"""

from __future__ import annotations

import gettext
import io
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from loket.conftest import Shop
from loket.tickets import services
from loket.tickets.models import Status

PACKAGE = Path(__file__).resolve().parents[2]
LOCALE = PACKAGE / "locale"
LANGUAGES = ["id", "en"]
# The same exclusions as the makemessages command in the module docstring.
IGNORE = ["tests/*", "*/tests/*"]


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "django.po"


def mo_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "django.mo"


# --- A small .po reader (the format is simple; no dependency for it) -------------------------


@dataclass
class Entry:
    msgid: str
    msgstrs: list[str]  # one for a singular entry, one per plural form otherwise
    msgctxt: str | None = None
    msgid_plural: str | None = None
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    def where(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(quoted: str) -> str:
    assert len(quoted) >= 2, quoted
    assert quoted[0] == quoted[-1] == '"', quoted
    return re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], quoted[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file, header (msgid "") included, obsolete ("#~") entries left out."""
    entries: list[Entry] = []
    fields: dict[str, str] = {}
    flags: set[str] = set()
    current: str | None = None
    start = 0

    def flush() -> None:
        nonlocal current, flags
        if "msgid" in fields:
            forms = sorted(int(k[7:-1]) for k in fields if k.startswith("msgstr["))
            assert forms == list(range(len(forms))), f"{path}:{start}: plural forms {forms}"
            msgstrs = [fields[f"msgstr[{n}]"] for n in forms] if forms else [fields["msgstr"]]
            entries.append(
                Entry(
                    msgid=fields["msgid"],
                    msgstrs=msgstrs,
                    msgctxt=fields.get("msgctxt"),
                    msgid_plural=fields.get("msgid_plural"),
                    flags=flags,
                    line=start,
                )
            )
        fields.clear()
        flags = set()
        current = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        starts_entry = line.startswith(("#", "msgctxt ", "msgid "))
        if starts_entry and any(k.startswith("msgstr") for k in fields):
            flush()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert current is not None, f"{path}:{number}: a string outside an entry"
            fields[current] += _unquote(line)
        else:
            match = _KEYWORD.match(line)
            assert match, f"{path}:{number}: cannot read {line!r}"
            if not fields:
                start = number
            current = match.group(1)
            fields[current] = _unquote(match.group(3))
    flush()
    return entries


def header(entries: list[Entry]) -> Entry:
    (head,) = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    return head


def messages(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if not (e.msgid == "" and e.msgctxt is None)]


def catalog_of_po(entries: list[Entry]) -> dict[Any, str]:
    """What msgfmt puts in the .mo, keyed as Python's ``GNUTranslations`` keys its catalog."""
    catalog: dict[Any, str] = {}
    for entry in entries:
        if "fuzzy" in entry.flags or not any(entry.msgstrs):
            continue
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if msgid == "":
            # msgfmt leaves out the extraction time (makemessages bumps it on every run).
            lines = entry.msgstrs[0].splitlines(keepends=True)
            catalog[""] = "".join(x for x in lines if not x.startswith("POT-Creation-Date:"))
        elif entry.msgid_plural is None:
            catalog[msgid] = entry.msgstrs[0]
        else:
            for n, msgstr in enumerate(entry.msgstrs):
                catalog[(msgid, n)] = msgstr
    return catalog


def catalog_of_mo(path: Path) -> dict[Any, str]:
    with path.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    # The parsed catalog has no public accessor; it is the one place that lists every entry.
    catalog: dict[Any, str] = vars(compiled)["_catalog"]
    return catalog


# --- What must survive translation ------------------------------------------------------------

_NAMED = re.compile(r"%\((\w+)\)[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
_POSITIONAL = re.compile(r"%(?!\()[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
_BRACES = re.compile(r"\{\w*(?:[.!:][^{}]*)?\}")
_MARKUP = re.compile(r"<[^<>]+>")


def untranslatable_parts(text: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Named placeholders (any order), positional ones (in order), {fields} and markup."""
    text = text.replace("%%", "")
    return (
        sorted(m.group(0) for m in _NAMED.finditer(text)),
        [m.group(0) for m in _POSITIONAL.finditer(text)],
        sorted(_BRACES.findall(text)),
        sorted(_MARKUP.findall(text)),
    )


def test_the_placeholder_reader_itself() -> None:
    named, positional, braces, markup = untranslatable_parts(
        "100%% of %(count)d <b>%(name)s</b>: %s, %.2f {total} Bearer <token>"
    )
    assert named == ["%(count)d", "%(name)s"]
    assert positional == ["%s", "%.2f"]
    assert braces == ["{total}"]
    assert markup == ["</b>", "<b>", "<token>"]
    assert untranslatable_parts("Tag 1 sampai 50 karakter.") == ([], [], [], [])


# --- (a) the Indonesian catalog is complete and faithful ---------------------------------------


def test_the_indonesian_header() -> None:
    entries = parse_po(po_path("id"))
    head = header(entries)
    assert "fuzzy" not in head.flags
    meta = dict(line.split(": ", 1) for line in head.msgstrs[0].splitlines() if ": " in line)
    assert meta["Language"] == "id"
    assert meta["Plural-Forms"] == "nplurals=1; plural=0;"
    assert meta["Content-Type"] == "text/plain; charset=UTF-8"


def test_every_string_has_an_indonesian_translation() -> None:
    entries = messages(parse_po(po_path("id")))
    assert len(entries) > 50, "the catalog looks empty; was it regenerated from the wrong place?"
    untranslated = [e.where() for e in entries if not all(e.msgstrs)]
    fuzzy = [e.where() for e in entries if "fuzzy" in e.flags]
    # Indonesian has one plural form (nplurals=1): a plural entry has exactly msgstr[0].
    plural_forms = [
        e.where() for e in entries if e.msgid_plural is not None and len(e.msgstrs) != 1
    ]
    assert not untranslated, "translate these in locale/id/LC_MESSAGES/django.po"
    assert not fuzzy, "check these guesses of msgmerge, then remove their '#, fuzzy' mark"
    assert not plural_forms, "Indonesian plural entries take msgstr[0] only"


def test_translations_keep_placeholders_and_markup() -> None:
    wrong = []
    for entry in messages(parse_po(po_path("id"))):
        source = entry.msgid if entry.msgid_plural is None else entry.msgid_plural
        for msgstr in entry.msgstrs:
            if msgstr and untranslatable_parts(msgstr) != untranslatable_parts(source):
                wrong.append(f"{entry.where()} -> {msgstr!r}")
    assert not wrong, "placeholders or markup differ between msgid and msgstr"


def test_a_plural_source_uses_the_same_placeholders_in_both_forms() -> None:
    # With one Indonesian form, msgstr[0] also serves n == 1: both English forms must agree.
    differ = [
        e.where()
        for e in messages(parse_po(po_path("id")))
        if e.msgid_plural is not None
        and untranslatable_parts(e.msgid) != untranslatable_parts(e.msgid_plural)
    ]
    assert not differ


# --- (b) the committed .mo files are compiled from the committed .po files -----------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_matches_the_po(language: str) -> None:
    assert mo_path(language).exists(), "run compilemessages and commit the .mo"
    expected = catalog_of_po(parse_po(po_path(language)))
    compiled = catalog_of_mo(mo_path(language))
    stale = sorted(
        repr(k) for k in expected.keys() | compiled.keys() if expected.get(k) != compiled.get(k)
    )
    assert not stale, f"{mo_path(language)} is out of date: run compilemessages and commit it"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="msgfmt (Debian package gettext)")
@pytest.mark.parametrize("language", LANGUAGES)
def test_msgfmt_accepts_the_po_and_agrees_with_this_reader(language: str, tmp_path: Path) -> None:
    # --check-format also refuses a python-format msgstr whose placeholders differ.
    compiled = tmp_path / "django.mo"
    subprocess.run(
        ["msgfmt", "--check", "-o", str(compiled), str(po_path(language))],
        check=True,
        capture_output=True,
    )
    assert catalog_of_mo(compiled) == catalog_of_po(parse_po(po_path(language)))


# --- (c) the catalog holds every string of the source -----------------------------------------


@pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msguniq") is None,
    reason="makemessages needs xgettext and msguniq (Debian package gettext)",
)
def test_the_catalog_holds_every_string_in_the_source(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Extract from a copy, so the committed catalogs are never rewritten by a test run.
    source = tmp_path / "loket"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    settings.LOCALE_PATHS = [source / "locale"]
    monkeypatch.chdir(source)
    call_command(
        "makemessages",
        locale=["id"],
        ignore_patterns=IGNORE,
        keep_pot=True,
        verbosity=0,
        stdout=io.StringIO(),
    )
    in_source = {e.key: e for e in messages(parse_po(source / "locale" / "django.pot"))}
    assert len(in_source) > 50, "extraction found almost nothing; is the copy complete?"
    in_catalog = {e.key for e in messages(parse_po(po_path("id")))}
    missing = [entry.msgid for key, entry in in_source.items() if key not in in_catalog]
    assert not missing, (
        "strings in the source are missing from locale/id/LC_MESSAGES/django.po; "
        "run makemessages (see this module's docstring) and translate them"
    )


# --- (d) what people see ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_service_refusal_speaks_the_agents_language(shop: Shop) -> None:
    ticket = shop.whatsapp_from_dewi("Kak, pesanan saya belum sampai")
    services.set_status(ticket, Status.CLOSED, actor=shop.budi)
    with translation.override("id"), pytest.raises(ValidationError) as refusal:
        services.set_status(ticket, Status.OPEN, actor=shop.budi)
    assert refusal.value.messages == ["Tiket berstatus Ditutup tidak bisa diubah menjadi Terbuka."]
    with translation.override("en"), pytest.raises(ValidationError) as refusal:
        services.set_status(ticket, Status.OPEN, actor=shop.budi)
    assert refusal.value.messages == ["A Closed ticket cannot become Open."]


INDONESIAN_401 = (
    "Token API tidak ada, tidak valid, atau sudah dicabut. Kirim 'Authorization: Bearer <token>'."
)
ENGLISH_401 = "Missing, invalid or revoked API token. Send 'Authorization: Bearer <token>'."


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "message"),
    [
        (None, INDONESIAN_401),
        ("id-ID,id;q=0.9", INDONESIAN_401),
        ("en", ENGLISH_401),
        ("en-US,en;q=0.9,id;q=0.8", ENGLISH_401),
        ("fr-FR", INDONESIAN_401),  # a language Loket does not speak: the default
    ],
)
def test_an_api_error_is_indonesian_unless_english_is_asked_for(
    accept_language: str | None, message: str
) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = Client(headers=headers).get("/api/v1/tickets")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "unauthorized"
    assert body["message"] == message


@pytest.mark.django_db
def test_the_sign_in_page_is_indonesian_by_default() -> None:
    page = Client().get(reverse("web:login")).content.decode()
    assert '<html lang="id">' in page
    assert "Kata sandi" in page
    assert "Password" not in page
    english = Client(headers={"Accept-Language": "en"}).get(reverse("web:login")).content.decode()
    assert '<html lang="en">' in english
    assert "Password" in english
