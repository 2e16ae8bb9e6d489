"""Packaging: everything the wheel installs lives in the project's two namespaces.

The repository keeps ``pages/`` and ``sample_data/`` at its root (Streamlit's page scripts, the
sample project); the wheel installs them as ``strategy_app/pages`` and
``strategy_app/sample_data``, so no top-level ``pages`` or ``sample_data`` package lands in
site-packages. The rest of the metadata is in ``pyproject.toml``.
"""

from setuptools import find_namespace_packages, setup

MOVED = {"strategy_app.pages": "pages", "strategy_app.sample_data": "sample_data"}

setup(
    packages=[
        *find_namespace_packages(
            include=["diagnostics*", "strategy_app*"], exclude=["*.__pycache__"]
        ),
        *MOVED,
        "strategy_app.sample_data.images",
    ],
    package_dir=MOVED,
)
