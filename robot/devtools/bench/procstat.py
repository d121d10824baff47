"""CPU time and memory of a process and its descendants, from Linux ``/proc``.

``/proc/<pid>/stat`` fields (man 5 proc), counted from 1 after the ``(comm)`` field's closing
parenthesis: 4 ppid, 14 utime and 15 stime in clock ticks (``SC_CLK_TCK``), 16/17 the same for
waited-for children. A recognizer process that exits before the last sample is missed, so the
robot's worker processes live as long as the robot (they do).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class ProcSample:
    pid: int
    ppid: int
    cpu_s: float  # user + system of this process, itself only
    rss_bytes: int


def _read(pid: int) -> ProcSample | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        statm = Path(f"/proc/{pid}/statm").read_text().split()
    except (OSError, IndexError):
        return None
    fields = raw[raw.rfind(")") + 2 :].split()  # fields[0] is field 3 (state)
    return ProcSample(
        pid=pid,
        ppid=int(fields[1]),
        cpu_s=(int(fields[11]) + int(fields[12])) * TICK_S,
        rss_bytes=int(statm[1]) * PAGE_BYTES,
    )


def process_tree(root: int) -> list[ProcSample]:
    """``root`` and every live descendant."""
    samples: dict[int, ProcSample] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            s = _read(int(entry.name))
            if s is not None:
                samples[s.pid] = s
    if root not in samples:
        return []
    children: dict[int, list[int]] = {}
    for s in samples.values():
        children.setdefault(s.ppid, []).append(s.pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(samples[pid])
        todo += children.get(pid, [])
    return out


class CpuMeter:
    """Cumulative CPU seconds of process trees, remembering exited descendants' last value."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots
        self._last: dict[int, float] = {}
        self.peak_rss_bytes = 0

    def sample(self) -> float:
        rss = 0
        for root in self.roots:
            for s in process_tree(root):
                self._last[s.pid] = s.cpu_s
                rss += s.rss_bytes
        self.peak_rss_bytes = max(self.peak_rss_bytes, rss)
        return sum(self._last.values())
