"""``robot intent``: lines of text in, one JSON object per line out."""

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


def test_subprocess_ru() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "robot", "intent", "--lang", "ru"],
        input="да\nне звоните мне больше\n\nчто?\n".encode(),
        capture_output=True,
        timeout=60,
        check=True,
        cwd=REPO,
        env={**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": ""},
    )
    lines = done.stdout.decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"text": "да", "intent": "yes"},
        {"text": "не звоните мне больше", "intent": "dnc"},
        {"text": "", "intent": "unknown"},
        {"text": "что?", "intent": "repeat"},
    ]
    assert "да" in lines[0]  # ensure_ascii=False: readable text, not \u escapes


def test_answers_line_by_line() -> None:
    """Each answer is flushed before the next line is read (usable behind a pipe)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "robot", "intent", "--lang", "ko"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for text, intent in [("네 맞아요", "yes"), ("전화하지 마세요", "dnc")]:
            proc.stdin.write(f"{text}\n".encode())
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline()) == {"text": text, "intent": intent}
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
        proc.stdout.close()


def test_main_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("ага, подтверждаю\r\nперезвоните позже\n"))
    assert main(["intent", "--lang", "ru"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["intent"] for o in out] == ["yes", "later"]
    assert out[0]["text"] == "ага, подтверждаю"


def test_unknown_language_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["intent", "--lang", "de"])
    assert "invalid choice" in capsys.readouterr().err


def test_change_carries_the_day_time_and_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = "да, только в воскресенье после восьми вечера\nк маме, а не ко мне\nда\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["intent", "--lang", "ru", "--today", "2026-12-01"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0] == {
        "text": "да, только в воскресенье после восьми вечера",
        "intent": "change",
        "change": {"date": "2026-12-06", "after": "20:00", "before": None, "address": False},
    }
    assert out[1]["change"] == {"date": None, "after": None, "before": None, "address": True}
    assert out[2] == {"text": "да", "intent": "yes"}  # no "change" key unless a change


def test_today_must_be_a_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["intent", "--lang", "ru", "--today", "01.12.2026"])
    assert "YYYY-MM-DD" in capsys.readouterr().err
