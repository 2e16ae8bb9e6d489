"""Who may do what: the four roles, the signed-in user, and the check every service makes.

Pure rules (no Streamlit, no database): the shell turns ``st.user``'s claims into a
:class:`User` with :func:`role_for`, and each service entry point calls :func:`require` before
it changes anything, so a crafted rerun cannot do what the role forbids.

Roles, each with everything the one before may do:

- ``viewer``: read every project, download reports;
- ``annotator``: also tag errors (and add a category);
- ``editor``: also upload (and delete model versions), draw samples, design splits, run
  searches, manage share links, create and rename projects, edit categories, import tags;
- ``admin``: also delete projects and manage roles.

The roles file (TOML, ``roles.toml`` in the data folder by default)::

    default = "viewer"        # a signed-in user no rule names ("none": refused)
    group_claim = "groups"    # the OIDC claim listing the user's groups (optional)

    [admin]
    emails = ["ana@example.com"]

    [editor]
    domains = ["example.com"]  # every verified address @example.com
    groups = ["ml-leads"]

The highest role whose emails, domains or groups match the user wins.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from diagnostics.validation import InputError

ROLES_FILE = "roles.toml"
NO_ROLE = "none"


class Role(IntEnum):
    """A role; a higher one may do everything a lower one may."""

    VIEWER = 1
    ANNOTATOR = 2
    EDITOR = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        """The role's name as the roles file and the UI write it."""
        return self.name.lower()

    @classmethod
    def named(cls, name: str, where: str) -> Role | None:
        """The role called ``name`` (None for ``"none"``); InputError naming ``where`` else."""
        text = str(name).strip().lower()
        if text == NO_ROLE:
            return None
        try:
            return cls[text.upper()]
        except KeyError:
            choices = ", ".join(r.label for r in cls)
            raise InputError(
                f"{where}: unknown role '{name}'; use one of {choices} (or {NO_ROLE})"
            ) from None


# The least role each change needs (reading and downloading reports need only a role).
ACTIONS = {
    "tag errors": Role.ANNOTATOR,
    "add a category": Role.ANNOTATOR,
    "upload files": Role.EDITOR,
    "delete model versions": Role.EDITOR,
    "change the diagnosis inputs": Role.EDITOR,
    "draw a sample": Role.EDITOR,
    "edit categories": Role.EDITOR,
    "import tags": Role.EDITOR,
    "design splits": Role.EDITOR,
    "run searches": Role.EDITOR,
    "manage share links": Role.EDITOR,
    "create projects": Role.EDITOR,
    "rename projects": Role.EDITOR,
    "delete projects": Role.ADMIN,
    "manage roles": Role.ADMIN,
}


class PermissionDenied(InputError):
    """The user's role does not allow the action; nothing was changed.

    An :class:`InputError`, so every page already shows it with ``st.error``.
    """


@dataclass(frozen=True)
class User:
    """Who is acting: a signed-in account, or the local operator when sign-in is off.

    ``email`` is the stable identity (the annotator name and the audit's ``user``); it is None
    for the local operator, who acts as admin on a loopback address with no sign-in set up.
    """

    email: str | None
    name: str
    role: Role

    @property
    def signed_in(self) -> bool:
        """True for an account from the identity provider."""
        return self.email is not None

    @property
    def identity(self) -> str:
        """What the audit records as the user: the email, or ``local`` without sign-in."""
        return self.email or "local"

    def can(self, action: str) -> bool:
        """True when the role allows ``action`` (one of :data:`ACTIONS`)."""
        return self.role >= ACTIONS[action]


LOCAL_USER = User(email=None, name="", role=Role.ADMIN)


def require(user: User, action: str) -> None:
    """Raise :class:`PermissionDenied` (one line: who, the role, the action, the fix) unless
    ``user`` may do ``action``."""
    if not user.can(action):
        needed = ACTIONS[action]
        raise PermissionDenied(
            f"{user.identity} has the {user.role.label} role and may not {action}: that needs "
            f"the {needed.label} role; ask an admin to change your role in {ROLES_FILE}"
        )


@dataclass(frozen=True)
class RoleRule:
    """Who gets one role: exact addresses, address domains, identity-provider groups."""

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    def matches(self, email: str | None, verified: bool, groups: frozenset[str]) -> bool:
        """True when the user's address or its domain fits (verified addresses only), or a
        group does."""
        domain = email.rpartition("@")[2] if email and "@" in email else None
        if verified and email and (email in self.emails or domain in self.domains):
            return True
        return bool(groups & self.groups)


@dataclass(frozen=True)
class RolesConfig:
    """The roles file: a rule per role, the role of everyone else, the groups claim."""

    rules: dict[Role, RoleRule]
    default: Role | None = Role.VIEWER
    group_claim: str | None = None


def _strings(value: object, where: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f'{where} must be a list of strings, e.g. ["ana@example.com"]')
    return frozenset(v.strip().lower() for v in value if v.strip())


def parse_roles(data: dict, name: str = ROLES_FILE) -> RolesConfig:
    """A :class:`RolesConfig` from the roles file's parsed TOML; InputError naming the key."""
    known = {"default", "group_claim", *(r.label for r in Role)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(
            f"{name}: unknown key '{unknown[0]}'; use default, group_claim or a role table "
            f"({', '.join(r.label for r in Role)})"
        )
    rules = {}
    for role in Role:
        table = data.get(role.label, {})
        if not isinstance(table, dict):
            raise InputError(f"{name}: [{role.label}] must be a table with emails/domains/groups")
        extra = sorted(set(table) - {"emails", "domains", "groups"})
        if extra:
            raise InputError(
                f"{name}: [{role.label}] has unknown key '{extra[0]}'; use emails, domains, groups"
            )
        domains = _strings(table.get("domains", []), f"{name}: [{role.label}] domains")
        rules[role] = RoleRule(
            emails=_strings(table.get("emails", []), f"{name}: [{role.label}] emails"),
            domains=frozenset(d.lstrip("@") for d in domains),
            groups=_strings(table.get("groups", []), f"{name}: [{role.label}] groups"),
        )
    claim = data.get("group_claim")
    if claim is not None and not isinstance(claim, str):
        raise InputError(f'{name}: group_claim must be a claim name, e.g. "groups"')
    default = Role.named(data.get("default", Role.VIEWER.label), f"{name}: default")
    return RolesConfig(rules=rules, default=default, group_claim=claim or None)


def roles_from_text(text: str, name: str = ROLES_FILE) -> RolesConfig:
    """A :class:`RolesConfig` from the roles file's text; InputError naming ``name`` and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{name}: not valid TOML ({exc}); fix the roles file") from None
    return parse_roles(data, name)


def load_roles(path: Path) -> RolesConfig:
    """The roles file at ``path``; a missing file gives every signed-in user the viewer role."""
    path = Path(path)
    if not path.is_file():
        return RolesConfig(rules={})
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; fix the roles file") from None
    return roles_from_text(text, str(path))


def email_verified(claims: dict) -> bool:
    """Whether the provider vouches for the address: ``email_verified`` true (the boolean, or
    the text "true" some providers send), or absent (providers that verify every address and
    omit the claim). ``false``, ``"false"``, ``0`` or anything else is unverified."""
    if "email_verified" not in claims:
        return True
    value = claims["email_verified"]
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def role_for(claims: dict, config: RolesConfig) -> Role | None:
    """The role of a signed-in user with these OIDC ``claims`` (None: no access).

    An email or domain rule needs a verified address (:func:`email_verified`); the groups come
    from the claim ``config.group_claim`` (a list, or one string).
    """
    email = claims.get("email")
    email = email.strip().lower() if isinstance(email, str) and email.strip() else None
    verified = email_verified(claims)
    groups: frozenset[str] = frozenset()
    if config.group_claim:
        raw = claims.get(config.group_claim) or []
        raw = [raw] if isinstance(raw, str) else raw
        groups = frozenset(str(g).strip().lower() for g in raw if isinstance(g, str | int))
    for role in sorted(config.rules, reverse=True):
        if config.rules[role].matches(email, verified, groups):
            return role
    return config.default


def user_from_claims(claims: dict, config: RolesConfig) -> User | None:
    """The :class:`User` for a signed-in account's claims, or None when it has no role (or no
    email to name it by)."""
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        return None
    role = role_for(claims, config)
    if role is None:
        return None
    name = claims.get("name")
    email = email.strip().lower()
    return User(email=email, name=name if isinstance(name, str) and name else email, role=role)
