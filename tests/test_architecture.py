"""The import contracts are rules: a module added where a rule reaches is checked at once.

Each case copies the code into a temporary folder, adds one wrong import and runs
``lint-imports`` there: the contract that names the rule must break.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports_with(tmp_path: Path, module: str, source: str) -> subprocess.CompletedProcess:
    """Run lint-imports on a copy of the code with ``module`` (a dotted name) added or
    replaced by ``source``."""
    for name in ("diagnostics", "strategy_app", "pages"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path.joinpath(*module.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not (path.parent / "__init__.py").exists():
        (path.parent / "__init__.py").write_text("")
    path.write_text(source)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        (
            "strategy_app.newfeature.service",
            "import streamlit\n",
            "services, commands, the store, roles and the CLI never import Streamlit",
        ),
        (
            "strategy_app.newfeature.service",
            "import strategy_app.errors.ui\n",
            "services are below every UI, command and the shell",
        ),
        (
            "strategy_app.newfeature.ui",
            "import strategy_app.diagnose.ui\n",
            "a feature's UI never imports another feature's UI",
        ),
        (
            "diagnostics.newresult",
            "import diagnostics.report\n\n\ndef view():\n    return diagnostics.report\n",
            "",  # report imports nothing of it: no circle, every contract kept
        ),
    ],
)
def test_a_new_module_falls_under_the_rules(tmp_path, module, source, contract):
    found = lint_imports_with(tmp_path, module, source)
    if contract:
        assert found.returncode != 0, found.stdout
        assert f"{contract} BROKEN" in " ".join(found.stdout.split())
    else:
        assert found.returncode == 0, found.stdout + found.stderr


def test_a_result_that_imports_its_renderer_makes_a_circle(tmp_path):
    waterfall = (ROOT / "diagnostics" / "waterfall.py").read_text()
    found = lint_imports_with(
        tmp_path, "diagnostics.waterfall", waterfall + "\n\nimport diagnostics.report  # noqa\n"
    )
    assert found.returncode != 0
    assert "the library has no import circle" in " ".join(found.stdout.split())
    assert "BROKEN" in found.stdout


def test_a_command_that_imports_the_cli_breaks_the_rule(tmp_path):
    found = lint_imports_with(
        tmp_path, "strategy_app.newfeature.command", "from strategy_app.cli import main\n"
    )
    assert found.returncode != 0
    assert "the CLI entry point is on top" in " ".join(found.stdout.split())
