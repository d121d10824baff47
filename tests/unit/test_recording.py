"""Call recordings (robot.engine.recording) and what the dialer does around a conversation
(robot.engine.call_features)."""

from __future__ import annotations

import asyncio
import os
import wave
from datetime import UTC, date, datetime
from pathlib import Path

from robot.core.dialog import Finish
from robot.core.models import CallAttempt, Intent, Outcome
from robot.engine.call_features import CallFeatures
from robot.engine.recording import RecordingMedia, purge_recordings
from robot.ports import MediaKind
from robot.testing import LOUD_FRAME, FakeMedia, ManualClock

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


async def test_both_sides_land_on_one_timeline(tmp_path: Path) -> None:
    clock = ManualClock()
    inner = FakeMedia(play_s=0.05)
    media = RecordingMedia(inner, clock=clock)
    assert media.call_id == inner.call_id
    # The robot speaks at t=0 for 1 s of audio but is cut after 0.5 s (barge-in).
    play = asyncio.create_task(media.play(LOUD_FRAME * 50))
    await asyncio.sleep(0)
    clock.t = 100.5
    media.stop_playback()
    assert await play is False
    # The caller's frame arrives at t=0.52 (its audio spans 0.50-0.52).
    inner.events.put_nowait(_audio(100.52))
    ev = await media.events.get()
    assert ev.kind is MediaKind.AUDIO
    path = await media.save(tmp_path, NOW)
    assert path == tmp_path / "2026-11-22" / f"{inner.call_id}.wav"
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 8000, 2)
        frames = w.readframes(w.getnframes())
    samples = memoryview(frames).cast("h")
    left, right = samples[0::2], samples[1::2]
    assert any(right[:4000])  # the robot's first half second
    assert not any(right[4100:])  # cut at 0.5 s
    assert not any(left[:3990]) and any(left[4000:4160])  # the caller at 0.50-0.52


def _audio(at: float):
    from robot.ports import MediaEvent

    return MediaEvent(MediaKind.AUDIO, at, pcm=LOUD_FRAME)


async def test_nothing_heard_or_said_is_not_saved(tmp_path: Path) -> None:
    media = RecordingMedia(FakeMedia())
    assert await media.save(tmp_path, NOW) is None
    assert os.listdir(tmp_path) == []


def test_retention_deletes_old_days_only(tmp_path: Path) -> None:
    for name in ("2026-10-01", "2026-11-01", "2026-11-21", "not-a-date"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.wav").write_bytes(b"RIFF")
    removed = purge_recordings(tmp_path, 30, date(2026, 11, 22))
    assert [p.name for p in removed] == ["2026-10-01"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11-01", "2026-11-21", "not-a-date"]
    assert purge_recordings(tmp_path, 0, date(2030, 1, 1)) == []  # 0 keeps everything


def _call() -> CallAttempt:
    return CallAttempt(
        call_id="c1", order_id="o1", phone="+79161234567", language="ru", created_at=NOW
    )


async def test_operator_is_transferred_and_later_keeps_the_time() -> None:
    asked: list[tuple[str, str]] = []

    async def transfer(call_id: str, server: str) -> bool:
        asked.append((call_id, server))
        return True

    features = CallFeatures(transfer=transfer)
    call = _call()
    media = FakeMedia()
    assert features.wrap(media) is media  # not recording: the media as it is
    finish = Finish(Outcome.OPERATOR, Intent.OPERATOR, "dtmf 0")
    assert await features.finish(call, media, finish, NOW) == "dtmf 0; transferred"
    assert asked == [("c1", "default")]
    later = Finish(Outcome.LATER, Intent.LATER, "said: перезвоните через час")
    await features.finish(call, media, later, NOW)
    assert call.callback_hint == "+60m"


async def test_failed_or_missing_transfer_is_said_in_the_reason(tmp_path: Path) -> None:
    async def refuse(call_id: str, server: str) -> bool:
        return False

    finish = Finish(Outcome.OPERATOR, Intent.OPERATOR, "said: оператор")
    reason = await CallFeatures(transfer=refuse).finish(_call(), FakeMedia(), finish, NOW)
    assert reason.endswith("transfer failed, call ended")
    reason = await CallFeatures().finish(_call(), FakeMedia(), finish, NOW)
    assert reason.endswith("no operator target configured, call ended")


async def test_recorded_call_gets_its_path(tmp_path: Path) -> None:
    features = CallFeatures(recordings_dir=tmp_path)
    media = features.wrap(FakeMedia(play_s=0.01))
    assert isinstance(media, RecordingMedia)
    await media.play(LOUD_FRAME * 5)
    call = _call()
    await features.finish(call, media, Finish(Outcome.CONFIRMED, Intent.YES, "dtmf 1"), NOW)
    assert call.recording is not None
    assert Path(call.recording).name == f"{media.call_id}.wav"
