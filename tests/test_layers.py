"""The import contract, read from the code: imports point one way, handlers -> bot -> storage.

- `storage` imports neither `bot`, `handlers` nor `telegram` (SQL and dataclasses only);
- `bot` does not import `handlers`, except `bot/app.py` (the one registration place) and
  `bot/__main__.py` (the command that starts it);
- the rules of the network in `bot` import no `telegram`: only the runtime does (the modules
  listed in RUNTIME, which touch Telegram: context, runner, errors, inbox, limiter, jobs, the
  delivery engine).

Every import counts, also one inside a function (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = {
    "bot/__main__.py",
    "bot/app.py",
    "bot/context.py",
    "bot/delivery.py",
    "bot/errors.py",
    "bot/inbox.py",
    "bot/jobs.py",
    "bot/ratelimit.py",
    "bot/runner.py",
}
REGISTRATION = {"bot/app.py", "bot/__main__.py"}


def imported(path: Path) -> set[str]:
    """The top-level packages a module imports (absolute imports; relative ones stay inside)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def modules(package: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py"))


def forbidden_for(module: str) -> set[str]:
    if module.startswith("storage/"):
        return {"bot", "handlers", "telegram"}
    if module.startswith("bot/"):
        upward = set() if module in REGISTRATION else {"handlers"}
        return upward | (set() if module in RUNTIME else {"telegram"})
    return set()


@pytest.mark.parametrize("module", modules("storage") + modules("bot"))
def test_no_module_imports_upward(module: str) -> None:
    wrong = imported(ROOT / module) & forbidden_for(module)
    assert wrong == set(), f"{module} imports {sorted(wrong)}: the layers point the other way"


def test_the_contract_reads_real_modules() -> None:
    """The contract would pass vacuously if it read nothing: it reads the layers it guards, and
    it does see the imports that are allowed (so a broken parser cannot hide a wrong one)."""
    assert len(modules("storage")) > 10 and len(modules("bot")) > 20
    assert all((ROOT / m).exists() for m in RUNTIME)
    assert "handlers" in imported(ROOT / "bot/app.py")
    assert "telegram" in imported(ROOT / "bot/delivery.py")
    assert "storage" in imported(ROOT / "bot/incidents.py")
