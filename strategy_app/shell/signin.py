"""Sign-in in the app: Streamlit's own OIDC (``st.login``, ``st.user``, ``st.logout``) and roles.

With no ``[auth]`` section in the secrets, nobody signs in and the local operator acts as admin
(:data:`~strategy_app.auth.LOCAL_USER`); ``serve`` refuses that on a non-loopback address. With
one, every page first asks for sign-in (:func:`require_sign_in`), and the signed-in user's role
comes from the roles file (``STRATEGY_ROLES_FILE``, else ``roles.toml`` in the data folder).
Pages pass :func:`current_user` to each service, which checks the role itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from diagnostics.validation import InputError
from strategy_app.auth import (
    LOCAL_USER,
    ROLES_FILE,
    PermissionDenied,
    User,
    load_roles,
    user_from_claims,
)
from strategy_app.shell.markdown import escape_markdown
from strategy_app.store import data_dir


def auth_configured() -> bool:
    """True when the secrets have an ``[auth]`` section (sign-in is on)."""
    return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)


def roles_path() -> Path:
    """The roles file: ``STRATEGY_ROLES_FILE``, else ``roles.toml`` in the data folder."""
    configured = os.environ.get("STRATEGY_ROLES_FILE")
    return Path(configured) if configured else data_dir() / ROLES_FILE


def signed_in_user() -> User | None:
    """The signed-in user with their role; None when signed out or when the roles give the
    account none. Raises InputError for a broken roles file."""
    if not st.user.is_logged_in:
        return None
    return user_from_claims(st.user.to_dict(), load_roles(roles_path()))


def current_user() -> User:
    """Who is acting in this session: the local operator without sign-in, else the signed-in
    user; PermissionDenied when nobody with a role is signed in."""
    if not auth_configured():
        return LOCAL_USER
    user = signed_in_user()
    if user is None:
        raise PermissionDenied("sign in with an account that has a role on this desk first")
    return user


def require_sign_in() -> User:
    """The acting user; when sign-in is on and nobody (with a role) is signed in, show the
    sign-in screen and stop the page."""
    if not auth_configured():
        return LOCAL_USER
    try:
        user = signed_in_user()
    except InputError as exc:
        st.error(f"The roles file is broken, so nobody can be let in: {escape_markdown(exc)}")
        st.stop()
    if user is not None:
        return user
    st.title("ML-strategy desk", anchor=False)
    if not st.user.is_logged_in:
        st.markdown("Sign in with your organization's account to open the desk.")
        st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login)
    else:
        email = st.user.get("email") or "this account"
        st.warning(
            f"{email} has no role on this desk. Ask an admin to add you to {ROLES_FILE}.",
            icon=":material/block:",
        )
        st.button("Sign out", icon=":material/logout:", on_click=st.logout)
    st.stop()


def account_box(user: User) -> None:
    """The sidebar's account line (who, which role) and the sign-out button, when signed in."""
    if not user.signed_in:
        return
    st.text(f"Signed in as {user.name} · {user.role.label}")  # plain text: nothing to escape
    st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)
