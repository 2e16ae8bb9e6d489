"""Tables, as SQLAlchemy 2 declarative models. Every change here needs an Alembic revision."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every table."""


class Project(Base):
    """One model's strategy work: its uploads, levels, labels, studies and reports."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    current_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dataset_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    dataset_name: Mapped[str | None] = mapped_column(String(255), nullable=True)


class Setting(Base):
    """An application-wide key/value setting (e.g. whether the sample project was created)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Upload(Base):
    """A file a user uploaded; its bytes lie in the data folder under their SHA-256."""

    __tablename__ = "uploads"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelVersionRow(Base):
    """One version of a project's model: a predictions upload (or typed levels) with the
    diagnosis inputs, a name and where it came from (``origin``: kind upload, search, typed or
    migrated; a search's run name and trial). ``number`` counts up per project (v1, v2, ...);
    ``train_size`` is how many train rows its model saw, ``learning_curve`` the curve
    ``learning-curve --project`` measured for it and ``target_curve`` its target-data curve
    (``learning-curve --target-pool … --project``; all optional)."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("project_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    upload_sha256: Mapped[str | None] = mapped_column(ForeignKey("uploads.sha256"))
    typed_levels: Mapped[dict] = mapped_column(JSON)
    human_levels: Mapped[list] = mapped_column(JSON)
    annotations_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    metric: Mapped[str | None] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(32))
    slice_column: Mapped[str | None] = mapped_column(String(255))
    origin: Mapped[dict] = mapped_column(JSON)
    train_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    learning_curve: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    target_curve: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelSample(Base):
    """A version's drawn sample of its dev errors: how it was drawn (one row per version)."""

    __tablename__ = "label_samples"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    seed: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    stratified: Mapped[bool] = mapped_column(Boolean)
    drawn_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelExample(Base):
    """One sampled dev error of a version, keyed by the example's id, with what the reviewer
    sees; ``carried`` marks an example whose tags were carried over from an older version."""

    __tablename__ = "label_examples"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    example_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    y_true: Mapped[str] = mapped_column(Text)
    y_pred: Mapped[str] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    input: Mapped[str | None] = mapped_column(Text)
    carried: Mapped[bool] = mapped_column(Boolean, default=False)


class LabelSuggestion(Base):
    """Evidence offered for one sampled example (likely mislabeled, an image flag, a slice) and
    what a person decided: ``pending``, ``accepted`` (it became a tag) or ``dismissed``. Kept
    apart from the tags: only an accepted suggestion adds one."""

    __tablename__ = "label_suggestions"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    example_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LabelCategory(Base):
    """An error category of a version's analysis; tags refer to its id, so a rename keeps them."""

    __tablename__ = "label_categories"
    __table_args__ = (UniqueConstraint("version_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer)


class LabelRow(Base):
    """One annotator's review of one example; ``version`` grows with every change."""

    __tablename__ = "label_rows"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    example_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    annotator: Mapped[str] = mapped_column(String(100), primary_key=True)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelTag(Base):
    """A category an annotator gave an example."""

    __tablename__ = "label_tags"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    example_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    annotator: Mapped[str] = mapped_column(String(100), primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("label_categories.id", ondelete="CASCADE"), primary_key=True
    )


class ReportShare(Base):
    """A read-only snapshot of a report, opened with ``?report=<token>``."""

    __tablename__ = "report_shares"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    html: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class SplitPlanRow(Base):
    """What the user entered on the Splits page, one row per project.

    ``inputs`` holds the plan's sizes and options and the dataset's column choices (JSON);
    ``upload_sha256`` names the uploaded dataset, so pruning keeps it while it is in use.
    """

    __tablename__ = "split_plans"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    inputs: Mapped[dict] = mapped_column(JSON)
    upload_sha256: Mapped[str | None] = mapped_column(ForeignKey("uploads.sha256"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SearchRunRow(Base):
    """A search (caviar) or panda run started from the Search page.

    The run itself lives outside the database: its Optuna study in ``storage`` and its files in
    ``out_dir``; ``pid`` is the background process last started for it.
    """

    __tablename__ = "search_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    storage: Mapped[str] = mapped_column(Text)
    settings: Mapped[dict] = mapped_column(JSON)
    out_dir: Mapped[str] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SearchStateRow(Base):
    """What the user set on the Search page, one row per project: the search space being
    edited and the last LR range test's result (both JSON)."""

    __tablename__ = "search_state"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    space: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    lr_finder: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """Who changed what and when: one row per tag edit, upload, deletion or share-link change.

    ``project_id`` is a plain column (no foreign key), so a deleted project's history stays.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_project_target", "project_id", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(40))
    project_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target: Mapped[str | None] = mapped_column(String(255), nullable=True)
    detail: Mapped[dict] = mapped_column(JSON)
