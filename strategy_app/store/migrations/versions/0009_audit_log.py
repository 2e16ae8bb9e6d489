"""Who changed what: the audit log.

Revision ID: 0009
Revises: 0008_model_versions
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008_model_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``audit_log``."""
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("project_id", sa.Integer, nullable=True),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_log_project_target", "audit_log", ["project_id", "target"])


def downgrade() -> None:
    """Drop ``audit_log``."""
    op.drop_index("ix_audit_log_project_target", "audit_log")
    op.drop_table("audit_log")
