"""Insert one model row without the queryset machinery.

The ingest path writes four or five rows per message; compiling an INSERT through the ORM
costs several times the statement itself. ``insert`` builds the statement from the model's
fields once per model and prepares values with each field's own ``get_db_prep_save`` (so
JSON, datetimes and foreign keys are stored exactly as ``save()`` stores them). It skips
model signals, which Loket does not use for domain logic.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model


@cache
def _plan(model: type[Model]) -> tuple[str, tuple[Field[Any, Any], ...]]:
    meta = model._meta
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    pk = connection.ops.quote_name(str(meta.pk.column)) if meta.pk else "id"
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({placeholders}) RETURNING {pk}"
    )
    return sql, fields


def insert_many(objs: list[Model]) -> None:
    """INSERT rows of one model in one statement, when their ids are not needed afterwards."""
    if not objs:
        return
    sql, fields = _plan(type(objs[0]))
    sql = sql.rpartition(" RETURNING ")[0]
    rows = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert[M: Model](obj: M) -> M:
    """INSERT ``obj`` (an unsaved instance with an auto primary key) and set its pk."""
    sql, fields = _plan(type(obj))
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    obj.pk = row[0] if row else None
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj
