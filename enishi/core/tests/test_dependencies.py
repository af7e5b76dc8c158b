"""`make run` installs only the project's main dependencies (the test extras come with `make
test`): every package the application imports must be one of them or come with one of them.
Without this, a module imported by app code but declared only for tests works in CI and fails
on a user's fresh machine."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
APP = ROOT / "enishi"


def _main_requirements() -> set[str]:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    return {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}


def _installed_with(names: set[str]) -> set[str]:
    """The distributions the main requirements bring, themselves included (no extras)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            todo.append(canonicalize_name(requirement.name))
    return seen


def _imported_by_app() -> dict[str, set[str]]:
    """Top-level third-party modules imported by application code (tests left out)."""
    found: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if "tests" in relative.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top != "enishi" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(relative))
    return found


def test_every_module_the_app_imports_comes_with_the_main_dependencies():
    available = _installed_with(_main_requirements())
    by_module = metadata.packages_distributions()
    missing = {
        module: sorted(files)
        for module, files in _imported_by_app().items()
        if not {canonicalize_name(d) for d in by_module.get(module, [])} & available
    }
    assert not missing, f"imported by the app but not installed by `make run`: {missing}"


def test_the_check_sees_the_app_imports():
    # The scan itself works: it finds what the app is known to import.
    modules = _imported_by_app()
    assert {"django", "ninja", "openpyxl", "weasyprint"} <= set(modules)
