"""A model version's train size (rows its model was trained on) and its saved learning curve.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``model_versions.train_size`` (a count, or NULL) and ``model_versions.learning_curve``
    (a ``learning-curve --json`` result, or NULL). Plain added columns, like 0011's: SQLite's
    batch mode would copy the table, and the copy's drop would cascade to every version's
    sample and tags."""
    op.add_column("model_versions", sa.Column("train_size", sa.Integer, nullable=True))
    op.add_column("model_versions", sa.Column("learning_curve", sa.JSON, nullable=True))


def downgrade() -> None:
    """Drop both columns."""
    op.drop_column("model_versions", "learning_curve")
    op.drop_column("model_versions", "train_size")
