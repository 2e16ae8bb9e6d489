"""Model versions: a project holds versions, and error analysis belongs to one of them.

Every project with saved Diagnose inputs (or an error-analysis sample or categories) gets its
version 1 from them; its sample, categories, reviews and tags move to that version (the label
tables are keyed by ``version_id`` instead of ``project_id``; category ids are kept, so tags
still refer to theirs). ``diagnose_state`` is dropped: its rows live on as the versions.
The project also gets its current version and an optional dataset (a features upload).

Revision ID: 0008_model_versions
Revises: 0007_search_state
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_model_versions"
down_revision = "0007_search_state"
branch_labels = None
depends_on = None

LABEL_TABLES = ("label_samples", "label_examples", "label_categories", "label_rows", "label_tags")


def _owner(name: str, target: str, primary_key: bool = True) -> sa.Column:
    return sa.Column(
        name,
        sa.Integer,
        sa.ForeignKey(f"{target}.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def _create_label_tables(owner: str, target: str) -> None:
    """The label tables of revision 0003, keyed by ``owner`` (a column referring to ``target``)."""
    op.create_table(
        "label_samples",
        _owner(owner, target),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("stratified", sa.Boolean, nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
    )
    extra = [sa.Column("carried", sa.Boolean, nullable=False)] if owner == "version_id" else []
    op.create_table(
        "label_examples",
        _owner(owner, target),
        sa.Column("example_id", sa.String(255), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("y_true", sa.Text, nullable=False),
        sa.Column("y_pred", sa.Text, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("input", sa.Text),
        *extra,
    )
    op.create_table(
        "label_categories",
        sa.Column("id", sa.Integer, primary_key=True),
        _owner(owner, target, primary_key=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint(owner, "name"),
    )
    op.create_table(
        "label_rows",
        _owner(owner, target),
        sa.Column("example_id", sa.String(255), primary_key=True),
        sa.Column("annotator", sa.String(100), primary_key=True),
        sa.Column("reviewed", sa.Boolean, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "label_tags",
        _owner(owner, target),
        sa.Column("example_id", sa.String(255), primary_key=True),
        sa.Column("annotator", sa.String(100), primary_key=True),
        sa.Column(
            "category_id",
            sa.Integer,
            sa.ForeignKey("label_categories.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )


def _rows(bind, table: str) -> list[dict]:
    """Every row of ``table`` as typed values (reflected, so JSON and dates are read back)."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=bind)
    return [dict(row._mapping) for row in bind.execute(sa.select(reflected))]


def _read_label_tables(bind) -> dict[str, list[dict]]:
    return {table: _rows(bind, table) for table in LABEL_TABLES}


def _drop_label_tables() -> None:
    for table in reversed(LABEL_TABLES):
        op.drop_table(table)


def _write_label_tables(bind, rows: dict[str, list[dict]]) -> None:
    metadata = sa.MetaData()
    for table in LABEL_TABLES:
        if rows[table]:
            bind.execute(sa.Table(table, metadata, autoload_with=bind).insert(), rows[table])
    if bind.dialect.name == "postgresql":  # ids were inserted as they were: move the sequence on
        bind.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('label_categories', 'id'), "
                "COALESCE((SELECT MAX(id) FROM label_categories), 0) + 1, false)"
            )
        )


def _rekey(rows: dict[str, list[dict]], old: str, new: str, mapping: dict[int, int]) -> None:
    for table_rows in rows.values():
        for row in table_rows:
            row[new] = mapping[row.pop(old)]


def upgrade() -> None:
    """Create ``model_versions``, move each project's inputs and labels into its version 1."""
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("upload_sha256", sa.String(64), sa.ForeignKey("uploads.sha256")),
        sa.Column("typed_levels", sa.JSON, nullable=False),
        sa.Column("human_levels", sa.JSON, nullable=False),
        sa.Column("metric", sa.String(16)),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("slice_column", sa.String(255)),
        sa.Column("origin", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "number"),
    )
    op.add_column("projects", sa.Column("current_version_id", sa.Integer, nullable=True))
    op.add_column("projects", sa.Column("dataset_sha256", sa.String(64), nullable=True))
    op.add_column("projects", sa.Column("dataset_name", sa.String(255), nullable=True))

    bind = op.get_bind()
    metadata = sa.MetaData()
    versions = sa.Table("model_versions", metadata, autoload_with=bind)
    projects = sa.Table("projects", metadata, autoload_with=bind)
    # by sha256; a state without an upload looks up None
    upload_names: dict[str | None, str] = dict(
        bind.execute(sa.text("SELECT sha256, name FROM uploads")).all()
    )
    states = {row["project_id"]: row for row in _rows(bind, "diagnose_state")}
    labelled = {
        row[0]
        for table in ("label_samples", "label_categories")
        for row in bind.execute(sa.text(f"SELECT DISTINCT project_id FROM {table}"))
    }
    version_of: dict[int, int] = {}
    for project in _rows(bind, "projects"):
        project_id, created_at = project["id"], project["created_at"]
        state = states.get(project_id)
        if state is None and project_id not in labelled:
            continue
        state = state or {"source": "upload", "updated_at": created_at}
        if state["source"] == "typed":
            label = "typed levels"
        else:
            label = upload_names.get(state.get("upload_sha256"), "before versions")
        values = {
            "project_id": project_id,
            "number": 1,
            "name": f"v1 · {label}",
            "source": state["source"],
            "upload_sha256": state.get("upload_sha256"),
            "typed_levels": state.get("typed_levels") or {},
            "human_levels": state.get("human_levels") or [],
            "metric": state.get("metric"),
            "unit": state.get("unit") or "",
            "slice_column": state.get("slice_column"),
            "origin": {"kind": "migrated"},
            "created_at": state["updated_at"],
            "updated_at": state["updated_at"],
        }
        key = bind.execute(versions.insert().values(**values)).inserted_primary_key
        assert key is not None  # a one-row INSERT reports its primary key
        version_id = key[0]
        version_of[project_id] = version_id
        bind.execute(
            projects.update()
            .where(projects.c.id == project_id)
            .values(current_version_id=version_id)
        )

    rows = _read_label_tables(bind)
    _rekey(rows, "project_id", "version_id", version_of)
    for row in rows["label_examples"]:
        row["carried"] = False
    _drop_label_tables()
    _create_label_tables("version_id", "model_versions")
    _write_label_tables(bind, rows)
    op.drop_table("diagnose_state")


def downgrade() -> None:
    """Back to one state per project: each project's current version and its labels."""
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
    bind = op.get_bind()
    current = {
        version_id: project_id
        for project_id, version_id in bind.execute(
            sa.text("SELECT id, current_version_id FROM projects")
        )
        if version_id is not None
    }
    bind.execute(
        sa.text(
            "INSERT INTO diagnose_state (project_id, source, upload_sha256, typed_levels, "
            "human_levels, metric, unit, slice_column, updated_at) "
            "SELECT v.project_id, v.source, v.upload_sha256, v.typed_levels, v.human_levels, "
            "v.metric, v.unit, v.slice_column, v.updated_at FROM model_versions v "
            "JOIN projects p ON p.current_version_id = v.id"
        )
    )
    rows = _read_label_tables(bind)
    for table, table_rows in rows.items():
        rows[table] = [row for row in table_rows if row["version_id"] in current]
    _rekey(rows, "version_id", "project_id", current)
    for row in rows["label_examples"]:
        row.pop("carried")
    _drop_label_tables()
    _create_label_tables("project_id", "projects")
    _write_label_tables(bind, rows)
    for column in ("dataset_name", "dataset_sha256", "current_version_id"):
        op.drop_column("projects", column)
    op.drop_table("model_versions")
