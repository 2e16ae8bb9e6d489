"""Annotators' labels kept with a model version (measured human levels and the floor).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``model_versions.annotations_sha256`` (an upload, or NULL). A plain added column,
    like ``projects.dataset_sha256``: SQLite's batch mode would copy the table, and the copy's
    drop would cascade to every version's sample and tags."""
    op.add_column("model_versions", sa.Column("annotations_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop ``model_versions.annotations_sha256``."""
    op.drop_column("model_versions", "annotations_sha256")
