"""The rooms stay walkable: no module of bot/ or handlers/ over 500 lines, and no function over
60 lines without the reason written at its top (a `# long:` comment in its first lines)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LONGEST_MODULE = 500
LONGEST_FUNCTION = 60
REASON = "# long:"


def modules() -> list[Path]:
    return sorted(p for top in ("bot", "handlers") for p in (ROOT / top).rglob("*.py"))


def too_long_functions(source: str) -> list[tuple[str, int]]:
    """(name, lines) of each function longer than LONGEST_FUNCTION whose first lines (the
    signature, the docstring and three more) carry no `# long:` reason."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assert node.end_lineno is not None
        length = node.end_lineno - node.lineno + 1
        if length <= LONGEST_FUNCTION:
            continue
        body = node.body[0]
        head_end = body.end_lineno if isinstance(body, ast.Expr) else body.lineno - 1
        head = lines[node.lineno - 1 : (head_end or node.lineno) + 3]
        if not any(REASON in line for line in head):
            found.append((node.name, length))
    return found


def test_the_rule_itself_finds_a_long_function_and_accepts_a_reason() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(LONGEST_FUNCTION))
    plain = f"def f():\n    '''Doc.'''\n{body}\n"
    assert too_long_functions(plain) == [("f", LONGEST_FUNCTION + 2)]
    reasoned = f"def f():\n    '''Doc.'''\n    # long: one arm per button\n{body}\n"
    assert too_long_functions(reasoned) == []
    short = "def g():\n    return 1\n"
    assert too_long_functions(short) == []


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_short_and_its_long_functions_say_why(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= LONGEST_MODULE, f"{path.name}: split it by what it does"
    assert too_long_functions(source) == [], "split them, or write why next to them (# long:)"
