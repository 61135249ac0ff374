"""Account lifecycle: a credentials version per user and the revoked credentials.

``users.credentials_version`` is carried by every token and page session; bumping it
ends all of them. ``revoked_credentials`` holds the ids of single tokens and sessions
ended before they expire (signing out).

Revision ID: 0006_account_revocation
Revises: 0005_audit_events_no_truncate
Create Date: 2026-11-30 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006_account_revocation"
down_revision = "0005_audit_events_no_truncate"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "users",
        sa.Column(
            "credentials_version", sa.Integer(), server_default=sa.text("1"), nullable=False
        ),
    )
    op.create_table(
        "revoked_credentials",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_revoked_credentials_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revoked_credentials")),
    )
    op.create_index(
        "ix_revoked_credentials_expires_at", "revoked_credentials", ["expires_at"]
    )


def downgrade():
    op.drop_index("ix_revoked_credentials_expires_at", table_name="revoked_credentials")
    op.drop_table("revoked_credentials")
    op.drop_column("users", "credentials_version")
