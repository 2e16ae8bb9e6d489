"""Projects: create, rename, list, open, delete."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError

from diagnostics.validation import InputError
from strategy_app.store.engine import check_text, read, write
from strategy_app.store.labels import delete_version_labels
from strategy_app.store.schema import ModelVersionRow, Project, SplitPlanRow, utcnow
from strategy_app.store.uploads import UploadRepository

MAX_NAME = 100
PROJECT_DATASET = "project"  # the search's name for a project's own dataset
DATASET_LABEL = "label"  # the label column of a project's dataset
PARQUET_SUFFIXES = (".parquet", ".pq")


def save_project_row(engine: Engine, project_id: int, row) -> None:
    """Insert or replace a per-project row (keyed by ``project_id``) and touch the project."""

    def replace(session) -> None:
        project = session.get(Project, project_id)
        if project is None:
            raise LookupError(f"project {project_id} does not exist")
        project.updated_at = utcnow()
        session.merge(row)

    write(engine, replace)


def clean_name(name: str) -> str:
    """A project name with surrounding spaces removed; refuses empty or too-long names."""
    name = " ".join(str(name).split())
    if not name:
        raise InputError("a project needs a name")
    if len(name) > MAX_NAME:
        raise InputError(f"a project name has at most {MAX_NAME} characters")
    check_text("the project name", name)
    return name


class ProjectRepository:
    """The projects table."""

    def __init__(self, engine: Engine, uploads: UploadRepository) -> None:
        self._engine = engine
        self._uploads = uploads

    def _check_free(self, session, name: str, keep_id: int | None = None) -> None:
        query = select(Project.id).where(func.lower(Project.name) == name.lower())
        taken = session.scalars(query).first()
        if taken is not None and taken != keep_id:
            raise InputError(f"a project named '{name}' already exists; choose another name")

    def create(self, name: str) -> Project:
        """A new, empty project; refuses a name already taken (ignoring case)."""
        name = clean_name(name)

        def add(session) -> Project:
            self._check_free(session, name)
            project = Project(name=name)
            session.add(project)
            session.flush()
            return project

        return self._unique(add, name)

    def rename(self, project_id: int, name: str) -> Project:
        """Give the project a new name."""
        name = clean_name(name)

        def change(session) -> Project:
            project = self._existing(session, project_id)
            self._check_free(session, name, keep_id=project_id)
            project.name, project.updated_at = name, utcnow()
            return project

        return self._unique(change, name)

    def delete(self, project_id: int) -> None:
        """Delete the project and everything saved for it."""

        def remove(session) -> None:
            versions = select(ModelVersionRow.id).where(ModelVersionRow.project_id == project_id)
            for version_id in session.scalars(versions).all():
                delete_version_labels(session, version_id)
            for table in (ModelVersionRow, SplitPlanRow):
                session.execute(delete(table).where(table.project_id == project_id))
            session.execute(delete(Project).where(Project.id == project_id))

        write(self._engine, remove)
        self._uploads.prune()

    def set_dataset(self, project_id: int, name: str, data: bytes) -> None:
        """Keep ``data`` (a features file named ``name``) as the project's dataset, replacing
        the one it had; the caller checks it first."""
        upload = self._uploads.add(name, data)

        def attach(session) -> None:
            project = self._existing(session, project_id)
            project.dataset_sha256, project.dataset_name = upload.sha256, name
            project.updated_at = utcnow()

        write(self._engine, attach)
        self._uploads.prune()

    def dataset(self, project_id: int) -> tuple[str, Path] | None:
        """The project's dataset as (its file name, where its bytes lie), or None."""
        project = self.get(project_id)
        if project is None or project.dataset_sha256 is None:
            return None
        return project.dataset_name or "dataset.csv", self._uploads.path(project.dataset_sha256)

    def dataset_spec(self, project_id: int) -> str:
        """The search's spec (``csv:PATH`` or ``parquet:PATH``) of the project's dataset, whose
        ``split`` column and ids the search keeps; refused when the project holds none."""
        found = self.dataset(project_id)
        if found is None:
            raise InputError(
                "this project holds no dataset: upload a features file (id, split, label, "
                "numeric features) on Search, or apply a split plan to a dataset on Splits"
            )
        name, path = found
        return f"{'parquet' if name.lower().endswith(PARQUET_SUFFIXES) else 'csv'}:{path}"

    def list(self) -> list[Project]:
        """Every project, the most recently opened first."""
        return read(self._engine, list_projects)

    def get(self, project_id: int) -> Project | None:
        """The project with this id, or None."""
        return read(self._engine, lambda s: s.get(Project, project_id))

    def get_by_name(self, name: str) -> Project | None:
        """The project with this name (ignoring case), or None."""
        query = select(Project).where(func.lower(Project.name) == clean_name(name).lower())
        return read(self._engine, lambda s: s.scalars(query).first())

    def mark_opened(self, project_id: int) -> None:
        """Record that the user switched to this project (it is opened first next time)."""

        def touch(session) -> None:
            self._existing(session, project_id).opened_at = utcnow()

        write(self._engine, touch)

    @staticmethod
    def _existing(session, project_id: int) -> Project:
        project = session.get(Project, project_id)
        if project is None:
            raise InputError(f"project {project_id} no longer exists; pick another project")
        return project

    def _unique(self, work, name: str) -> Project:
        try:
            return write(self._engine, work)
        except IntegrityError:
            raise InputError(
                f"a project named '{name}' already exists; choose another name"
            ) from None


def list_projects(session) -> list[Project]:
    """Within a read, every project, the most recently opened first."""
    query = select(Project).order_by(Project.opened_at.desc(), Project.id.desc())
    return list(session.scalars(query).all())
