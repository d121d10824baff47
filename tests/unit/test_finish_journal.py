"""The finish journal (robot.adapters.finish_journal): call results kept on local disk while
Redis is away, surviving a restart; one file per live worker, dead workers' files adopted."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from robot.adapters.finish_journal import FileFinishJournal, JournalError, fold
from robot.core.models import CallAttempt, OrderStatus, Outcome
from robot.ports import PendingFinish

T0 = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)


def finish(n: int, outcome: Outcome = Outcome.CONFIRMED, reason: str = "dtmf 1") -> PendingFinish:
    call = CallAttempt(call_id=f"c{n}", order_id=f"o{n}", attempt=1, phone="+79161234567",
                       language="ru", created_at=T0, ended_at=T0, outcome=outcome,
                       reason=reason, transcript=["robot: Алло", "customer: [1]"])  # fmt: skip
    status = OrderStatus.CONFIRMED if outcome is Outcome.CONFIRMED else OrderStatus.QUEUED
    due = None if status.is_final else T0 + timedelta(minutes=10)
    return PendingFinish(call, status, T0, "policy: answered", due)


def test_round_trip_and_restart(tmp_path: Path) -> None:
    j = FileFinishJournal(tmp_path, "w1")
    j.record(finish(1))
    j.record(finish(2, Outcome.NO_ANSWER))
    # A restart: the process is gone (its lock with it), a new one with another id adopts.
    os.close(j._fd)  # type: ignore[arg-type]  # what kill -9 does to the lock
    j2 = FileFinishJournal(tmp_path, "w2")
    got = j2.pending()
    assert got == [finish(1), finish(2, Outcome.NO_ANSWER)]
    assert not (tmp_path / "w1.jsonl").exists()  # adopted into w2's file
    j2.applied("c1")
    j2.applied("c2")
    assert (tmp_path / "w2.jsonl").stat().st_size == 0  # settled: empty again
    j2.close()
    assert list(tmp_path.iterdir()) == []


def test_later_record_of_a_call_replaces_the_earlier(tmp_path: Path) -> None:
    j = FileFinishJournal(tmp_path, "w1")
    early = finish(1, reason="confirmed (at the goodbye)")
    j.record(early)
    j.record(finish(3))
    j.record(finish(1))  # the complete result at the end of the call
    data = (tmp_path / "w1.jsonl").read_bytes()
    assert list(fold(data).values()) == [finish(3), finish(1)]
    j.close()


def test_applied_leaves_the_others(tmp_path: Path) -> None:
    j = FileFinishJournal(tmp_path, "w1")
    for n in range(3):
        j.record(finish(n))
    j.applied("c1")
    j.applied("unknown")
    assert [f.call.call_id for f in fold((tmp_path / "w1.jsonl").read_bytes()).values()] == [
        "c0",
        "c2",
    ]
    assert [f.call.call_id for f in j.pending()] == ["c0", "c2"]
    j.close()
    assert (tmp_path / "w1.jsonl").exists()  # still pending: kept for the next start


def test_torn_last_line_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "dead.jsonl"
    good = json.dumps({"op": "pending", "finish": {
        "call": finish(1).call.model_dump(mode="json"), "status": "confirmed",
        "at": T0.isoformat(), "reason": "", "due_at": None}})  # fmt: skip
    path.write_text(good + "\n" + good[: len(good) // 2])
    j = FileFinishJournal(tmp_path, "w1")
    assert [f.call.call_id for f in j.pending()] == ["c1"]
    assert "unreadable" in caplog.text
    j.close()


def test_a_live_workers_file_is_not_adopted(tmp_path: Path) -> None:
    live = FileFinishJournal(tmp_path, "live")
    live.record(finish(1))
    other = FileFinishJournal(tmp_path, "other")
    assert other.pending() == []
    assert live.pending() == [finish(1)]
    with pytest.raises(JournalError):  # one file, one process
        FileFinishJournal(tmp_path, "live").record(finish(2))
    live.close()
    other.close()


def test_every_write_is_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    j = FileFinishJournal(tmp_path, "w1")
    j.record(finish(1))
    n = len(synced)
    assert n >= 2  # the directory (new file) and the line
    j.record(finish(2))
    assert len(synced) == n + 1
    j.applied("c1")
    assert len(synced) == n + 2
    j.close()
