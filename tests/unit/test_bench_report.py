"""The benchmark report's arithmetic: percentiles, peak overlap, and the settings-derived
AudioSocket address each worker advertises."""

from __future__ import annotations

from robot.config import Settings
from robot.devtools.bench.report import count_at, peak_overlap, percentile, summary
from robot.service import advertised_audiosocket


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7
    assert percentile([], 50) is None
    assert summary([1.0, 2.0, 3.0]) == {"n": 3, "p50": 2.0, "p99": 3.0, "max": 3.0}


def test_peak_overlap_counts_calls_held_at_once() -> None:
    calls = [(0, 10), (5, 15), (10, 20), (12, 13)]
    assert peak_overlap(calls) == 3  # at 12: (5,15), (10,20), (12,13); (0,10) ended at 10
    assert count_at(calls, 12.5) == 3
    assert peak_overlap([]) == 0


def test_each_worker_advertises_its_own_audiosocket() -> None:
    assert (
        advertised_audiosocket(Settings(audiosocket_host="10.0.0.5").media, 9100) == "10.0.0.5:9100"
    )
    assert advertised_audiosocket(Settings(audiosocket_host="0.0.0.0").media, 9100) is None
    explicit = Settings(audiosocket_host="0.0.0.0", audiosocket_advertise="robot-3:9092")
    assert advertised_audiosocket(explicit.media, 9100) == "robot-3:9092"
    auto = advertised_audiosocket(Settings(audiosocket_advertise="auto").media, 9100)
    assert auto is not None and auto.endswith(":9100")
