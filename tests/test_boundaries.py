"""The import rules of ARCHITECTURE.md, enforced by walking every module's imports with `ast`."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sync_protocol", "casework", "printing", "station", "central")
STDLIB = set(sys.stdlib_module_names)

# Third-party top-level modules each pure package may use (besides the standard library).
PURE_ALLOWED = {
    "sync_protocol": {"cryptography"},
    "casework": {"chinese_calendar"},
    "printing": {"reportlab", "segno", "jinja2", "markupsafe"},
}
# Which of our own packages each package may import.
OWN_ALLOWED = {
    "sync_protocol": set(),
    "casework": set(),
    "printing": set(),
    "station": {"sync_protocol", "casework", "printing"},
    "central": {"sync_protocol", "casework", "printing"},
}
WEB_MODULES = {"flask", "flask_babel", "flask_wtf", "wtforms", "werkzeug", "waitress"}
# Inside a node: db <- models <- services <- (tasks, views, cli) <- create_app.
LAYER_FORBIDDEN = {
    "db": {"models", "services", "views", "tasks", "cli", "blueprints"},
    "models": {"services", "views", "tasks", "cli", "blueprints"},
    "services": {"views", "tasks", "cli", "blueprints"},
}


def iter_modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        yield ".".join(rel.parts), path


def imports_of(module: str, path: Path) -> list[str]:
    """Absolute dotted names this module imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parts = module.split(".")
    is_pkg = path.name == "__init__.py"
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts if is_pkg else parts[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                if node.module:
                    found.append(f"{prefix}.{node.module}")
                else:
                    found.extend(f"{prefix}.{alias.name}" for alias in node.names)
            elif node.module:
                found.append(node.module)
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None
    head = parts[1]
    return head if head in LAYER_FORBIDDEN or head in {"views", "tasks", "cli", "blueprints"} else None


def violations() -> list[str]:
    problems: list[str] = []
    for package in PACKAGES:
        for module, path in iter_modules(package):
            for name in imports_of(module, path):
                top = name.split(".")[0]
                if top in STDLIB or top == "__future__":
                    continue
                if top in PACKAGES:
                    if top != package and top not in OWN_ALLOWED[package]:
                        problems.append(f"{module} imports {name}: {package} may not import {top}")
                    if top == package:
                        src, dst = layer_of(module), layer_of(name)
                        if src in LAYER_FORBIDDEN and dst in LAYER_FORBIDDEN[src]:
                            problems.append(f"{module} imports {name}: layer {src} may not import {dst}")
                    continue
                if package in PURE_ALLOWED and top not in PURE_ALLOWED[package]:
                    problems.append(
                        f"{module} imports {name}: {package} is pure (allowed: stdlib + "
                        f"{sorted(PURE_ALLOWED[package])})"
                    )
                if (
                    package in {"station", "central"}
                    and layer_of(module) == "services"
                    and top in WEB_MODULES
                ):
                    problems.append(f"{module} imports {name}: domain services never import the web layer")
    return problems


def test_no_forbidden_import_edges():
    assert violations() == []


@pytest.mark.parametrize(
    ("package", "source", "expected"),
    [
        ("casework", "import flask\n", "casework is pure"),
        ("sync_protocol", "from peewee import Model\n", "sync_protocol is pure"),
        ("station", "import central.db\n", "station may not import central"),
        ("central", "from station import create_app\n", "central may not import station"),
        ("printing", "from casework import catalog\n", "printing may not import casework"),
    ],
)
def test_checker_catches_forbidden_edge(tmp_path, monkeypatch, package, source, expected):
    """The checker itself must see a planted violation (so the main test cannot pass vacuously)."""
    fake_root = tmp_path
    for name in PACKAGES:
        (fake_root / name).mkdir()
        (fake_root / name / "__init__.py").write_text("")
    (fake_root / package / "planted.py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    assert any(expected in problem for problem in violations())


def test_services_layer_may_not_import_views(tmp_path, monkeypatch):
    for name in PACKAGES:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "station" / "services").mkdir()
    (tmp_path / "station" / "services" / "__init__.py").write_text("")
    (tmp_path / "station" / "services" / "intake.py").write_text("from ..views import home\nimport flask\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = violations()
    assert any("layer services may not import views" in p for p in found)
    assert any("never import the web layer" in p for p in found)
