"""ORM bulk statements: stamped and audited like flushes, on every audited model.

``insert(Model)`` with a list of rows and ``update(Model)`` (by primary key or with a
WHERE clause) pass through the ``do_orm_execute`` hook below, which stamps the audit
columns, bumps versions and appends one audit event per row, in the statement's
transaction. Bulk DELETEs of audited rows and any write to the audit trail are refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, event, false, func, inspect, literal, select, update
from sqlalchemy.engine import Connection, Result
from sqlalchemy.orm import Mapper, ORMExecuteState, Session

from app.models.audit_event import AuditEvent, PendingEvent, append_events, lock_audit_chain
from app.models.audit_listener import audited_keys, masked
from app.models.base import ACTOR_SELF, AuditMixin, VersionedMixin, current_actor, utcnow
from app.models.errors import (
    AuditTrailImmutableError,
    BulkWriteUnsupportedError,
    HardDeleteRefusedError,
)
from app.models.soft_delete import INCLUDE_DELETED

#: Execution option asking a bulk INSERT whose rows carry their ids (see reserve_ids) to
#: load them with COPY on PostgreSQL; stamping and audit events are the same.
BULK_COPY = "inkwell_bulk_copy"


@event.listens_for(Session, "do_orm_execute")
def stamp_bulk_statements(state: ORMExecuteState) -> Result | None:
    """Stamp and audit ORM bulk INSERTs and UPDATEs; refuse hard deletes and trail edits."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    if getattr(state.statement, "table", None) is AuditEvent.__table__ and not state.is_insert:
        raise AuditTrailImmutableError("audit events cannot be changed or deleted")
    mapper = state.bind_mapper
    if mapper is None:
        return None
    if issubclass(mapper.class_, AuditEvent):
        raise AuditTrailImmutableError("audit events are appended by app.audit, not the ORM")
    if not issubclass(mapper.class_, AuditMixin):
        return None
    if state.is_delete:
        raise HardDeleteRefusedError(
            f"{mapper.class_.__name__} rows are soft-deleted (set deleted_at), not deleted"
        )
    if current_actor() is ACTOR_SELF:
        raise BulkWriteUnsupportedError("bulk statements cannot act as ACTOR_SELF")
    lock_audit_chain(state.session.connection())
    if state.is_insert:
        return _bulk_insert(state, mapper)
    return _bulk_update(state, mapper)


def reserve_ids(session: Session, model: type, count: int) -> list[int] | None:
    """Take ``count`` ids from a PostgreSQL sequence for a bulk insert; None elsewhere.

    Rows that carry their ids let a bulk INSERT skip RETURNING, which is much faster on
    PostgreSQL (see :func:`_bulk_insert`).
    """
    if count <= 0 or session.get_bind().dialect.name != "postgresql":
        return None
    table = inspect(model).local_table
    return list(
        session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table.name, "id"))).select_from(
                func.generate_series(1, count)
            )
        )
    )


def _python_defaults(mapper: Mapper) -> dict[str, Any]:
    """Scalar client-side defaults, to know what an INSERT stored for omitted keys."""
    defaults = {}
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if column.default is not None and column.default.is_scalar:
            defaults[attr.key] = column.default.arg
    return defaults


def _bulk_insert(state: ORMExecuteState, mapper: Mapper) -> Result:
    """Stamp every row of an ORM bulk INSERT and append a 'create' event per row.

    Rows that carry their ids (:func:`reserve_ids`) are inserted as given and their
    events built from the parameters. Otherwise the ids and stored values come back with
    RETURNING, not forced into parameter order: on PostgreSQL that would make SQLAlchemy
    insert row by row.
    """
    if not state.is_executemany:
        raise BulkWriteUnsupportedError(
            "insert() on an audited model must pass its rows as a list of dictionaries"
        )
    actor, now = int(current_actor()), utcnow()  # type: ignore[arg-type]
    stamps = {"date_added": now, "date_updated": now, "added_by": actor, "updated_by": actor}
    if issubclass(mapper.class_, VersionedMixin):
        stamps["version"] = 1
    rows = [{**row, **stamps} for row in state.parameters]  # type: ignore[union-attr]
    model = mapper.class_
    keys = audited_keys(mapper, soft_delete=False)
    if all(row.get("id") is not None for row in rows):
        defaults = _python_defaults(mapper)
        rows = [{**defaults, **row} for row in rows]
        connection = state.session.connection()
        if _copy_wanted(state, connection):
            _copy_insert(connection, mapper, rows)
            # COPY returns no rows; the caller gets an empty result of the documented kind.
            result: Result = connection.execute(select(literal(None)).where(false()))
        else:
            result = state.invoke_statement(params=rows)
        stored = [(row["id"], [row.get(key) for key in keys]) for row in rows]
    else:
        statement = state.statement
        kept = len(statement.returning_column_descriptions or ())
        statement = statement.returning(model.id, *(getattr(model, key) for key in keys))
        frozen = state.invoke_statement(statement=statement, params=rows).freeze()
        stored = [(row[kept], row[kept + 1 :]) for row in frozen()]
        result = frozen()
        if kept:
            result = result.columns(*range(kept))
    events = [
        PendingEvent(
            entity_type=model.__audit_entity__,
            entity_id=entity_id,
            action="create",
            changes={
                key: {"old": None, "new": masked(model, key, value)}
                for key, value in zip(keys, values, strict=True)
            },
            actor_id=actor,
        )
        for entity_id, values in stored
    ]
    append_events(state.session.connection(), events)
    return result


def _copy_wanted(state: ORMExecuteState, connection: Connection) -> bool:
    """Whether a bulk INSERT asked for COPY and can have it (PostgreSQL, no RETURNING)."""
    return (
        bool(state.execution_options.get(BULK_COPY))
        and connection.dialect.driver == "psycopg"
        and not state.statement.returning_column_descriptions
    )


def _copy_insert(connection: Connection, mapper: Mapper, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` with PostgreSQL's COPY, converting values as SQLAlchemy would."""
    table = mapper.local_table
    columns = []
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        processor = column.type.bind_processor(connection.dialect)
        columns.append((attr.key, column.name, processor))
    names = ", ".join(name for _key, name, _processor in columns)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            values = []
            for key, _name, processor in columns:
                value = row.get(key)
                if processor is not None and value is not None:
                    value = processor(value)
                values.append(value)
            copy.write_row(values)


def _bulk_update(state: ORMExecuteState, mapper: Mapper) -> Result:
    """Stamp the rows an ORM bulk UPDATE touches and append an event per changed row."""
    model = mapper.class_
    actor, now = int(current_actor()), utcnow()  # type: ignore[arg-type]
    session = state.session
    keys = [attr.key for attr in mapper.column_attrs]
    if state.is_executemany:
        params = list(state.parameters)  # type: ignore[arg-type]
        ids = [row["id"] for row in params]
        before = _rows_by_id(session, model, keys, ids, lock=True)
        rows = []
        for row in params:
            stamped = {**row, "date_updated": now, "updated_by": actor}
            old = before.get(row["id"])
            if old is not None and issubclass(model, VersionedMixin):
                # By-key bulk UPDATEs match on the given version and bump it: a caller's
                # own version is an optimistic check; otherwise the current one is used.
                stamped.setdefault("version", old["version"])
            rows.append(stamped)
        result = state.invoke_statement(params=rows)
    else:
        where = state.statement.whereclause
        locked = select(model.id).execution_options(**{INCLUDE_DELETED: True})
        if where is not None:
            locked = locked.where(where)
        ids = list(session.scalars(_for_update(session, locked)))
        before = _rows_by_id(session, model, keys, ids, lock=False)
        stamps: dict[str, Any] = {"date_updated": now, "updated_by": actor}
        if issubclass(model, VersionedMixin):
            stamps["version"] = model.version + 1
        result = state.invoke_statement(
            statement=state.statement.where(model.id.in_(ids)).values(**stamps)
        )
    after = _rows_by_id(session, model, keys, ids, lock=False)
    events = _bulk_update_events(session, model, actor, now, before, after)
    if events:
        append_events(session.connection(), events)
    return result


def _for_update(session: Session, statement: Select) -> Select:
    """Lock the selected rows on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return statement.with_for_update()
    return statement  # SQLite serialises writers with its database lock


def _rows_by_id(
    session: Session, model: type, keys: Sequence[str], ids: Iterable[int], *, lock: bool
) -> dict[int, dict[str, Any]]:
    """Column values of ``model`` rows by id, soft-deleted rows included."""
    ids = list(ids)
    if not ids:
        return {}
    statement = (
        select(*(getattr(model, key) for key in keys))
        .where(model.id.in_(ids))  # type: ignore[attr-defined]
        .execution_options(**{INCLUDE_DELETED: True})
    )
    if lock:
        statement = _for_update(session, statement)
    return {row["id"]: dict(row) for row in session.execute(statement).mappings()}


def _bulk_update_events(
    session: Session,
    model: type,
    actor: int,
    now: datetime,
    before: dict[int, dict[str, Any]],
    after: dict[int, dict[str, Any]],
) -> list[PendingEvent]:
    """Diff rows before and after a bulk UPDATE; fix ``deleted_by`` on soft delete/restore."""
    keys = audited_keys(inspect(model), soft_delete=True)
    events = []
    deleted, restored = [], []
    for entity_id, new in after.items():
        old = before.get(entity_id)
        if old is None:
            continue
        action = "update"
        if old["deleted_at"] is None and new["deleted_at"] is not None:
            action = "delete"
            new["deleted_by"] = actor
            deleted.append(entity_id)
        elif old["deleted_at"] is not None and new["deleted_at"] is None:
            action = "restore"
            new["deleted_by"] = None
            restored.append(entity_id)
        changes = {
            key: {"old": masked(model, key, old[key]), "new": masked(model, key, new[key])}
            for key in keys
            if old[key] != new[key]
        }
        if changes:
            events.append(
                PendingEvent(
                    entity_type=model.__audit_entity__,
                    entity_id=entity_id,
                    action=action,
                    changes=changes,
                    actor_id=actor,
                )
            )
    table = inspect(model).local_table
    connection = session.connection()
    for ids, deleted_by in ((deleted, actor), (restored, None)):
        if ids:
            connection.execute(
                update(table).where(table.c.id.in_(ids)).values(deleted_by=deleted_by)
            )
            for entity_id in ids:
                obj = session.identity_map.get(session.identity_key(model, entity_id))
                if obj is not None:
                    session.expire(obj, ["deleted_by"])
    return events
