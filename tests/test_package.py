"""The installable package: a wheel built from this tree, installed, run from an empty folder.

The wheel goes into a fresh virtual environment with ``--no-deps``; a ``.pth`` file puts this
test environment's site-packages after the new one's, so the dependencies are found without a
download, while ``strategy_app``, ``diagnostics``, ``pages`` and ``sample_data`` come from the
wheel only (the checkout is not on the path: every command runs in an empty folder).
"""

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from strategy_app.cli import main
from tests import app_server
from tests.app_server import running_app

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = (".git", ".venv", "data", "build", "dist", "tests", "bench", "docs", "test-artifacts")
CACHES = ("__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache", ".pytest_cache")


def _run(command: list[str], cwd: Path, env: dict[str, str], **kwargs) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command}: {done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv, env, empty folder, wheel): the wheel installed into a venv of its own."""
    base = tmp_path_factory.mktemp("package")
    source = base / "source"  # building writes build/ and *.egg-info: never into the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT, *CACHES))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "STRATEGY_DB_URL")}
    wheels = base / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    _run([*build, "-w", str(wheels), str(source)], base, env)
    (wheel,) = wheels.glob("strategy_desk-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base, env)
    python = venv / "bin" / "python"
    purelib = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], base, env
        ).strip()
    )
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()}
    (purelib / "test-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    _run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], base, env)
    empty = base / "empty"
    empty.mkdir()
    env["STRATEGY_DATA_DIR"] = str(empty / "data")
    return venv, env, empty, wheel


def test_the_wheel_holds_what_the_app_reads_at_run_time(installed):
    _, _, _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "strategy_app/app.py",
        "strategy_app/streamlit_config.toml",
        "strategy_app/store/migrations/script.py.mako",
        "strategy_app/store/migrations/versions/0001_projects.py",
        "strategy_app/pages/diagnose.py",
        "diagnostics/templates/report.html.j2",
        "diagnostics/py.typed",
        "strategy_app/sample_data/predictions.csv",
        "strategy_app/sample_data/regression.csv",
        "strategy_app/sample_data/make_samples.py",
        "strategy_app/sample_data/images/dev_00000.png",
    ):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("tests/", "bench/")) or "__pycache__" in n]
    # everything inside the project's namespaces: no top-level pages or sample_data (issue 31)
    assert {n.split("/")[0] for n in names if "/" in n} - {"diagnostics", "strategy_app"} == {
        f"{wheel.name.split('-py3')[0]}.dist-info"
    }
    metadata = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-py3')[0]}.dist-info/METADATA")
    requires = [line for line in metadata.decode().splitlines() if line.startswith("Requires-Dist")]
    runtime = [line for line in requires if "extra ==" not in line]
    assert not [line for line in runtime if any(t in line for t in ("pytest", "ruff", "psycopg"))]
    assert any("psycopg" in line and 'extra == "postgres"' in line for line in requires)


def test_strategy_desk_diagnose_from_an_empty_folder_matches_the_checkout(installed, capsys):
    venv, env, empty, _ = installed
    where = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import strategy_app, diagnostics; "
            "print(strategy_app.__file__); print(diagnostics.__file__)",
        ],
        empty,
        env,
    )
    assert all(line.startswith(str(venv)) for line in where.splitlines())  # not the checkout
    sample = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from strategy_app.shell.sample import sample_predictions_path as p; print(p())",
        ],
        empty,
        env,
    ).strip()
    assert sample.startswith(str(venv)) and Path(sample).is_file()
    out = _run(
        [str(venv / "bin" / "strategy-desk"), "diagnose", sample, "--human", "0.5%", "--json"],
        empty,
        env,
    )
    assert (
        main(
            ["diagnose", str(ROOT / "sample_data" / "predictions.csv"), "--human", "0.5%", "--json"]
        )
        == 0
    )
    assert json.loads(out) == json.loads(capsys.readouterr().out)
    assert list(empty.iterdir()) == []  # a diagnosis writes nothing into the current folder


@pytest.mark.browser
def test_strategy_desk_serve_from_an_empty_folder_opens_the_sample_project(installed):
    from playwright.sync_api import expect, sync_playwright

    venv, env, empty, _ = installed
    serve = running_app(
        empty.parent / "serve.log", env, command=[str(venv / "bin" / "strategy-desk")], cwd=empty
    )
    with serve as url, sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        expect(page.get_by_text("Sample: handwritten digits").first).to_be_visible(timeout=60_000)
        browser.close()

    assert (empty / "data" / "strategy.db").is_file()  # the caller's data folder
    shown = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from strategy_app.store import open_store; "
            "print([p.name for p in open_store().projects.list()])",
        ],
        empty,
        env,
    )
    assert "Sample: handwritten digits" in shown
