"""What the user set on the Search page: the search space and the last LR range test.

Revision ID: 0007_search_state
Revises: 0006_search_runs
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_search_state"
down_revision = "0006_search_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``search_state``."""
    op.create_table(
        "search_state",
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("space", sa.JSON, nullable=True),
        sa.Column("lr_finder", sa.JSON, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop ``search_state``."""
    op.drop_table("search_state")
