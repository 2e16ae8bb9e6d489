"""Uploaded files and the Diagnose page's saved inputs.

Revision ID: 0002_diagnose_state
Revises: 0001_projects
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_diagnose_state"
down_revision = "0001_projects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``uploads`` and ``diagnose_state``."""
    op.create_table(
        "uploads",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "diagnose_state",
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("upload_sha256", sa.String(64), sa.ForeignKey("uploads.sha256")),
        sa.Column("typed_levels", sa.JSON, nullable=False),
        sa.Column("human_levels", sa.JSON, nullable=False),
        sa.Column("metric", sa.String(16)),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("slice_column", sa.String(255)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("diagnose_state")
    op.drop_table("uploads")
