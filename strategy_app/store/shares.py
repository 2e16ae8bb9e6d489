"""Read-only share links: a report snapshot stored under an unguessable token.

A share holds the rendered HTML and the report's JSON content as they were when it was made
(later edits to the project do not change it). ``get`` answers None for an unknown or revoked
token, so a viewer learns nothing beyond "not valid".
"""

from __future__ import annotations

import secrets
from typing import cast

from sqlalchemy import CursorResult, Engine, select, update

from strategy_app.store.engine import read, write
from strategy_app.store.schema import ReportShare, utcnow

TOKEN_BYTES = 32
MAX_TITLE = 200


class ShareRepository:
    """The report_shares table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, project_id: int, title: str, html: str, data: dict) -> ReportShare:
        """Store a snapshot of the project's report under a new ``secrets.token_urlsafe`` token."""
        share = ReportShare(
            token=secrets.token_urlsafe(TOKEN_BYTES),
            project_id=project_id,
            title=str(title)[:MAX_TITLE],
            html=html,
            data=data,
            created_at=utcnow(),
            revoked=False,
        )

        def add(session) -> ReportShare:
            session.add(share)
            return share

        return write(self._engine, add)

    def list(self, project_id: int) -> list[ReportShare]:
        """The project's share links (revoked ones included), newest first."""
        query = (
            select(ReportShare)
            .where(ReportShare.project_id == project_id)
            .order_by(ReportShare.created_at.desc())
        )
        return list(read(self._engine, lambda s: s.scalars(query).all()))

    def revoke(self, token: str) -> bool:
        """Revoke the link for good; returns False when there was no such live link."""
        statement = (
            update(ReportShare)
            .where(ReportShare.token == token, ReportShare.revoked.is_(False))
            .values(revoked=True)
        )
        # an UPDATE's result is a CursorResult (Session.execute is typed for any statement)
        return write(self._engine, lambda s: cast(CursorResult, s.execute(statement)).rowcount > 0)

    def get(self, token: str | None) -> ReportShare | None:
        """The live snapshot for ``token``; None when it is unknown, malformed or revoked."""
        if not token or not isinstance(token, str) or len(token) > 64:
            return None
        share = read(self._engine, lambda s: s.get(ReportShare, token))
        return None if share is None or share.revoked else share
