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
