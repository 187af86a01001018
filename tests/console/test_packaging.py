"""The console never ships: it is not in the Lambda package, and nothing that ships imports it."""

from __future__ import annotations

import ast
import shutil
import zipfile
from pathlib import Path

from chalice.deploy.packager import AppOnlyDeploymentPackager, DependencyBuilder
from chalice.utils import UI, OSUtils

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_ONLY = {"console", "flask", "jinja2", "werkzeug", "selenium", "ops", "devstack"}


def test_the_app_code_chalice_packages_has_no_console(tmp_path: Path) -> None:
    # GIVEN a copy of the project with the console beside the app, as in the repository
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(ROOT / name, tmp_path / name)
    for name in ("chalicelib", "console", ".chalice"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "deployments"))

    # WHEN Chalice builds the app's code into a deployment package (what every function ships,
    # beside the pinned requirements.txt)
    osutils = OSUtils()
    packager = AppOnlyDeploymentPackager(osutils, DependencyBuilder(osutils), UI())
    package = packager.create_deployment_package(str(tmp_path), "python3.11")

    # THEN it holds app.py and chalicelib/ only
    with zipfile.ZipFile(package) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert "app.py" in tops and "chalicelib" in tops
    assert not tops & {"console", "templates"}, tops


def test_nothing_that_ships_imports_the_console_or_its_framework() -> None:
    shipped = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    for path in shipped:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in CONSOLE_ONLY, f"{path.relative_to(ROOT)} imports {name}"
    runtime = (ROOT / "requirements.txt").read_text().lower()
    assert not any(f"{name}==" in runtime for name in ("flask", "jinja2", "werkzeug", "selenium"))
