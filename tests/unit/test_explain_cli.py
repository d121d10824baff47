"""``robot explain``: an order on stdin, the policy's decision out, for the cases a supervisor
asks about."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from robot.cli import main

REPO = Path(__file__).resolve().parents[2]
ORDER = {"order_id": "A-1", "phone": "+79161234567", "amount": "2490", "shop_name": "Ромашка"}


@pytest.fixture(autouse=True)
def _no_policy_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("DOZVON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(REPO / "tests")  # no .env file from the developer's checkout


def explain(monkeypatch, capsys, doc, now: str, *extra: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(doc, ensure_ascii=False)))
    code = main(["explain", "--now", now, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def decision(monkeypatch, capsys, doc, now: str) -> dict:
    code, out, err = explain(monkeypatch, capsys, doc, now, "--json")
    assert code == 0, err
    return json.loads(out)


def test_call_now(monkeypatch, capsys):
    d = decision(monkeypatch, capsys, ORDER, "2030-01-15T09:00:00Z")
    assert set(d) == {"action", "at", "reason"}
    assert d["action"] == "call" and d["at"] == "2030-01-15T09:00:00+00:00"


def test_outside_hours_names_local_time_and_zone(monkeypatch, capsys):
    doc = {**ORDER, "timezone": "Asia/Vladivostok"}
    d = decision(monkeypatch, capsys, doc, "2030-01-15T12:30:00Z")  # 22:30 in Vladivostok
    assert d["action"] == "wait" and d["at"] == "2030-01-15T23:00:00+00:00"
    assert "22:30" in d["reason"] and "Asia/Vladivostok" in d["reason"]


@pytest.mark.parametrize(
    ("extra", "word"),
    [({"phone_on_dnc": True}, "do-not-call list"), ({"do_not_call": True}, "do_not_call"),
     ({"status": "cancelled"}, "already cancelled"),
     ({"attempts": [{"at": f"2030-01-15T0{h}:00:00Z", "outcome": "no_answer"}
                    for h in range(5)]}, "attempts exhausted"),
     ({"attempts": [{"at": "2030-01-15T08:00:00Z", "outcome": "confirmed"}]}, "confirmed")],
)  # fmt: skip
def test_stop_cases(monkeypatch, capsys, extra, word):
    d = decision(monkeypatch, capsys, {**ORDER, **extra}, "2030-01-15T09:00:00Z")
    assert d["action"] == "stop" and d["at"] is None and word in d["reason"]


@pytest.mark.parametrize(
    ("extra", "at", "word"),
    [({"attempts": [{"at": "2030-01-15T08:58:00Z", "outcome": "busy"}], "phone_calls": []},
      "2030-01-15T09:03:00+00:00", "line busy"),
     ({"attempts": [{"at": "2030-01-15T08:58:00Z", "outcome": "busy"}]},
      "2030-01-15T09:08:00+00:00", "line busy at Tue 2030-01-15 11:58"),
     ({"attempts": [{"at": "2030-01-15T08:00:00Z", "outcome": "later"}]},
      "2030-01-15T10:00:00+00:00", "callback after 2h"),
     ({"phone_calls": ["2030-01-15T08:55:00Z"]}, "2030-01-15T09:05:00+00:00",
      "between calls to one phone"),
     ({"phone_calls": [f"2030-01-15T0{h}:00:00Z" for h in (5, 6, 7, 8)]},
      "2030-01-16T06:00:00+00:00", "at most 4 a day")],
)  # fmt: skip
def test_wait_cases(monkeypatch, capsys, extra, at, word):
    d = decision(monkeypatch, capsys, {**ORDER, **extra}, "2030-01-15T09:00:00Z")
    assert d["action"] == "wait" and d["at"] == at and word in d["reason"]


def test_holiday_from_the_policy_setting(monkeypatch, capsys):
    monkeypatch.setenv("DOZVON_POLICY_JSON", '{"holidays": ["2030-01-15"]}')
    d = decision(monkeypatch, capsys, ORDER, "2030-01-15T09:00:00Z")
    assert d["action"] == "wait" and "holiday" in d["reason"]
    assert d["at"] == "2030-01-16T06:00:00+00:00"


def test_readable_line(monkeypatch, capsys):
    code, out, _ = explain(monkeypatch, capsys, ORDER, "2030-01-15T20:00:00Z")
    assert code == 0 and out.startswith("WAIT [2030-01-16T06:00:00+00:00]: wait until")


@pytest.mark.parametrize(
    ("stdin", "now", "message"),
    [("{", "2030-01-15T09:00:00Z", "not JSON"),
     (json.dumps({**ORDER, "phone": "12"}), "2030-01-15T09:00:00Z", "phone"),
     (json.dumps(ORDER), "tomorrow", "--now"),
     (json.dumps({**ORDER, "attempts": [{"outcome": "busy"}]}), "2030-01-15T09:00:00Z",
      "attempts")],
)  # fmt: skip
def test_bad_input_exits_2(monkeypatch, capsys, stdin, now, message):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    assert main(["explain", "--now", now]) == 2
    assert message in capsys.readouterr().err


def test_subprocess_json():
    done = subprocess.run(
        [sys.executable, "-m", "robot", "explain", "--now", "2030-01-15T03:00:00Z", "--json"],
        input=json.dumps(ORDER).encode(), capture_output=True, timeout=60, check=True,
        cwd=REPO / "tests", env={k: v for k, v in os.environ.items() if not k.startswith("DOZVON")},
    )  # fmt: skip
    d = json.loads(done.stdout)
    assert d["action"] == "wait" and d["at"] == "2030-01-15T06:00:00+00:00"
    assert "06:00 there" in d["reason"] and "Europe/Moscow" in d["reason"]


def test_the_purposes_retry_rules_apply(monkeypatch, capsys):
    missed = {"attempts": [{"at": "2030-01-15T08:59:00Z", "outcome": "no_answer"}]}
    d = decision(monkeypatch, capsys, {**ORDER, **missed}, "2030-01-15T09:00:00Z")
    assert d["at"] == "2030-01-15T09:09:00+00:00"  # the installation's 10 minutes
    reminder = {**ORDER, **missed, "purpose": "storage_ending"}
    d = decision(monkeypatch, capsys, reminder, "2030-01-15T09:00:00Z")
    assert d["at"] == "2030-01-15T09:29:00+00:00"  # storage_ending: 30 minutes
