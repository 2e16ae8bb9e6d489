"""Read-only report share links.

Revision ID: 0004_report_shares
Revises: 0003_labels
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_report_shares"
down_revision = "0003_labels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``report_shares``."""
    op.create_table(
        "report_shares",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("html", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_report_shares_project_id", "report_shares", ["project_id"])


def downgrade() -> None:
    """Drop ``report_shares``."""
    op.drop_index("ix_report_shares_project_id", table_name="report_shares")
    op.drop_table("report_shares")
