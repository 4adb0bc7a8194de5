"""`_` is the catalogue marker (`loyalty.i18n._`): a function that also uses `_` as a throwaway
name (`for _ in ...`, `a, _ = ...`) makes every `_("...")` in it a local variable, and the
error it meant to raise becomes an UnboundLocalError (a 500). Found once in a sale reversal."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("loyalty", "partner_api", "admin_ui")


def _binds_underscore(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, (ast.ExceptHandler,)) and node.name == "_":
            return True
    return False


def _calls_underscore(function: ast.AST) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
        for node in ast.walk(function)
    )


def test_no_function_both_binds_and_calls_the_marker() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    if _binds_underscore(node) and _calls_underscore(node):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {getattr(node, 'name', 'lambda')}")
    assert not found, "these functions shadow the `_` marker (rename the throwaway variable):\n" + "\n".join(found)
