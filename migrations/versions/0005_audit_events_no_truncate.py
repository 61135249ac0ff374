"""PostgreSQL: reject TRUNCATE on audit_events too.

0002 refuses UPDATE and DELETE; TRUNCATE is a statement of its own and needs its own
trigger. SQLite has no TRUNCATE.

Revision ID: 0005_audit_events_no_truncate
Revises: 0004_feed_counts
Create Date: 2026-11-29 11:40:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0005_audit_events_no_truncate"
down_revision = "0004_feed_counts"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE TRIGGER audit_events_no_truncate
        BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
        """
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
