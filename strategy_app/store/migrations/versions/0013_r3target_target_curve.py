"""A model version's saved target-data curve (``learning-curve --target-pool``).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``model_versions.target_curve`` (a ``learning-curve --target-pool --json`` result,
    or NULL): a plain added column, like 0012's (no batch-mode copy of the table, whose drop
    would cascade to every version's sample and tags)."""
    op.add_column("model_versions", sa.Column("target_curve", sa.JSON, nullable=True))


def downgrade() -> None:
    """Drop the column."""
    op.drop_column("model_versions", "target_curve")
