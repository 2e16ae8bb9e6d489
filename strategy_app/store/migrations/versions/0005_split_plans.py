"""The Splits page's saved inputs and dataset.

Revision ID: 0005_split_plans
Revises: 0004_report_shares
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_split_plans"
down_revision = "0004_report_shares"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``split_plans``."""
    op.create_table(
        "split_plans",
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("upload_sha256", sa.String(64), sa.ForeignKey("uploads.sha256")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop ``split_plans``."""
    op.drop_table("split_plans")
