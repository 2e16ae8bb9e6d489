"""What the user entered on the Splits page, saved per project."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from sqlalchemy import Engine

from strategy_app.store.engine import read
from strategy_app.store.projects import save_project_row
from strategy_app.store.schema import SplitPlanRow, utcnow
from strategy_app.store.uploads import UploadRepository

MODES = ("single", "mismatched")


@dataclass(frozen=True)
class SplitPageState:
    """The Splits page's inputs as the user typed them (sizes and rates stay text).

    ``mode`` is ``single`` (``size``) or ``mismatched`` (``source``/``target`` and their
    names). The dataset part names an upload and the columns chosen in it.
    """

    mode: str = "single"
    size: str = ""
    source: str = ""
    target: str = ""
    source_name: str = "source"
    target_name: str = "target"
    test: bool = True
    train_dev: bool = True
    min_difference: str = ""
    baseline_error: str = ""
    upload_sha256: str | None = None
    upload_name: str | None = None
    label: str | None = None
    group: str | None = None
    source_column: str | None = None
    target_value: str | None = None
    hash_column: str | None = None
    seed: int = 0


_INPUT_FIELDS = [
    f.name for f in fields(SplitPageState) if f.name not in ("upload_sha256", "upload_name")
]


class SplitPlanRepository:
    """Save and load :class:`SplitPageState` per project."""

    def __init__(self, engine: Engine, uploads: UploadRepository) -> None:
        self._engine = engine
        self._uploads = uploads

    def save(self, project_id: int, state: SplitPageState) -> None:
        """Replace the project's saved Splits inputs with ``state``."""
        if state.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        values = asdict(state)
        row = SplitPlanRow(
            project_id=project_id,
            inputs={k: values[k] for k in _INPUT_FIELDS},
            upload_sha256=state.upload_sha256,
            updated_at=utcnow(),
        )
        save_project_row(self._engine, project_id, row)

    def load(self, project_id: int) -> SplitPageState:
        """The project's saved inputs, or the defaults when nothing was saved."""
        row = read(self._engine, lambda s: s.get(SplitPlanRow, project_id))
        if row is None:
            return SplitPageState()
        upload = self._uploads.get(row.upload_sha256) if row.upload_sha256 else None
        known = {k: v for k, v in (row.inputs or {}).items() if k in _INPUT_FIELDS}
        return SplitPageState(
            **known,
            upload_sha256=row.upload_sha256 if upload else None,
            upload_name=upload.name if upload else None,
        )
