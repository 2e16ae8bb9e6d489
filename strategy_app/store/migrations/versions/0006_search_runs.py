"""Search and panda runs started from the Search page.

Revision ID: 0006_search_runs
Revises: 0005_split_plans
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_search_runs"
down_revision = "0005_split_plans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``search_runs``."""
    op.create_table(
        "search_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("storage", sa.Text, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("out_dir", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop ``search_runs``."""
    op.drop_table("search_runs")
