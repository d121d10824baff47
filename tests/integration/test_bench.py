"""``robot bench`` end to end with a handful of calls, in both modes: real intake, scheduler and
robot worker processes; the protocol-level load generator or the real Asterisk."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot.adapters.asr_models import ModelNotInstalled, resolve
from robot.config import Settings
from robot.devtools.asterisk.runtime import environment_problem
from robot.devtools.bench.runner import BenchOptions, run_bench

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _check(report: dict, calls: int) -> None:
    assert report["lost"] == 0 and report["doubled"] == 0 and report["not_final"] == 0
    assert report["completed"] == calls
    assert report["outcomes"] == {"confirmed": calls}
    assert report["intake_to_originate_ms"]["n"] == calls
    assert 1 <= report["peak_concurrent_calls"] <= 2
    assert report["robot_cpu_s"] > 0 and report["concurrent_calls_per_core"] > 0


async def test_protocol_mode_key_presses(tmp_path: Path) -> None:
    plot = tmp_path / "bench.png"
    opts = BenchOptions(
        calls=2,
        concurrency=2,
        mode="protocol",
        answer="dtmf",
        language="ru",
        ring_s=0.2,
        ramp_s=0.0,
        plot=plot,
        workdir=tmp_path / "run",
    )
    report = await run_bench(opts)
    _check(report, 2)
    assert report["end_of_speech_to_reply_ms"]["n"] == 2  # the robot answered each key press
    assert report["unroutable_originates"] == 0  # every Originate carried our AudioSocket
    assert plot.stat().st_size > 0


def _has_model(lang: str) -> bool:
    try:
        resolve(lang, Settings().models_dir)
    except ModelNotInstalled:
        return False
    return True


@pytest.mark.vosk
@pytest.mark.skipif(not _has_model("ko"), reason="no Korean speech model installed")
async def test_protocol_mode_spoken_answers_in_recognizer_processes(tmp_path: Path) -> None:
    opts = BenchOptions(
        calls=2,
        concurrency=2,
        mode="protocol",
        answer="speech",
        language="ko",
        asr_processes=1,
        ring_s=0.2,
        ramp_s=0.0,
        workdir=tmp_path,
    )
    report = await run_bench(opts)
    _check(report, 2)
    assert report["speech_end_to_decision_ms"]["n"] == 2
    assert report["recognizer_rtf"] is not None and report["recognizer_audio_s"] > 0


_problem = environment_problem(Settings().asterisk_root)


@pytest.mark.asterisk
@pytest.mark.skipif(_problem is not None, reason=f"Asterisk root unusable: {_problem}")
async def test_asterisk_mode_key_presses(tmp_path: Path) -> None:
    opts = BenchOptions(
        calls=2,
        concurrency=2,
        mode="asterisk",
        answer="dtmf",
        language="ru",
        ramp_s=0.0,
        workdir=tmp_path,
    )
    report = await run_bench(opts)
    _check(report, 2)
    assert report["asterisk_cpu_s"] is not None
