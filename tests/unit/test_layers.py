"""The layers import downwards only: contracts ← infra ← services, gateway. A service never
imports another service (they talk over RPC and events), and the gateways never import a service."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "contracts": ("infra", "services", "gateway", "deploy"),
    "infra": ("services", "gateway"),
    "gateway": ("services",),
}
ALLOWED = {
    # The operators' command is a composition root: it replays and verifies every service's read models.
    ("infra/cli.py", "services.read_models"),
    # … and the operators add, rotate and revoke partners' keys with the identity service's own rules.
    ("infra/cli.py", "services.identity.partners"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name in sorted(_imports(path))
        if name.split(".")[0] in FORBIDDEN[layer] and (str(path.relative_to(ROOT)), name) not in ALLOWED
    ]
    assert wrong == []


def test_a_service_imports_no_other_service() -> None:
    wrong = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        parts = path.relative_to(ROOT / "services").parts
        own = parts[0] if len(parts) > 1 else None
        for name in _imports(path):
            bits = name.split(".")
            if bits[0] == "services" and len(bits) > 1 and own and bits[1] not in (own, "read_models"):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []
