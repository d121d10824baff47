"""Every key name in one module: the scripts use only its fragments, no module joins its own."""

from __future__ import annotations

import re
from pathlib import Path

from robot.adapters import redis_scripts
from robot.adapters.redis_keys import SCRIPT_FRAGMENTS, RedisKeys, shop_limits

ROBOT = Path(__file__).resolve().parents[2] / "robot"


def test_names_under_a_prefix():
    k = RedisKeys("t:")
    assert k.order("A-1") == "t:order:A-1"
    assert k.calls("A-1") == "t:calls:A-1"
    assert k.status("queued") == "t:status:queued"
    assert (k.due, k.due_priority, k.lease, k.lease_owner) == (
        "t:due", "t:due:priority", "t:lease", "t:lease:owner")  # fmt: skip
    assert k.phone("+79161234567") == "t:phone:+79161234567"
    assert k.outbox_item("A-1:final") == "t:outbox:item:A-1:final"
    assert (k.outbox_due, k.outbox_inflight, k.outbox_failed) == (
        "t:outbox:due", "t:outbox:inflight", "t:outbox:failed")  # fmt: skip
    assert (k.wakeup, k.hangup) == ("t:wakeup", "t:hangup")
    assert RedisKeys().order("1") == "dozvon:order:1"
    assert shop_limits("Ромашка") == "dozvon:shop:Ромашка:limits"
    assert (k.shops, k.shops_paused, k.shops_limited) == ("t:shops", "t:shops:paused",
                                                          "t:shops:limited")  # fmt: skip
    assert k.limits_calls() == "t:limits:calls" and k.limits_calls("a") == "t:limits:calls:a"


def test_scripts_build_keys_only_from_the_listed_fragments():
    text = "\n".join(v for v in vars(redis_scripts).values() if isinstance(v, str))
    used = set(re.findall(r"p \.\. '([a-z:]+)'", text))
    used |= set(re.findall(r"ARGV\[1\] \.\. '([a-z:]+)'", text))
    assert used, "the scripts build keys from the prefix"
    used = {"status:" if u.startswith("status:") else u for u in used}  # status:<OrderStatus>
    assert used <= SCRIPT_FRAGMENTS, used - SCRIPT_FRAGMENTS


def test_no_module_joins_key_names_itself():
    copies = []
    for path in ROBOT.rglob("*.py"):
        src = path.read_text(encoding="utf-8")
        if path.name != "redis_keys.py" and re.search(r"def _k\(self", src):
            copies.append(str(path.relative_to(ROBOT)))
    assert copies == []
