"""Order text never reaches a synthesizer's command line (issue 12 item 3).

A customer name like ``-f/etc/...`` used to be the last argv element of espeak-ng, which took
it as "speak this file"; ``--path=...`` made the call fail. Real espeak-ng runs below.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from robot.adapters import prompt_audio
from robot.adapters.prompt_audio import synthesize

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="espeak-ng or sox missing"
)
SECRET = "비밀 문서의 내용입니다. " * 60  # read aloud, this is well over half a minute


def seconds(pcm: bytes) -> float:
    return len(pcm) / 16000


def test_a_name_that_looks_like_a_file_option_is_spoken_not_opened(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    read_aloud, _ = synthesize(SECRET, "ko")
    assert seconds(read_aloud) > 30  # what leaking the file would sound like

    name = f"-f{secret}"
    pcm, engine = synthesize(name, "ko")
    assert engine == "espeak-ng"
    # Spoken as the characters of the name: a few seconds, nowhere near the file's length.
    assert 0.2 < seconds(pcm) < seconds(read_aloud) / 4
    spelled, _ = synthesize(f"f {secret}", "ko")
    assert abs(seconds(pcm) - seconds(spelled)) < seconds(spelled) / 2 + 1


@pytest.mark.parametrize(
    "name",
    [
        "--path=/nonexistent",
        "-v",
        "--compile=ko",
        "-w /tmp/x.wav",
        "--stdin",
        "-x -q",
        "-- -f /etc/hostname",
    ],
)
def test_option_like_names_still_synthesize(name: str) -> None:
    pcm, engine = synthesize(name, "ko")
    assert engine == "espeak-ng" and seconds(pcm) > 0.1


@pytest.mark.parametrize("lang", ["ko", "ru"])
def test_no_argv_element_carries_the_text(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    seen: list[list[str]] = []
    real_run = subprocess.run

    def spy(cmd: list[str], *a: Any, **kw: Any) -> Any:
        seen.append(list(cmd))
        return real_run(cmd, *a, **kw)

    monkeypatch.setattr(prompt_audio.subprocess, "run", spy)
    name = "-fИмя --path=/x 홍길동"
    try:
        synthesize(name, lang)
    except prompt_audio.SynthesisError:
        pass  # festival may be missing; the argv is what is checked here
    engines = [c for c in seen if c[0] in ("espeak-ng", "text2wave")]
    assert engines
    for cmd in engines:
        assert all(name not in arg and "Имя" not in arg and "홍길동" not in arg for arg in cmd)
