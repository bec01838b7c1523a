"""The layers hold: every import in the package (lazy ones too) points down or within its own layer.

core <- engines <- graphs, zoo <- app. graphs and zoo never import each other; only app wires them.
"""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "aurelia_local"
ALLOWED = {
    "core": {"core"},
    "engines": {"core", "engines"},
    "graphs": {"core", "engines", "graphs"},
    "zoo": {"core", "engines", "zoo"},
    "app": {"core", "engines", "graphs", "zoo", "app"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, at any depth (functions included), relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # ``from aurelia_local.x import y`` imports the module ``x.y`` when there is one, else ``x``
            found += [(node.lineno, f"{base}.{alias.name}|{base}") for alias in node.names]
    return found


def layer_of(module: str) -> str | None:
    """The layer of a project module (None for other packages); the package root counts as core."""
    parts = module.split(".")
    if parts[0] != "aurelia_local":
        return None
    if len(parts) == 1 or parts[1] not in ALLOWED:
        return "core"
    return parts[1]


def _project_modules() -> set[str]:
    return {_module_name(p) for p in PACKAGE.rglob("*.py")}


def violations() -> list[str]:
    """``file:line: layer -> module`` for every import that points up or sideways."""
    known = _project_modules()
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = layer_of(_module_name(path))
        for line, names in _imports(path):
            target = next((n for n in names.split("|") if n in known), None)
            if target is None:
                continue  # another package
            other = layer_of(target)
            if other is not None and other not in ALLOWED[own]:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {own} -> {target} ({other})")
    return bad


def test_no_import_points_up_or_sideways():
    assert violations() == []


def test_the_layers_are_the_package_folders():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert folders == set(ALLOWED)
    # the package root holds no modules but its own __init__
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py"]


def test_the_checker_catches_a_lazy_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "aurelia_local"
    (fake / "core").mkdir(parents=True)
    (fake / "app").mkdir()
    for init in (fake / "__init__.py", fake / "core" / "__init__.py", fake / "app" / "__init__.py"):
        init.write_text("")
    (fake / "app" / "cli.py").write_text("X = 1\n")
    (fake / "core" / "config.py").write_text("def f():\n    from ..app import cli\n    return cli\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    assert violations() == ["aurelia_local/core/config.py:2: core -> aurelia_local.app.cli (app)"]


# Registry entries name code by dotted path; the module that resolves them must be allowed to import it.
RESOLVERS = {
    ("FAMILIES", "adapter"): "aurelia_local.zoo.cards",
    ("FAMILIES", "plugin"): "aurelia_local.engines.families",
    ("FAMILIES", "tiny"): "aurelia_local.engines.tiny.kit",
    ("SCORERS", "class_path"): "aurelia_local.engines.scorers",
    ("BENCHMARKS", "loader"): "aurelia_local.app.eval.runner",
}


def test_dotted_paths_are_resolved_only_where_their_layer_may_be_imported():
    from aurelia_local.core import catalog

    for (registry, field), resolver in RESOLVERS.items():
        for entry in getattr(catalog, registry):
            path = getattr(entry, field)
            if path:
                target = layer_of(path.partition(":")[0])
                assert target in ALLOWED[layer_of(resolver)], f"{registry}.{entry.key}: {resolver} -> {path}"
    # nothing else resolves dotted paths: a new caller must be added to RESOLVERS
    imports_load = re.compile(r"^\s*from aurelia_local\.core\.registry import .*\bload\b", re.M)
    callers = {_module_name(p) for p in PACKAGE.rglob("*.py") if imports_load.search(p.read_text())}
    assert callers == set(RESOLVERS.values())
