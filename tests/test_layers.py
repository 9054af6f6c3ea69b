"""The import contract, read from the code: imports point one way, handlers -> bot -> storage,
and inside `bot` the runtime sits above the rules of the network.

- `storage` imports neither `bot`, `handlers` nor `telegram` (SQL and dataclasses only);
- the rules of the network (`bot/` outside `bot/runtime/`: `bot/<feature>/` and the shared
  modules) import neither `telegram`, `handlers` nor `bot.runtime`;
- `bot/runtime/` (application, context, runner, errors, inbox, limiter, jobs, the delivery
  engine) may use Telegram; of it only `bot/runtime/app.py` (the one registration place) and
  `bot/__main__.py` (the command that starts the bot) import `handlers`.

Every import counts, also one inside a function (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REGISTRATION = {"bot/runtime/app.py", "bot/__main__.py"}


def imported(path: Path) -> set[str]:
    """What a module imports, as dotted names and each of their parents ('bot.runtime.app'
    gives 'bot', 'bot.runtime' and 'bot.runtime.app'); relative imports stay inside."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            dotted = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            dotted = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in dotted:
            parts = name.split(".")
            names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return names


def modules(package: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py"))


def is_runtime(module: str) -> bool:
    return module.startswith("bot/runtime/") or module == "bot/__main__.py"


def forbidden_for(module: str) -> set[str]:
    if module.startswith("storage/"):
        return {"bot", "handlers", "telegram"}
    if module.startswith("bot/"):
        if is_runtime(module):
            return set() if module in REGISTRATION else {"handlers"}
        return {"handlers", "telegram", "bot.runtime"}
    return set()


@pytest.mark.parametrize("module", modules("storage") + modules("bot"))
def test_no_module_imports_upward(module: str) -> None:
    wrong = imported(ROOT / module) & forbidden_for(module)
    assert wrong == set(), f"{module} imports {sorted(wrong)}: the layers point the other way"


def test_the_contract_reads_real_modules() -> None:
    """The contract would pass vacuously if it read nothing: it reads the layers it guards, and
    it does see the imports that are allowed (so a broken parser cannot hide a wrong one)."""
    assert len(modules("storage")) > 10 and len(modules("bot")) > 20
    assert all((ROOT / m).exists() for m in REGISTRATION)
    assert "handlers" in imported(ROOT / "bot/runtime/app.py")
    assert "telegram" in imported(ROOT / "bot/runtime/delivery.py")
    assert "bot.runtime.delivery" in imported(ROOT / "bot/runtime/context.py")
    assert "storage" in imported(ROOT / "bot/incidents/report.py")
    assert "bot.runtime" in forbidden_for("bot/events/cards.py")


def test_a_rule_importing_the_runtime_is_caught(tmp_path: Path) -> None:
    """The check itself: a module of the rules that imports the runtime, Telegram or a handler
    (also lazily, inside a function) is reported."""
    sample = tmp_path / "rule.py"
    sample.write_text(
        "from bot.runtime.delivery import DeliveryEngine\n"
        "def f():\n    import telegram\n    from handlers.events import answers\n",
        encoding="utf-8",
    )
    wrong = imported(sample) & forbidden_for("bot/events/cards.py")
    assert wrong == {"bot.runtime", "telegram", "handlers"}
