"""The README's settings table matches robot/config.py: every DOZVON_* variable the README
mentions is listed, and each listed default is the one Settings really has."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from robot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Names the README may mention that are Asterisk channel variables, not settings.
CHANNEL_VARIABLES = {"DOZVON_AUDIOSOCKET", "DOZVON_MEDIA_ID"}


def _table_module():
    path = ROOT / "scripts" / "settings_table.py"
    spec = importlib.util.spec_from_file_location("settings_table", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def listed() -> dict[str, str]:
    return dict(re.findall(r"^\| `(DOZVON_[A-Z0-9_]+)` \| ([^|]+?) \|", README, re.M))


def test_every_mentioned_setting_is_listed_with_its_default():
    rows = listed()
    prose = re.sub(r"^\| `DOZVON_.*$", "", README, flags=re.M)  # the table's own notes aside
    mentioned = set(re.findall(r"DOZVON_[A-Z0-9_]*[A-Z0-9]", prose)) - CHANNEL_VARIABLES
    fields = {f"DOZVON_{n.upper()}" for n in Settings.model_fields}
    assert mentioned - fields == set(), "README names settings robot/config.py does not have"
    assert mentioned - set(rows) == set(), "mentioned in the README but not in its settings table"
    table = _table_module()
    for var, default in rows.items():
        assert var in fields, var
        assert default == table.render_default(var.removeprefix("DOZVON_").lower()), var


def test_the_table_lists_every_setting_today():
    # Not a rule for the future (new settings may be listed later), but true when written:
    # a row for a removed setting fails above.
    assert len(listed()) >= 60
