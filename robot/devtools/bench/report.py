"""The benchmark's numbers (one JSON object) and its plot, from what the run recorded.

Definitions:

- *held*: a call from answer to end (the robot streams audio both ways); *in flight*: from the
  claim to the end. Peaks are the largest overlap of those intervals.
- *concurrent calls per core*: call-seconds held per CPU-second the robot used (its process and
  its recognizer processes), i.e. mean calls held / mean cores busy over the run.
- *recognizer RTF*: decode time / audio decoded (after the VAD gate), summed over calls.
- *end of speech -> decision*: the robot's own measure (last voiced frame to the dialog's
  decision); *end of speech -> reply*: the same seen on the wire by the simulated customer
  (its answer's last voiced frame to the first sound of the robot's next prompt). Both include
  the silence the recognizer waits for before it calls an answer finished; compare with a run
  at low concurrency to see what load adds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robot.core.models import CallAttempt


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float], digits: int = 1) -> dict[str, Any]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, digits)

    return {
        "n": len(values),
        "p50": r(percentile(values, 50)),
        "p99": r(percentile(values, 99)),
        "max": r(max(values) if values else None),
    }


def peak_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    edges: list[tuple[float, int]] = []
    for start, end in intervals:
        edges += [(start, 1), (end, -1)]
    peak = cur = 0
    for _, step in sorted(edges):  # ends sort before starts at the same instant
        cur += step
        peak = max(peak, cur)
    return peak


def count_at(intervals: Sequence[tuple[float, float]], t: float) -> int:
    return sum(1 for a, b in intervals if a <= t < b)


@dataclass
class Timeline:
    """Samples taken during the run, seconds from its start."""

    t: list[float] = field(default_factory=list)
    robot_cpu_s: list[float] = field(default_factory=list)


@dataclass
class RunData:
    mode: str
    answer: str
    calls: int
    concurrency: int
    workers: int
    asr_processes: int
    t0_wall: float  # epoch seconds when the first order was pushed
    wall_s: float  # first push to last result
    pushed: list[str]
    records: dict[str, Any]  # order id -> OrderRecord (None if missing)
    finals: dict[str, int]  # order id -> final webhook events received
    originates: dict[str, int] | None  # order id -> Originates seen (protocol mode)
    reply_latency_s: list[float]
    robot_cpu_s: float
    robot_peak_rss_mb: float
    loadgen_cpu_s: float
    asterisk_cpu_s: float | None
    robot_frame_gaps: int | None
    timeline: Timeline
    expected_outcome: str = "confirmed"


def _calls(data: RunData) -> list[CallAttempt]:
    return [c for r in data.records.values() if r is not None for c in r.calls]


def build_report(data: RunData) -> dict[str, Any]:
    calls = _calls(data)
    t0 = data.t0_wall
    held = [
        (c.answered_at.timestamp() - t0, c.ended_at.timestamp() - t0)
        for c in calls
        if c.answered_at and c.ended_at
    ]
    in_flight = [
        (c.created_at.timestamp() - t0, c.ended_at.timestamp() - t0) for c in calls if c.ended_at
    ]
    outcomes: dict[str, int] = {}
    for c in calls:
        key = c.outcome.value if c.outcome else "none"
        outcomes[key] = outcomes.get(key, 0) + 1
    lost = [o for o in data.pushed if data.records.get(o) is None or not data.records[o].calls]
    not_final = [
        o for o in data.pushed if data.records.get(o) is None or not data.records[o].status.is_final
    ]
    doubled = sorted(
        {o for o, r in data.records.items() if r is not None and len(r.calls) > 1}
        | {o for o, n in data.finals.items() if n > 1}
        | {o for o, n in (data.originates or {}).items() if n > 1}
    )
    held_s = sum(b - a for a, b in held)
    decode_s = sum(c.asr_decode_s or 0.0 for c in calls)
    audio_s = sum(c.asr_audio_s or 0.0 for c in calls)
    cpu = data.robot_cpu_s
    completed = sum(1 for c in calls if c.outcome is not None and c.outcome.value != "failed")
    return {
        "mode": data.mode,
        "answer": data.answer,
        "calls": data.calls,
        "concurrency": data.concurrency,
        "workers": data.workers,
        "asr_processes": data.asr_processes,
        "completed": completed,
        "failed": outcomes.get("failed", 0) + len(lost),
        "outcomes": outcomes,
        "unexpected_outcomes": sum(n for k, n in outcomes.items() if k != data.expected_outcome),
        "lost": len(lost),
        "not_final": len(not_final),
        "doubled": len(doubled),
        "peak_concurrent_calls": peak_overlap(held),
        "peak_calls_in_flight": peak_overlap(in_flight),
        "mean_concurrent_calls": round(held_s / data.wall_s, 1) if data.wall_s else None,
        "wall_s": round(data.wall_s, 1),
        "intake_to_originate_ms": summary(
            [c.intake_to_originate_ms for c in calls if c.intake_to_originate_ms is not None]
        ),
        "speech_end_to_decision_ms": summary(
            [c.speech_end_to_decision_ms for c in calls if c.speech_end_to_decision_ms is not None]
        ),
        "end_of_speech_to_reply_ms": summary([s * 1000 for s in data.reply_latency_s]),
        "robot_cpu_s": round(cpu, 2),
        "robot_cpu_s_per_call": round(cpu / len(calls), 3) if calls else None,
        "robot_cores_busy": round(cpu / data.wall_s, 2) if data.wall_s else None,
        "concurrent_calls_per_core": round(held_s / cpu, 1) if cpu > 0 else None,
        "robot_peak_rss_mb": round(data.robot_peak_rss_mb, 1),
        "recognizer_rtf": round(decode_s / audio_s, 4) if audio_s > 0 else None,
        "recognizer_audio_s": round(audio_s, 1),
        "loadgen_cpu_s": round(data.loadgen_cpu_s, 2),
        "asterisk_cpu_s": None if data.asterisk_cpu_s is None else round(data.asterisk_cpu_s, 2),
        "robot_frame_gaps_over_100ms": data.robot_frame_gaps,
    }


def plot(data: RunData, report: dict[str, Any], path: Path) -> None:
    """Concurrency, robot CPU and latencies over time, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    calls = _calls(data)
    t0 = data.t0_wall
    held = [
        (c.answered_at.timestamp() - t0, c.ended_at.timestamp() - t0)
        for c in calls
        if c.answered_at and c.ended_at
    ]
    end = max([b for _, b in held] + [data.wall_s, 1.0])
    grid = [i * 0.5 for i in range(int(end / 0.5) + 2)]
    fig, axes = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    ax = axes[0]
    ax.step(grid, [count_at(held, t) for t in grid], where="post", label="calls held")
    ax.set_ylabel("concurrent calls")
    ax.legend(loc="best", framealpha=0.8)
    ax.set_title(
        f"robot bench: {data.mode} mode, {data.calls} calls at concurrency {data.concurrency}, "
        f"{data.workers} worker(s)"
    )
    ax = axes[1]
    tl = data.timeline
    cpu_pct = [
        100 * (tl.robot_cpu_s[i] - tl.robot_cpu_s[i - 1]) / max(1e-6, tl.t[i] - tl.t[i - 1])
        for i in range(1, min(len(tl.t), len(tl.robot_cpu_s)))
    ]
    ax.plot(tl.t[1 : len(cpu_pct) + 1], cpu_pct, label="robot CPU (% of one core)")
    ax.set_ylabel("CPU %")
    ax.legend(loc="best", framealpha=0.8)
    ax = axes[2]
    orig = [
        (c.originated_at.timestamp() - t0, c.intake_to_originate_ms)
        for c in calls
        if c.originated_at and c.intake_to_originate_ms is not None
    ]
    dec = [
        (c.ended_at.timestamp() - t0, c.speech_end_to_decision_ms)
        for c in calls
        if c.ended_at and c.speech_end_to_decision_ms is not None
    ]
    if orig:
        ax.scatter(*zip(*orig, strict=True), s=6, label="intake → Originate (ms)")
    if dec:
        ax.scatter(*zip(*dec, strict=True), s=6, label="end of speech → decision (ms)")
    ax.set_ylabel("latency, ms")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel("seconds since the first order")
    ax.legend(loc="best", framealpha=0.8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
