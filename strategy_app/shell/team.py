"""Manage roles from the app: an admin edits the roles file (checked, validated, audited)."""

from __future__ import annotations

import os
from pathlib import Path

from strategy_app.auth import NO_ROLE, RolesConfig, User, require, roles_from_text
from strategy_app.store import Store
from strategy_app.store.audit import ROLES_CHANGE

ROLES_TEMPLATE = """\
# Who gets which role on this desk; the highest matching role wins.
default = "viewer"        # any other signed-in account ("none": turned away)
# group_claim = "groups"  # the identity provider's claim listing groups

[admin]
emails = []

[editor]
emails = []
domains = []

[annotator]
emails = []
"""


def roles_text(path: Path) -> str:
    """The roles file's text, or a commented template when there is none yet."""
    path = Path(path)
    return path.read_text(encoding="utf-8") if path.is_file() else ROLES_TEMPLATE


def save_roles(store: Store, path: Path, text: str, user: User) -> RolesConfig:
    """Replace the roles file with ``text`` (an admin may); a file that does not parse is
    refused with the key to fix and the old one stays. The change is audited."""
    require(user, "manage roles")
    path = Path(path)
    config = roles_from_text(text, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.new")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)  # readers see the old file or the new one, never half of it
    detail: dict = {
        r.label: sorted(x.emails | x.domains | x.groups) for r, x in config.rules.items()
    }
    detail["default"] = NO_ROLE if config.default is None else config.default.label
    store.audit.record(user.identity, ROLES_CHANGE, None, path.name, detail)
    return config
