"""Create, rename and delete projects: the checked, audited entry points Home calls.

Each checks the user's role first (:func:`strategy_app.auth.require`) and records the change in
the audit log after it succeeds.
"""

from __future__ import annotations

from strategy_app.auth import User, require
from strategy_app.store import Project, Store, one_transaction
from strategy_app.store.audit import PROJECT_CREATE, PROJECT_DELETE, PROJECT_RENAME


@one_transaction
def create_project(store: Store, name: str, user: User) -> Project:
    """A new project named ``name`` (an editor may)."""
    require(user, "create projects")
    project = store.projects.create(name)
    store.audit.record(user.identity, PROJECT_CREATE, project.id, None, {"name": project.name})
    return project


@one_transaction
def rename_project(store: Store, project_id: int, name: str, user: User) -> Project:
    """Give the project a new name (an editor may)."""
    require(user, "rename projects")
    before = store.projects.get(project_id)
    project = store.projects.rename(project_id, name)
    detail = {"from": None if before is None else before.name, "to": project.name}
    store.audit.record(user.identity, PROJECT_RENAME, project_id, None, detail)
    return project


@one_transaction
def delete_project(store: Store, project_id: int, user: User) -> None:
    """Delete the project and everything saved in it (an admin may); its audit history stays."""
    require(user, "delete projects")
    project = store.projects.get(project_id)
    store.projects.delete(project_id)
    detail = {"name": None if project is None else project.name}
    store.audit.record(user.identity, PROJECT_DELETE, project_id, None, detail)
