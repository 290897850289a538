"""Full-text search over ticket subjects and message text: one service, two engines.

- SQLite: an FTS5 table (``unicode61 remove_diacritics 2``).
- PostgreSQL: a table of two ``tsvector`` columns with GIN indexes (``simple`` lexemes).

Both are created by migration ``tickets/0002_search`` and hold one row per message (and one per
ticket subject) with two columns: ``body``, the folded text, and ``stems``, the Indonesian stems
of those words that have one (``pengiriman`` -> ``kirim``). Folding (NFKD, combining marks
dropped, case-folded) and stemming happen here in Python, so both engines see the same words
and answer the same queries; docs/adr/0002-search.md says why.

Rows are keyed by ``ticket id << 32 | message id``: the ticket of a hit comes from the key
alone, without reading the row back, and a ticket's rows sit together.

A query is a list of terms; a ticket matches when *every* term matches somewhere in it (its
subject or any of its messages, notes included). A word matches as a prefix of a word
(``kirim`` finds ``kiriman``) or by stem (``kirim`` finds ``dikirim``, ``pengiriman``);
``"quoted words"`` match as an exact phrase; ``#1042`` is ticket 1042; a phone number or an
email address also matches the tickets of the customer it belongs to. Nothing the user types
is ever passed to the engine's query language as syntax: ``AND``, ``*`` or a stray quote are
just text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import BigIntegerField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.html import strip_tags

from loket.contacts.models import Identity, IdentityKind
from loket.core.phone import InvalidPhone, normalize_phone
from loket.tickets.stemmer_id import ROOTS, stems

if TYPE_CHECKING:
    from loket.tickets.models import Message, Ticket

TABLE = "tickets_search"
# Text past this many characters of one message is not indexed (a pasted log, a long thread
# quoted in full); it keeps PostgreSQL's tsvector well under its 1 MB limit.
MAX_INDEXED_CHARS = 100_000
# Longer "words" are base64 blobs and the like: not worth an index entry.
MAX_WORD = 64
# A query with more terms than this is cut to its first terms.
MAX_TERMS = 16
# Words shorter than this match whole words only ("di" must not find every "dikirim").
MIN_PREFIX = 3

_WORD = re.compile(r"[^\W_]+")
_LOW32 = 0xFFFFFFFF


# --- text -------------------------------------------------------------------------------------
def fold(text: str) -> str:
    """Lower case without diacritics: ``Café`` -> ``cafe``, ``ÉLÈVE`` -> ``eleve``."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of ``text``, as both engines index them."""
    return [w for w in _WORD.findall(fold(text)) if len(w) <= MAX_WORD]


def stem_words(tokens: Iterable[str]) -> list[str]:
    """The stems of the words that have one different from the word itself."""
    out: list[str] = []
    for token in tokens:
        found = stems(token)
        if found != (token,):
            out.extend(found)
    return out


def key(ticket_id: int, message_id: int | None) -> int:
    """The row key: the ticket in the high 32 bits; the subject row has 0 in the low ones."""
    if not 0 < ticket_id < 2**31:
        raise ValueError(f"ticket id out of range for the search index: {ticket_id}")
    low = 0 if message_id is None else message_id % _LOW32 + 1
    return (ticket_id << 32) | low


@dataclass(frozen=True)
class Row:
    """One indexed document: a ticket's subject or one message."""

    ticket_id: int
    message_id: int | None
    text: str


def message_text(subject: str, text: str, html: str) -> str:
    body = text if text.strip() else strip_tags(html)
    return f"{subject}\n{body}" if subject else body


# --- writing ----------------------------------------------------------------------------------
def index_message(message: Message, *, ticket: Ticket | None = None) -> None:
    """Make a message's text findable (and the subject of ``ticket``, a new ticket it opened,
    in the same statement). Runs in the caller's transaction."""
    rows = [
        Row(
            message.ticket_id, message.pk, message_text(message.subject, message.text, message.html)
        )
    ]
    if ticket is not None:
        rows.append(Row(ticket.pk, None, ticket.subject))
    index_rows(rows)


def index_ticket(ticket: Ticket) -> None:
    """Make a ticket's subject findable. Runs in the caller's transaction."""
    index_rows([Row(ticket.pk, None, ticket.subject)])


def forget_ticket(ticket_id: int) -> None:
    """Drop a ticket's rows (call before deleting a ticket; ``reindex_all`` also tidies up)."""
    low, high = key(ticket_id, None), key(ticket_id, None) | _LOW32
    column = "rowid" if connection.vendor == "sqlite" else "id"
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE {column} BETWEEN %s AND %s", [low, high])  # noqa: S608


def index_rows(rows: Sequence[Row]) -> None:
    """Write (or replace) index rows: the hooks' and the bulk loaders' one path."""
    if not rows:
        return
    if connection.vendor == "sqlite":
        sql = (
            f"INSERT OR REPLACE INTO {TABLE} (rowid, ticket_id, message_id, body, stems) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s)"
        )
        params: list[tuple[Any, ...]] = []
        for row in rows:
            text = fold(row.text[:MAX_INDEXED_CHARS])
            stemmed = " ".join(stem_words(w for w in _WORD.findall(text) if len(w) <= MAX_WORD))
            params.append(
                (key(row.ticket_id, row.message_id), row.ticket_id, row.message_id, text, stemmed)
            )
    elif connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {TABLE} (id, ticket_id, message_id, body, stems) "  # noqa: S608
            "VALUES (%s, %s, %s, %s::tsvector, %s::tsvector) "
            "ON CONFLICT (id) DO UPDATE SET ticket_id = excluded.ticket_id, "
            "message_id = excluded.message_id, body = excluded.body, stems = excluded.stems"
        )
        params = []
        for row in rows:
            tokens = words(row.text[:MAX_INDEXED_CHARS])
            params.append(
                (
                    key(row.ticket_id, row.message_id),
                    row.ticket_id,
                    row.message_id,
                    _tsvector(tokens, positions=True),
                    _tsvector(stem_words(tokens), positions=False),
                )
            )
    else:  # pragma: no cover - settings allow only these two
        raise NotImplementedError(connection.vendor)
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsvector(tokens: Sequence[str], *, positions: bool) -> str:
    """A tsvector literal of our own words (PostgreSQL's parser would split them its own way)."""
    if not positions:
        return " ".join(_lexeme(w) for w in dict.fromkeys(tokens))
    at: dict[str, list[int]] = {}
    for i, token in enumerate(tokens, start=1):
        places = at.setdefault(token, [])
        if len(places) < 256:  # PostgreSQL keeps at most 256 positions per lexeme
            places.append(min(i, 16383))
    return " ".join(
        _lexeme(w) + ":" + ",".join(str(p) for p in dict.fromkeys(ps)) for w, ps in at.items()
    )


def _documents(after_ticket: int, limit: int) -> tuple[list[Row], int | None]:
    """Rows for the next ``limit`` tickets after ``after_ticket`` and their messages."""
    from loket.tickets.models import Message, Ticket

    tickets = list(
        Ticket.objects.filter(pk__gt=after_ticket)
        .order_by("pk")
        .values_list("pk", "subject")[:limit]
    )
    if not tickets:
        return [], None
    rows = [Row(pk, None, subject) for pk, subject in tickets]
    first, last = tickets[0][0], tickets[-1][0]
    messages = Message.objects.filter(ticket_id__gte=first, ticket_id__lte=last).values_list(
        "ticket_id", "pk", "subject", "text", "html"
    )
    rows.extend(Row(t, m, message_text(s, x, h)) for t, m, s, x, h in messages.iterator(5000))
    return rows, last


def reindex_all(*, batch: int = 2000) -> int:
    """Rebuild the whole index from the tickets and messages; returns the rows written.

    Works in batches of tickets, each in its own transaction, so ingest keeps running (new
    messages are indexed by their own transaction). Rows stay searchable throughout: they are
    replaced, not dropped first; rows of deleted tickets are removed at the end.
    """
    from loket.tickets.models import Ticket

    written = 0
    after = 0
    while True:
        with transaction.atomic():
            rows, last = _documents(after, batch)
            if last is None:
                break
            index_rows(rows)
        written += len(rows)
        after = last
    with transaction.atomic(), connection.cursor() as cursor:
        _purge(cursor, Ticket._meta.db_table)
    return written


def _purge(cursor: Any, ticket_table: str) -> None:
    """Delete rows whose ticket or message is gone."""
    from loket.tickets.models import Message

    message_table = Message._meta.db_table
    column = "rowid" if connection.vendor == "sqlite" else "id"
    cursor.execute(
        f"DELETE FROM {TABLE} WHERE ({column} >> 32) NOT IN (SELECT id FROM {ticket_table}) "  # noqa: S608
        f"OR (message_id IS NOT NULL AND message_id NOT IN (SELECT id FROM {message_table}))"
    )
    if connection.vendor == "sqlite":
        # Merge the index segments written in many small batches into one.
        cursor.execute(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')")  # noqa: S608


# --- reading ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    """One thing every matching ticket must contain.

    ``words``: one word (prefix and stem match) or, with ``phrase``, words in this order.
    ``number``: a ticket number this term also matches. ``identity``: a customer address
    (kind, normalised value) whose tickets this term also matches.
    """

    words: tuple[str, ...] = ()
    phrase: bool = False
    number: int | None = None
    identity: tuple[str, str] | None = None
    text: bool = True


_QUOTED = re.compile(r'"([^"]*)"')
_TICKET_NUMBER = re.compile(r"(?<![\w#])#(\d{1,18})(?!\w)")
_EMAIL = re.compile(r"[^\s\"'()<>\[\],;:@]+@[^\s\"'()<>\[\],;:@]+\.[^\s\"'()<>\[\],;:@]+")
# A piece of a phone number as people type it: 0812-3456-7890, (021) 555 1234, +62 812 ...
_PHONE_PIECE = re.compile(r"\+?[\d().-]*\d[\d().-]*")
_PHONE_PIECES = 5


def _phone(text: str) -> str | None:
    if sum(c.isdigit() for c in text) < 8:
        return None
    try:
        return normalize_phone(text)
    except InvalidPhone:
        return None


def _take_phones(text: str) -> tuple[str, list[Term]]:
    """Phone numbers in ``text`` (the longest run of number-like pieces that is one), and the
    text without them: "0812 3456 7890 1042" is a phone number and the word 1042."""
    pieces = text.split()
    rest: list[str] = []
    found: list[Term] = []
    i = 0
    while i < len(pieces):
        for width in range(min(_PHONE_PIECES, len(pieces) - i), 0, -1):
            span = pieces[i : i + width]
            if not all(_PHONE_PIECE.fullmatch(p) for p in span):
                continue
            e164 = _phone(" ".join(span))
            if e164 is not None:
                found.append(
                    Term(
                        tuple(words(" ".join(span))),
                        phrase=True,
                        identity=(IdentityKind.PHONE, e164),
                    )
                )
                i += width
                break
        else:
            rest.append(pieces[i])
            i += 1
    return " ".join(rest), found


def parse(q: str) -> list[Term]:
    """The terms of a user's query. Never raises; an empty list means "no condition"."""
    terms: list[Term] = []

    def take(
        pattern: re.Pattern[str], text: str, make: Callable[[re.Match[str]], Term | None]
    ) -> str:
        def replace(match: re.Match[str]) -> str:
            term = make(match)
            if term is not None:
                terms.append(term)
                return " "
            return match.group(0)

        return pattern.sub(replace, text)

    def quoted(match: re.Match[str]) -> Term | None:
        found = tuple(words(match.group(1)))
        return Term(found, phrase=True) if found else None

    def number(match: re.Match[str]) -> Term:
        return Term(number=int(match.group(1)), text=False)

    def email(match: re.Match[str]) -> Term:
        value = match.group(0)
        return Term(tuple(words(value)), phrase=True, identity=(IdentityKind.EMAIL, value.lower()))

    rest = take(_QUOTED, q, quoted)
    rest = take(_TICKET_NUMBER, rest, number)
    rest = take(_EMAIL, rest, email)
    rest, phones = _take_phones(rest)
    terms.extend(phones)
    for word in words(rest):
        n = int(word) if word.isdigit() and len(word) <= 18 else None
        terms.append(Term((word,), number=n))
    # A repeated term adds nothing; keep the first of each.
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def _fts5_string(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _alternatives(word: str) -> tuple[list[str], bool]:
    """The exact words one query word stands for, and whether it also matches as a prefix.

    A word that is, or stems to, a known root needs no prefix: every form of that root carries
    the stem already (``kirim`` finds ``kiriman`` through the stem), and leaving the prefix out
    keeps ``tahu`` from finding ``tahun`` and halves the work for common words. Any other word
    may be half typed (``kirima``, ``band``): it matches as a prefix too.
    """
    found = stems(word)
    prefix = len(word) >= MIN_PREFIX and not any(s in ROOTS for s in found)
    return sorted({*found, word}), prefix


def fts5_match(term: Term) -> str:
    """The FTS5 MATCH expression for one term; every word inside double quotes."""
    if term.phrase:
        return "body : " + _fts5_string(" ".join(term.words))
    (word,) = term.words
    exact, prefix = _alternatives(word)
    either = "{body stems} : (" + " OR ".join(_fts5_string(w) for w in exact) + ")"
    if not prefix:
        return either
    return f"(body : {_fts5_string(word)} * OR {either})"


def tsqueries(term: Term) -> tuple[str, str | None]:
    """The tsquery literals for one term: for ``body``, and for ``stems`` (None: skip)."""
    if term.phrase:
        return " <-> ".join(_lexeme(w) for w in term.words), None
    (word,) = term.words
    exact, prefix = _alternatives(word)
    either = " | ".join(_lexeme(w) for w in exact)
    if not prefix:
        return either, either
    return f"{_lexeme(word)}:* | {either}", either


def _text_hits(term: Term) -> tuple[str, list[Any]]:
    """SQL for the ids of the tickets whose text matches ``term``, and its parameters."""
    if connection.vendor == "sqlite":
        return f"SELECT rowid >> 32 FROM {TABLE} WHERE {TABLE} MATCH %s", [fts5_match(term)]  # noqa: S608
    body, stemmed = tsqueries(term)
    if stemmed is None:
        return f"SELECT ticket_id FROM {TABLE} WHERE body @@ %s::tsquery", [body]  # noqa: S608
    sql = f"SELECT ticket_id FROM {TABLE} WHERE body @@ %s::tsquery OR stems @@ %s::tsquery"  # noqa: S608
    return sql, [body, stemmed]


def _ticket_ids(term: Term) -> RawSQL:
    """The ids of the tickets ``term`` matches, as one subquery.

    Text hits, the ticket with that number and the customer's tickets are one UNION ALL rather
    than conditions joined by OR: PostgreSQL cannot turn an OR of subqueries into a semi-join
    and would check every ticket (40 ms at 100,000 tickets instead of 3).

    The SQL is constant; what the user typed only travels as bound parameters, and inside them
    every word is quoted (fts5_match, tsqueries).
    """
    from loket.tickets.models import Ticket

    tickets = Ticket._meta.db_table
    parts: list[str] = []
    params: list[Any] = []
    if term.text and term.words:
        sql, more = _text_hits(term)
        parts.append(sql)
        params += more
    if term.number is not None:
        parts.append(f"SELECT id FROM {tickets} WHERE number = %s")  # noqa: S608
        params.append(term.number)
    if term.identity is not None:
        parts.append(
            f"SELECT t.id FROM {tickets} t JOIN {Identity._meta.db_table} i "  # noqa: S608
            "ON i.contact_id = t.contact_id WHERE i.kind = %s AND i.value = %s"
        )
        params += list(term.identity)
    return RawSQL(" UNION ALL ".join(parts), params)  # noqa: S611


# Which way should SQLite go: from the hits to the tickets, or along the inbox's order checking
# each ticket against the hits? The first is right for few hits (a tracking number: 3 ms) and
# wrong for many (a lookup and a sort per matching ticket: 300 ms for a word in 75,000 of
# 100,000 tickets); the second stops at the page size whatever the hits (50 ms for that word)
# but may walk the whole list for a rare one (15-20 ms at 100,000 tickets). SQLite cannot tell
# the two apart, so we tell it: identifiers (a phone, an email, a ticket number, a word with
# digits) go from the hits; words go along the list, by putting their condition on ``id + 0``,
# which no index can serve. Measured in docs/benchmarks.md.
_SEARCH_KEY = "_search_key"


def _selective(term: Term) -> bool:
    """A term that finds few tickets: a customer's address, a number, a code like a resi."""
    return (
        term.identity is not None
        or term.number is not None
        or any(len(w) >= 5 and any(c.isdigit() for c in w) for w in term.words)
    )


def _condition(term: Term) -> Q:
    if not term.words and term.number is not None:
        return Q(number=term.number)  # "#1042": the unique index, nothing else
    key = "pk" if connection.vendor != "sqlite" or _selective(term) else _SEARCH_KEY
    return Q(**{f"{key}__in": _ticket_ids(term)})


def ticket_query(qs: QuerySet[Ticket], q: str) -> QuerySet[Ticket]:
    """``qs`` narrowed to the tickets matching every term of ``q`` (no query runs here).

    It only filters: who may see what stays with the queryset the caller passes in. An empty
    query, or one with nothing searchable in it, leaves ``qs`` as it is.
    """
    terms = parse(q)
    if connection.vendor == "sqlite" and not all(_selective(t) for t in terms):
        qs = qs.alias(**{_SEARCH_KEY: ExpressionWrapper(F("pk") + 0, BigIntegerField())})
    for term in terms:
        qs = qs.filter(_condition(term))
    return qs


def iter_terms(q: str) -> Iterator[str]:
    """How each term of ``q`` is searched (for ``loket search query --explain``)."""
    for term in parse(q):
        ways = []
        if term.text and term.words:
            if connection.vendor == "sqlite":
                ways.append(fts5_match(term))
            else:
                ways.append(" / ".join(x for x in tsqueries(term) if x))
        if term.number is not None:
            ways.append(f"ticket #{term.number}")
        if term.identity is not None:
            ways.append(f"customer with {term.identity[0]} {term.identity[1]}")
        yield " OR ".join(ways)
