"""The session hooks behind every model: audit stamping, soft-delete filtering, audit events.

Three SQLAlchemy events, each registered once for every session and every model:

* ``before_flush`` stamps the audit columns of every new or changed audited object
  (:func:`stamp_audit_columns`);
* ``after_flush`` appends one audit event per created, changed, deleted or restored
  object, in the flush's transaction (:func:`record_audit_events`);
* ``do_orm_execute`` hides soft-deleted rows from every ORM SELECT (relationship loads
  included) unless the statement opts out with ``include_deleted``; stamps and audits ORM
  bulk ``insert()`` and ``update()`` statements the same way as flushes; and refuses to
  change audit events or hard-delete audited rows (:func:`apply_orm_rules`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Select, event, exists, func, inspect, select, update
from sqlalchemy.engine import Connection, IteratorResult, Result
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.orm.attributes import set_committed_value

from app.models.audit_event import (
    MASKED,
    AuditEvent,
    PendingEvent,
    append_events,
    lock_audit_chain,
)
from app.models.base import (
    ACTOR_SELF,
    SYSTEM_ACTOR_ID,
    Actor,
    AuditMixin,
    VersionedMixin,
    current_actor,
    utcnow,
)
from app.models.comment import Comment
from app.models.post import Post

#: Execution option that lets a statement see soft-deleted rows (admin views, restore).
INCLUDE_DELETED = "include_deleted"
#: Execution option asking a bulk INSERT whose rows carry their ids (see reserve_ids) to
#: load them with COPY on PostgreSQL; stamping and audit events are the same.
BULK_COPY = "inkwell_bulk_copy"

#: Columns that never appear in an event's ``changes``: the event itself says who and when.
UNAUDITED_COLUMNS = frozenset(
    {"id", "date_added", "date_updated", "added_by", "updated_by", "version"}
)
SOFT_DELETE_COLUMNS = frozenset({"deleted_at", "deleted_by"})

_SELF_STAMPED = "inkwell.self_stamped"


class AuditTrailImmutableError(Exception):
    """Audit events are append-only: the ORM refuses to change or delete them."""


class HardDeleteRefusedError(Exception):
    """Audited rows are soft-deleted (``soft_delete()``), never removed by the ORM."""


class BulkWriteUnsupportedError(Exception):
    """A bulk statement on an audited model that cannot be stamped and audited."""


def _soft_delete_criteria() -> tuple:
    """Loader criteria that hide soft-deleted rows, and comments of soft-deleted posts."""
    return (
        with_loader_criteria(
            AuditMixin, lambda cls: cls.deleted_at.is_(None), include_aliases=True
        ),
        with_loader_criteria(
            Comment,
            lambda cls: (
                exists()
                .where(Post.id == cls.post_id, Post.deleted_at.is_(None))
                .correlate_except(Post)
            ),
            include_aliases=True,
        ),
    )


_HIDE_DELETED = _soft_delete_criteria()


def _keep_old_value(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
    """A no-op 'set' listener whose only job is to make SQLAlchemy load the old value."""
    return value


@event.listens_for(AuditMixin, "mapper_configured", propagate=True)
def track_old_values(mapper: Mapper, _class: type) -> None:
    """Load a column's old value before it is overwritten, so audit events can show it."""
    for attr in mapper.column_attrs:
        event.listen(attr.class_attribute, "set", _keep_old_value, active_history=True, retval=True)


# -- stamping ------------------------------------------------------------------------------


def _stamp_actor(actor: Actor, obj: AuditMixin) -> int:
    """The user id to stamp for ``actor`` on ``obj`` (ACTOR_SELF resolves to the row itself)."""
    if actor is ACTOR_SELF:
        return getattr(obj, "id", None) or SYSTEM_ACTOR_ID
    return int(actor)  # type: ignore[arg-type]


def _soft_delete_transition(obj: AuditMixin) -> str | None:
    """'delete' or 'restore' when ``deleted_at`` is changing in this flush, else None."""
    history = inspect(obj).attrs.deleted_at.history
    if not history.added:
        return None
    old = history.deleted[0] if history.deleted else None
    new = history.added[0]
    if old is None and new is not None:
        return "delete"
    if old is not None and new is None:
        return "restore"
    return None


@event.listens_for(Session, "before_flush")
def stamp_audit_columns(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Stamp ``date_*``, ``*_by`` and ``deleted_*`` on every new or changed audited object."""
    for obj in session.deleted:
        if isinstance(obj, AuditMixin):
            raise HardDeleteRefusedError(
                f"{type(obj).__name__} rows are soft-deleted with soft_delete(), not deleted"
            )
        if isinstance(obj, AuditEvent):
            raise AuditTrailImmutableError("audit events cannot be deleted")
    for obj in session.new:
        if isinstance(obj, AuditEvent):
            raise AuditTrailImmutableError("audit events are appended by app.audit, not the ORM")
    changed = [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    if any(isinstance(obj, AuditEvent) for obj in changed):
        raise AuditTrailImmutableError("audit events cannot be changed")
    created = [obj for obj in session.new if isinstance(obj, AuditMixin)]
    changed = [obj for obj in changed if isinstance(obj, AuditMixin)]
    if not created and not changed:
        return
    # Take the audit chain's lock before any row lock, so writers never deadlock on it.
    lock_audit_chain(session.connection())
    actor = current_actor()
    now = utcnow()
    for obj in created:
        stamped_by = _stamp_actor(actor, obj)
        obj.date_added = obj.date_updated = now
        obj.added_by = obj.updated_by = stamped_by
        if obj.deleted_at is not None:
            obj.deleted_at, obj.deleted_by = now, stamped_by
        if actor is ACTOR_SELF:
            session.info.setdefault(_SELF_STAMPED, []).append(obj)
    for obj in changed:
        stamped_by = _stamp_actor(actor, obj)
        obj.date_updated = now
        obj.updated_by = stamped_by
        transition = _soft_delete_transition(obj)
        if transition == "delete":
            obj.deleted_at, obj.deleted_by = now, stamped_by
        elif transition == "restore":
            obj.deleted_by = None


# -- audit events from flushes -------------------------------------------------------------


def audit_value(value: Any) -> Any:
    """A JSON-ready form of a column value for the audit trail."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _masked(model: type, key: str, value: Any) -> Any:
    """The audit form of a value, or MASKED for the model's secret columns."""
    if key in model.__audit_masked__:  # type: ignore[attr-defined]
        return MASKED
    return audit_value(value)


def _audited_keys(mapper: Mapper, *, soft_delete: bool) -> list[str]:
    """Column attributes that appear in ``changes`` (soft-delete columns only when asked)."""
    skipped = UNAUDITED_COLUMNS if soft_delete else UNAUDITED_COLUMNS | SOFT_DELETE_COLUMNS
    return [attr.key for attr in mapper.column_attrs if attr.key not in skipped]


def _creation_changes(obj: AuditMixin) -> dict[str, dict[str, Any]]:
    """``changes`` of a 'create' event: every audited field, old None."""
    model = type(obj)
    return {
        key: {"old": None, "new": _masked(model, key, getattr(obj, key))}
        for key in _audited_keys(inspect(model), soft_delete=False)
    }


def _update_changes(obj: AuditMixin) -> dict[str, dict[str, Any]]:
    """``changes`` of an update, delete or restore: the fields this flush changes."""
    model, state = type(obj), inspect(obj)
    changes = {}
    for key in _audited_keys(state.mapper, soft_delete=True):
        history = state.attrs[key].history
        if not history.added and not history.deleted:
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        changes[key] = {"old": _masked(model, key, old), "new": _masked(model, key, new)}
    return changes


def _event(obj: AuditMixin, action: str, changes: dict, actor: int) -> PendingEvent:
    """A pending audit event about ``obj``."""
    return PendingEvent(
        entity_type=type(obj).__audit_entity__,
        entity_id=obj.id,  # type: ignore[attr-defined]
        action=action,
        changes=changes,
        actor_id=actor,
    )


def _fix_self_stamps(session: Session) -> None:
    """Rows created under ACTOR_SELF: their id is known now, so they become their own actor."""
    for obj in session.info.pop(_SELF_STAMPED, []):
        table = inspect(obj).mapper.local_table
        session.connection().execute(
            update(table).where(table.c.id == obj.id).values(added_by=obj.id, updated_by=obj.id)
        )
        set_committed_value(obj, "added_by", obj.id)
        set_committed_value(obj, "updated_by", obj.id)


@event.listens_for(Session, "after_flush")
def record_audit_events(session: Session, _flush_context: Any) -> None:
    """Append an audit event for every audited object this flush created or changed."""
    events: list[PendingEvent] = []
    actor = current_actor()
    for obj in session.new:
        if isinstance(obj, AuditMixin):
            events.append(_event(obj, "create", _creation_changes(obj), _stamp_actor(actor, obj)))
    for obj in session.dirty:
        if not isinstance(obj, AuditMixin) or not session.is_modified(
            obj, include_collections=False
        ):
            continue
        action = _soft_delete_transition(obj) or "update"
        changes = _update_changes(obj)
        if changes:
            events.append(_event(obj, action, changes, _stamp_actor(actor, obj)))
    _fix_self_stamps(session)
    if events:
        append_events(session.connection(), events)


# -- ORM statements: soft-delete filtering, bulk stamping and auditing ---------------------


@event.listens_for(Session, "do_orm_execute")
def apply_orm_rules(state: ORMExecuteState) -> Result | None:
    """Filter soft-deleted rows from SELECTs; stamp and audit bulk writes; guard the trail."""
    if state.is_select:
        if not state.is_column_load and not state.execution_options.get(INCLUDE_DELETED):
            state.statement = state.statement.options(*_HIDE_DELETED)
        return None
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
    keys = _audited_keys(mapper, soft_delete=False)
    if all(row.get("id") is not None for row in rows):
        defaults = _python_defaults(mapper)
        rows = [{**defaults, **row} for row in rows]
        connection = state.session.connection()
        if _copy_wanted(state, connection):
            _copy_insert(connection, mapper, rows)
            result: Result = IteratorResult(SimpleResultMetaData([]), iter([]))
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
                key: {"old": None, "new": _masked(model, key, value)}
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
    return {row.id: dict(row._mapping) for row in session.execute(statement)}


def _bulk_update_events(
    session: Session,
    model: type,
    actor: int,
    now: datetime,
    before: dict[int, dict[str, Any]],
    after: dict[int, dict[str, Any]],
) -> list[PendingEvent]:
    """Diff rows before and after a bulk UPDATE; fix ``deleted_by`` on soft delete/restore."""
    keys = _audited_keys(inspect(model), soft_delete=True)
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
            key: {"old": _masked(model, key, old[key]), "new": _masked(model, key, new[key])}
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
