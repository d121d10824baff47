"""The import contracts in pyproject.toml (checked by `lint-imports` in scripts/test.sh) name
every top-level module of the ``robot`` package: a module added later falls under the rules
instead of slipping past them, and a module moved away does not linger in them."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import robot

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "importlinter"
]["contracts"]
# The command line may start the dev tools (`robot demo`, `robot bench`, `robot asterisk`).
ENTRY_POINTS = {"robot.cli", "robot.commands"}


def top_level() -> set[str]:
    return {f"robot.{m.name}" for m in pkgutil.iter_modules(robot.__path__)} - {"robot.__main__"}


def contract(starts: str) -> dict:
    (found,) = [c for c in CONTRACTS if c["name"].startswith(starts)]
    return found


def test_engine_is_forbidden_everything_but_core_and_ports() -> None:
    forbidden = set(contract("engine depends on")["forbidden_modules"])
    expected = top_level() - {"robot.core", "robot.ports", "robot.engine"}
    assert forbidden == expected, (
        "edit the engine contract in pyproject.toml: "
        f"add {sorted(expected - forbidden)}, remove {sorted(forbidden - expected)}"
    )


def test_every_module_is_product_or_dev_tool_or_entry_point() -> None:
    c = contract("product modules")
    product, dev = set(c["source_modules"]), set(c["forbidden_modules"])
    assert not product & dev
    unclassified = top_level() - product - dev - ENTRY_POINTS
    stale = (product | dev) - top_level()
    assert not unclassified and not stale, (
        "edit the product/dev-tools contract in pyproject.toml: "
        f"classify {sorted(unclassified)}, remove {sorted(stale)}"
    )
