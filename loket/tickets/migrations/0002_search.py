"""The full-text search table (loket/tickets/search.py, docs/adr/0002-search.md).

Not a Django model: on SQLite it is an FTS5 virtual table, on PostgreSQL a plain table of
tsvectors with GIN indexes. Rows are written by the search service only. For messages that
existed before this migration, run ``loket search rebuild``.
"""

from django.db import migrations

SQLITE = [
    # rowid = ticket id << 32 | (message id % 2^32-1 + 1); 0 in the low bits for the subject.
    """
    CREATE VIRTUAL TABLE tickets_search USING fts5(
        ticket_id UNINDEXED,
        message_id UNINDEXED,
        body,
        stems,
        tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
]

POSTGRESQL = [
    """
    CREATE TABLE tickets_search (
        id bigint PRIMARY KEY,
        ticket_id bigint NOT NULL,
        message_id bigint NULL,
        body tsvector NOT NULL,
        stems tsvector NOT NULL
    )
    """,
    "CREATE INDEX tickets_search_body ON tickets_search USING gin (body)",
    "CREATE INDEX tickets_search_stems ON tickets_search USING gin (stems)",
]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(vendor, []):
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor in {"sqlite", "postgresql"}:
        schema_editor.execute("DROP TABLE IF EXISTS tickets_search")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
