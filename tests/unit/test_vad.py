"""The energy VAD, the speech gate and the end of an answer, on synthetic 8 kHz frames."""

from __future__ import annotations

import math
import random
from array import array

import pytest

from robot.core.vad import (
    FRAME_BYTES,
    FRAME_MS,
    SILENCE_DBFS,
    EndOfSpeech,
    EnergyVad,
    SpeechGate,
    VadConfig,
    frame_dbfs,
)

SAMPLES = FRAME_BYTES // 2


def tone(dbfs: float, hz: float = 440.0) -> bytes:
    """One 20 ms frame of a sine whose RMS level is ``dbfs``."""
    amplitude = 32768 * 10 ** (dbfs / 20) * math.sqrt(2)
    return array(
        "h", (round(amplitude * math.sin(2 * math.pi * hz * n / 8000)) for n in range(SAMPLES))
    ).tobytes()


def noise(dbfs: float, rng: random.Random) -> bytes:
    """One frame of Gaussian noise at about ``dbfs`` RMS."""
    sigma = 32768 * 10 ** (dbfs / 20)
    return array(
        "h", (max(-32768, min(32767, round(rng.gauss(0, sigma)))) for _ in range(SAMPLES))
    ).tobytes()


SILENCE = bytes(FRAME_BYTES)


def test_frame_level() -> None:
    assert frame_dbfs(SILENCE) == SILENCE_DBFS
    assert frame_dbfs(b"") == SILENCE_DBFS
    assert frame_dbfs(tone(-20)) == pytest.approx(-20, abs=0.2)
    assert frame_dbfs(tone(-6)) == pytest.approx(-6, abs=0.2)
    full = array("h", [32767, -32768] * (SAMPLES // 2)).tobytes()
    assert frame_dbfs(full) == pytest.approx(0, abs=0.01)
    assert frame_dbfs(tone(-20)[:-1]) == pytest.approx(-20, abs=0.3)  # odd byte ignored


def test_onset_needs_consecutive_voiced_frames() -> None:
    vad = EnergyVad(VadConfig(onset_frames=2))
    assert not any(vad.is_speech(SILENCE) for _ in range(10))
    assert not vad.is_speech(tone(-20))  # one voiced frame: a click, not speech yet
    assert vad.voiced
    assert not vad.is_speech(SILENCE)
    assert not vad.is_speech(tone(-20))
    assert vad.is_speech(tone(-20))  # the second in a row starts speech


def test_hangover_bridges_short_pauses_and_ends_speech() -> None:
    cfg = VadConfig(onset_frames=1, hangover_frames=5)
    vad = EnergyVad(cfg)
    vad.is_speech(SILENCE)
    assert vad.is_speech(tone(-20))
    for _ in range(4):
        assert vad.is_speech(SILENCE)  # a pause shorter than the hangover
    assert vad.is_speech(tone(-20))
    assert vad.frames_since_voiced == 0
    results = [vad.is_speech(SILENCE) for _ in range(5)]
    assert results == [True, True, True, True, False]


def test_absolute_minimum_ignores_quiet_sounds_on_a_silent_line() -> None:
    vad = EnergyVad()
    for _ in range(10):
        vad.is_speech(SILENCE)
    assert not any(vad.is_speech(tone(-55)) for _ in range(10))  # 65 dB above digital zero
    assert any(vad.is_speech(tone(-30)) for _ in range(3))


def test_noise_floor_follows_a_noisy_line() -> None:
    rng = random.Random(1)
    vad = EnergyVad()
    for _ in range(VadConfig().floor_window_frames + 25):
        vad.is_speech(noise(-40, rng))
    assert not vad.speaking
    assert vad.noise_floor_dbfs == pytest.approx(-40, abs=4)
    assert not any(vad.is_speech(noise(-40, rng)) for _ in range(100))
    assert not any(vad.is_speech(tone(-33)) for _ in range(5))  # within the margin: noise
    vad.reset()
    assert any(vad.is_speech(tone(-20)) for _ in range(3))  # 20 dB above the noise


def test_audio_starting_in_mid_speech_is_speech() -> None:
    vad = EnergyVad()
    assert [vad.is_speech(tone(-25)) for _ in range(3)] == [False, True, True]


def test_noise_step_is_absorbed_within_the_floor_window() -> None:
    rng = random.Random(2)
    cfg = VadConfig(floor_window_frames=50, hangover_frames=10)
    vad = EnergyVad(cfg)
    for _ in range(60):
        vad.is_speech(noise(-60, rng))
    states = [vad.is_speech(noise(-35, rng)) for _ in range(100)]
    assert states[5]  # a sudden rise looks like speech at first...
    assert not any(states[70:])  # ...until the quiet frames leave the window


def test_reset_keeps_the_floor_but_drops_speech() -> None:
    rng = random.Random(3)
    vad = EnergyVad()
    for _ in range(30):
        vad.is_speech(noise(-45, rng))
    floor = vad.noise_floor_dbfs
    vad.is_speech(tone(-15))
    vad.is_speech(tone(-15))
    assert vad.speaking
    vad.reset()
    assert not vad.speaking
    assert vad.noise_floor_dbfs == floor


def run_gate(gate: SpeechGate, frames: list[bytes]) -> list:
    return [gate.push(f) for f in frames]


def test_gate_decodes_preroll_speech_and_tail_only() -> None:
    cfg = VadConfig(onset_frames=2, hangover_frames=3, preroll_frames=4, tail_frames=2)
    gate = SpeechGate(cfg)
    quiet = [SILENCE] * 20
    speech = [tone(-20, 300 + 10 * i) for i in range(6)]  # distinct frames to follow them
    steps = run_gate(gate, quiet + speech + quiet)

    assert not any(s.decode for s in steps[:20])  # long silence is never decoded
    start = steps[21]  # the onset: the second voiced frame
    assert start.speech_started
    assert start.decode == (*quiet[:3], speech[0], speech[1])  # 4 frames of pre-roll + this
    decoded = [f for s in steps for f in s.decode]
    assert decoded == [*quiet[:3], *speech, *[SILENCE] * (3 + 2)]
    ended = [i for i, s in enumerate(steps) if s.speech_ended]
    assert ended == [20 + 6 + 2]  # the third unvoiced frame after speech
    assert steps[ended[0]].ended_frames_ago == 3
    flushes = [i for i, s in enumerate(steps) if s.flush]
    assert flushes == [ended[0] + 2]  # after the tail
    assert not gate.decoding


def test_gate_without_tail_flushes_when_speech_ends() -> None:
    gate = SpeechGate(VadConfig(onset_frames=1, hangover_frames=2, tail_frames=0))
    steps = run_gate(gate, [SILENCE, tone(-20), SILENCE, SILENCE, SILENCE])
    assert [s.flush for s in steps] == [False, False, False, True, False]
    assert steps[3].speech_ended


def test_speech_resuming_in_the_tail_continues_the_utterance() -> None:
    cfg = VadConfig(onset_frames=1, hangover_frames=2, preroll_frames=2, tail_frames=5)
    gate = SpeechGate(cfg)
    frames = [SILENCE, tone(-20), SILENCE, SILENCE, SILENCE, tone(-20), SILENCE]
    steps = run_gate(gate, frames)
    assert [s.speech_started for s in steps] == [False, True, False, False, False, True, False]
    assert not any(s.flush for s in steps)
    assert [len(s.decode) for s in steps] == [0, 2, 1, 1, 1, 1, 1]  # no gap, no repeats


def test_gate_reset_drops_preroll() -> None:
    gate = SpeechGate(VadConfig(onset_frames=1, preroll_frames=3))
    run_gate(gate, [SILENCE, tone(-20), tone(-20)])
    gate.reset()
    assert not gate.speaking and not gate.decoding
    steps = run_gate(gate, [SILENCE, tone(-20)])
    assert steps[1].decode == (SILENCE, tone(-20))


# -- the end of an answer (EndOfSpeech) ---------------------------------------------------------


def test_the_end_of_answer_timings_are_ordered() -> None:
    cfg = VadConfig()
    flush_s = (cfg.hangover_frames + cfg.tail_frames) * FRAME_MS / 1000
    assert flush_s < cfg.yes_hold_s < cfg.end_of_speech_s  # nothing cuts a held yes


def _turn(end: EndOfSpeech, gate: SpeechGate, frames: list[bytes], t0: float = 0.0):
    """Push ``frames`` (20 ms apart from ``t0``); the times at which nothing_heard said yes."""
    verdicts = []
    for i, frame in enumerate(frames):
        at = t0 + (i + 1) * FRAME_MS / 1000
        end.step(gate.push(frame), gate.speaking, at)
        if end.nothing_heard(at, gate.decoding):
            verdicts.append(round(at, 2))
    return verdicts


def test_speech_without_words_ends_the_turn_once_after_end_of_speech() -> None:
    gate, end = SpeechGate(), EndOfSpeech()
    loud, quiet = tone(-20), bytes(FRAME_BYTES)
    verdicts = _turn(end, gate, [quiet] * 10 + [loud] * 15 + [quiet] * 100)
    due = (10 + 15) * FRAME_MS / 1000 + VadConfig().end_of_speech_s  # after the last voice
    [at] = verdicts  # once
    assert due - 0.001 <= at <= due + FRAME_MS / 1000  # on the first frame that late


def test_no_verdict_without_speech_or_after_an_answer() -> None:
    gate, end = SpeechGate(), EndOfSpeech()
    loud, quiet = tone(-20), bytes(FRAME_BYTES)
    assert _turn(end, gate, [quiet] * 200) == []  # silence: the listen timeout's business
    _turn(end, gate, [loud] * 15)
    end.gave_answer()  # the recognizer said something
    assert _turn(end, gate, [quiet] * 100, t0=10.0) == []
    end.reset()  # the next turn
    assert _turn(end, gate, [loud] * 15 + [quiet] * 100, t0=20.0) != []


def test_a_yes_is_held_until_the_yes_hold_has_passed() -> None:
    gate, end = SpeechGate(), EndOfSpeech()
    _turn(end, gate, [tone(-20)] * 15)  # last voiced frame ends at 0.3 s
    assert end.holds_yes(0.3, speaking=True)
    assert end.holds_yes(0.3 + VadConfig().yes_hold_s - 0.01, speaking=False)
    assert not end.holds_yes(0.3 + VadConfig().yes_hold_s, speaking=False)
