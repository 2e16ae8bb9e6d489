"""Error analysis: the drawn sample, categories and every annotator's tags.

Revision ID: 0003_labels
Revises: 0002_diagnose_state
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_labels"
down_revision = "0002_diagnose_state"
branch_labels = None
depends_on = None


def _project_id() -> sa.Column:
    return sa.Column(
        "project_id",
        sa.Integer,
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    """Create ``label_samples``, ``label_examples``, ``label_categories``, ``label_rows``, tags."""
    op.create_table(
        "label_samples",
        _project_id(),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("stratified", sa.Boolean, nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "label_examples",
        _project_id(),
        sa.Column("example_id", sa.String(255), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("y_true", sa.Text, nullable=False),
        sa.Column("y_pred", sa.Text, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("input", sa.Text),
    )
    op.create_table(
        "label_categories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "label_rows",
        _project_id(),
        sa.Column("example_id", sa.String(255), primary_key=True),
        sa.Column("annotator", sa.String(100), primary_key=True),
        sa.Column("reviewed", sa.Boolean, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "label_tags",
        _project_id(),
        sa.Column("example_id", sa.String(255), primary_key=True),
        sa.Column("annotator", sa.String(100), primary_key=True),
        sa.Column(
            "category_id",
            sa.Integer,
            sa.ForeignKey("label_categories.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )


def downgrade() -> None:
    """Drop the labeling tables."""
    for table in ("label_tags", "label_rows", "label_categories", "label_examples"):
        op.drop_table(table)
    op.drop_table("label_samples")
