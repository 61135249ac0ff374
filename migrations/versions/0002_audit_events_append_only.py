"""PostgreSQL: reject UPDATE and DELETE on audit_events with a trigger.

The application never changes audit events (the ORM refuses to); this trigger makes the
database refuse too, whoever connects. SQLite has no such trigger: there the ORM guard
and the hash chain (``flask audit verify``) protect the trail.

Revision ID: 0002_audit_events_append_only
Revises: 0001_initial_schema
Create Date: 2026-11-28 08:16:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0002_audit_events_append_only"
down_revision = "0001_initial_schema"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION audit_events_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER audit_events_append_only
        BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
        """
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION audit_events_append_only()")
