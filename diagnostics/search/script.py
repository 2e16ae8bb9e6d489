"""The command door: a training script run once per trial, as an argument list, never a shell.

``search --command "python train.py --lr {lr} --out {predictions}"`` is split once with
:func:`shlex.split`; in every argument ``{name}`` becomes the trial's value of parameter
``name``, and ``{predictions}`` (the file the script must write, CSV or Parquet by its
extension: ``{predictions}`` alone is ``predictions.csv`` in the trial's folder), ``{params}``
(a JSON file of every parameter), ``{device}``, ``{seed}``, ``{trial}``, ``{scratch}``,
``{train_fraction}`` and ``{target_k}`` (a learning curve's run: train on that fraction of
train, plus that many rows of the target pool) are filled from the trial's context. The script
prints progress as JSON lines on stdout, ``{"step": 3, "dev_error": 0.12}``; a line that starts
with ``{`` and is not such an object fails the trial (other lines are kept as the script's
output). Its stdout and stderr go to ``stdout.txt`` and ``stderr.txt`` in the trial's folder; a
failure's line ends with the last line of stderr. A trial that runs past ``timeout_s`` is killed
and failed; one the pruner stops is killed and pruned.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from diagnostics.search.objective import PruneRequest, TrialContext, TrialFailure
from diagnostics.validation import InputError

FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
CONTEXT_FIELDS = (
    "predictions",
    "params",
    "device",
    "seed",
    "trial",
    "scratch",
    "train_fraction",
    "target_k",
)
POLL_S = 0.05
TAIL_BYTES = 4096


@dataclass(frozen=True)
class CommandObjective:
    """A training command as an objective (picklable: workers and ``--join`` rebuild it)."""

    argv: tuple[str, ...]
    timeout_s: float | None = None

    @classmethod
    def parse(
        cls, command: str, timeout_s: float | None = None, names: Sequence[str] | None = None
    ) -> CommandObjective:
        """Split ``command`` into arguments; refuse fields that are neither a parameter of
        ``names`` nor a context field, and a command that names no ``{predictions}``."""
        try:
            argv = tuple(shlex.split(command))
        except ValueError as exc:
            raise InputError(f"--command: cannot split it into arguments ({exc})") from exc
        if not argv:
            raise InputError("--command is empty; give the training command to run per trial")
        used = {m for arg in argv for m in FIELD.findall(arg)}
        if "predictions" not in used:
            raise InputError(
                "--command must pass {predictions}: the path where the script writes its "
                "predictions (id, split, y_true, y_pred)"
            )
        if names is not None:
            unknown = sorted(used - set(names) - set(CONTEXT_FIELDS))
            if unknown:
                raise InputError(
                    f"--command: {{{unknown[0]}}} is neither a parameter of the space "
                    f"({', '.join(names)}) nor one of {', '.join(CONTEXT_FIELDS)}"
                )
        if timeout_s is not None and timeout_s <= 0:
            raise InputError("--trial-timeout must be more than 0 seconds")
        return cls(argv, timeout_s)

    @property
    def name(self) -> str:
        """What ran, for ``search --json``'s ``objective``."""
        return "command: " + shlex.join(self.argv)

    def arguments(self, params: dict[str, Any], context: TrialContext) -> tuple[list[str], Path]:
        """The trial's argument list and the predictions path it names."""
        scratch = context.scratch
        predictions = scratch / "predictions.csv"
        params_file = scratch / "params.json"
        params_file.write_text(json.dumps(params, indent=2, default=str))
        values = {
            **{name: _text(value) for name, value in params.items()},
            "predictions": str(predictions),
            "params": str(params_file),
            "device": context.device,
            "seed": str(context.seed),
            "trial": str(context.number),
            "scratch": str(scratch),
            "train_fraction": _text(context.train_fraction),
            "target_k": str(context.target_k),
        }
        argv = [FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), arg) for arg in self.argv]
        return argv, predictions

    def __call__(self, params: dict[str, Any], context: TrialContext) -> Path:
        """Run the command for one trial; returns the predictions file it wrote."""
        argv, predictions = self.arguments(params, context)
        stdout_path, stderr_path = context.scratch / "stdout.txt", context.scratch / "stderr.txt"
        with stdout_path.open("w") as out, stderr_path.open("wb") as err:
            try:
                process = subprocess.Popen(  # an argument list: no shell ever parses it
                    argv,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    start_new_session=True,
                )
            except OSError as exc:
                raise TrialFailure(f"cannot start {argv[0]} ({exc.strerror or exc})") from exc
            problem = _follow(process, out, context, self.timeout_s)
        if problem is not None:
            raise problem
        if process.returncode != 0:
            raise TrialFailure(
                f"the command exited with status {process.returncode}{_tail(stderr_path)}"
            )
        if not predictions.is_file():
            raise TrialFailure(f"the command wrote no predictions file {predictions.name}")
        return predictions


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _follow(
    process: subprocess.Popen[str],
    out: IO[str],
    context: TrialContext,
    timeout_s: float | None,
) -> Exception | None:
    """Read progress lines until the process ends; kill it on timeout, prune or bad progress.

    Returns the exception that ends the trial (None when the process ended by itself).
    """
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    start = time.monotonic()
    seen = 0
    while True:
        exited = process.poll() is not None
        if exited:
            done.wait(5)  # the rest of its output
        problem: Exception | None = None
        while seen < len(lines) and problem is None:
            out.write(lines[seen])
            try:
                _progress(lines[seen], context)
            except TrialFailure as exc:
                problem = exc
            seen += 1
        if problem is None and exited:
            return None
        if problem is None and context.should_prune():
            problem = PruneRequest()
        if problem is None and timeout_s is not None and time.monotonic() - start > timeout_s:
            problem = TrialFailure(f"the command ran past its --trial-timeout of {timeout_s:g} s")
        if problem is not None:
            _kill(process)
            reader.join(timeout=5)
            return problem
        done.wait(POLL_S)


def _progress(line: str, context: TrialContext) -> None:
    """Report a progress line ``{"step": N, "dev_error": X}``; refuse a malformed one."""
    text = line.strip()
    if not text.startswith("{"):
        return
    try:
        record = json.loads(text)
        step, value = record["step"], record["dev_error"]
        if isinstance(step, bool) or not isinstance(step, int):
            raise TypeError
        value = float(value)
    except (ValueError, KeyError, TypeError):
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise TrialFailure(
            f'bad progress line {shown!r}: write {{"step": 3, "dev_error": 0.12}}'
        ) from None
    if not math.isfinite(value):
        raise TrialFailure(f"progress at step {step} reports a non-finite dev error")
    context.report(value, step)


def _kill(process: subprocess.Popen[str]) -> None:
    """End the command and everything it started (its own session)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(path: Path) -> str:
    """``: <last line of the file>`` (empty when the file has none)."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - TAIL_BYTES))
        lines = handle.read().decode("utf-8", "replace").strip().splitlines()
    return f": {lines[-1].strip()}" if lines else ""
