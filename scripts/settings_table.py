"""The README's settings table from ``robot/config.py``: every ``DOZVON_*`` variable, its
default and what it is for (the comment beside or above the field).

    .venv/bin/python scripts/settings_table.py        # print the table (Markdown)

tests/unit/test_readme_settings.py checks the README against the same rendering: every
``DOZVON_*`` the README mentions is in the table, with the default Settings really has.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from robot.config import GROUPS, REPO_ROOT, Settings  # noqa: E402

# Defaults that depend on the machine, shown as what they are.
COMPUTED = {"worker_id": "`<host name>-<pid>`"}


def render_default(name: str) -> str:
    if name in COMPUTED:
        return COMPUTED[name]
    field = Settings.model_fields[name]
    value: Any = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
    if value is None:
        return "unset"
    if isinstance(value, Path):
        try:
            return f"`{value.relative_to(REPO_ROOT)}` (in the checkout)"
        except ValueError:
            return f"`{value}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | dict):
        return "empty"
    return f"`{value}`"


def field_comments() -> dict[str, str]:
    """The comment on each field's line, else the comment block above its group (a blank
    line ends a group), read from the settings groups' classes and Settings itself."""
    body: list[str] = []
    for cls in [*GROUPS.values(), Settings]:
        body += ["", *inspect.getsource(cls).splitlines()]
    comments: dict[str, str] = {}
    block: list[str] = []
    after_comment = False
    for line in body:
        text = line.strip()
        if text.startswith("#"):
            block = [*block, text[1:].strip()] if after_comment else [text[1:].strip()]
            after_comment = True
            continue
        after_comment = False
        if not text:
            block = []
            continue
        m = re.match(r"^    (\w+)\s*:", line)
        if m and m.group(1) in Settings.model_fields:
            inline = line.split("  # ", 1)[1].strip() if "  # " in line else ""
            comments[m.group(1)] = inline or " ".join(block)
    return comments


def group_of(name: str) -> str:
    """The group a setting belongs to (``Settings.<group>``), or "" for the process's own."""
    return next((g for g, model in GROUPS.items() if name in model.model_fields), "")


def rows() -> list[tuple[str, str, str, str]]:
    notes = field_comments()
    out = []
    for name in Settings.model_fields:
        note = re.sub(r"\s+", " ", notes.get(name, "")).replace("|", "\\|")
        group = group_of(name)
        out.append(
            (f"DOZVON_{name.upper()}", render_default(name), f"`{group}`" if group else "", note)
        )
    return out


def table() -> str:
    lines = ["| variable | default | group | what it is |", "|---|---|---|---|"]
    lines += [f"| `{v}` | {d} | {g} | {n} |" for v, d, g, n in rows()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
