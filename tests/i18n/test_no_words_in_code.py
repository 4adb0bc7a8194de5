"""Words for people live in the catalogues: no domain error is raised with English typed into the
code (a literal or an f-string), where no translator can reach it. The suite's problem recorder
(tests/conftest.py) sees only the problems tests cause; this sees every raise, tested or not."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import loyalty.app  # noqa: F401 - imports every context, so every DomainError subclass exists
from loyalty.errors import DomainError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("loyalty", "partner_api", "admin_ui")
_WORD = re.compile(r"[A-Za-z]{2,}")


def _error_names() -> set[str]:
    found, todo = set(), [DomainError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


def _typed_words(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.Constant) and _WORD.search(str(part.value)) for part in node.values)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(_WORD.search(node.value))
    if isinstance(node, ast.BinOp):  # "a" + b, "%s" % x
        return _typed_words(node.left) or _typed_words(node.right)
    return False


def test_no_domain_error_carries_words_typed_into_the_code() -> None:
    names = _error_names()
    found: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in names:
                    continue
                detail = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "detail"), None)
                if detail is not None and _typed_words(detail):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}(...)")
    assert not found, "mark these details with _() (loyalty.i18n) and translate them:\n" + "\n".join(found)
