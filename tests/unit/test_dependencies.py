"""Every third-party package the code imports is declared in pyproject.toml.

The product's imports must be in `[project].dependencies`: one that works only because another
package happens to pull it in (kombu through nameko, pamqp through aiormq) breaks the day that
package stops doing so, or pins it to a version our code was never run with. The tests' imports
must be there or in the `test` extra, so that `pip install -e '.[test]'` is enough to run them.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("contracts", "infra", "services", "gateway", "deploy", "bench")
# Programs run by another virtualenv's Python, with their own dependencies (`bench.eventstore
# --peer` installs the library it measures beside our store into one of its own).
OTHER_VIRTUALENVS = frozenset({"bench/peer_eventsourcing.py"})
FIRST_PARTY = frozenset({*PRODUCT, "tests"})


def canonical(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503): `PyYAML` and `pyyaml` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: Iterable[str]) -> set[str]:
    """The distributions named by requirement strings (`uvicorn[standard]>=0.30` → `uvicorn`)."""
    names = set()
    for requirement in requirements:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
        assert match is not None, f"not a requirement: {requirement!r}"
        names.add(canonical(match.group()))
    return names


def declared() -> tuple[set[str], set[str]]:
    """The distributions in `[project].dependencies` and in the `test` extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return (
        requirement_names(project["dependencies"]),
        requirement_names(project["optional-dependencies"]["test"]),
    )


def third_party_imports(folders: Iterable[str]) -> dict[str, set[str]]:
    """The top-level modules imported under `folders` (nested and conditional imports too) that
    are neither the standard library nor ours, each with the files that import it."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if str(path.relative_to(ROOT)) in OTHER_VIRTUALENVS:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.partition(".")[0]
                    if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def undeclared(folders: Iterable[str], allowed: set[str]) -> list[str]:
    """One line per imported module none of whose distributions is in `allowed`."""
    distributions = importlib.metadata.packages_distributions()
    problems = []
    for module, files in sorted(third_party_imports(folders).items()):
        candidates = sorted(canonical(name) for name in distributions.get(module, []))
        if not allowed.intersection(candidates):
            provider = ", ".join(candidates) or "no installed distribution"
            problems.append(f"{module} ({provider}), imported by {', '.join(sorted(files))}")
    return problems


def test_the_scan_sees_imports_of_every_kind() -> None:
    product = third_party_imports(PRODUCT)
    assert {"nameko", "kombu", "sqlalchemy", "starlette"} <= product.keys()
    assert not product.keys() & {"json", "typing", "__future__", "contracts", "infra"}


def test_the_product_imports_only_declared_dependencies() -> None:
    dependencies, _ = declared()
    assert undeclared(PRODUCT, dependencies) == []


def test_the_tests_import_only_dependencies_or_the_test_extra() -> None:
    dependencies, test_extra = declared()
    assert undeclared(["tests"], dependencies | test_extra) == []
