"""The domain imports only the standard library, eventsourcing.domain and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent.parent / "domain"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_imports_nothing_but_stdlib_and_eventsourcing_domain() -> None:
    offenders = []
    for path in DOMAIN.rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top == "domain" or name == "eventsourcing.domain":
                continue
            offenders.append(f"{path.relative_to(DOMAIN.parent)}: {name}")
    assert offenders == []
