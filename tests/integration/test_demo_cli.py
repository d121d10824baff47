"""``robot demo`` for a newcomer, run for real (Redis, Asterisk, the service): it prints the API
token and a curl line that works, ``--hold`` prints the results before holding, and SIGTERM,
while running or while holding, stops every process it started."""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from robot.devtools.demo import display_width, format_table

REPO = Path(__file__).resolve().parents[2]
ASTERISK_ROOT = Path(os.environ.get("DOZVON_ASTERISK_ROOT", "/var/cache/dozvon/asterisk-root"))
needs_asterisk = pytest.mark.skipif(
    not (ASTERISK_ROOT / "usr/sbin/asterisk").exists(), reason="Asterisk root not built"
)


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Demo:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "robot", "demo", *args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.out: list[str] = []
        self.err: list[str] = []
        self.lines: queue.Queue[str] = queue.Queue()
        self.readers = [
            threading.Thread(target=self._read, args=(stream, keep), daemon=True)
            for stream, keep in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for r in self.readers:
            r.start()

    def _read(self, stream, keep: list[str]) -> None:
        for line in stream:
            keep.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout_s: float = 180.0) -> str:
        """The first line of either stream, so far or to come, that matches."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in [*self.err, *self.out]:
                if re.search(pattern, line):
                    return line
            if self.proc.poll() is not None and self.lines.empty():
                break
            try:
                self.lines.get(timeout=0.5)
            except queue.Empty:
                pass
        raise AssertionError(f"no {pattern!r}; stderr: {self.err[-20:]}, stdout: {self.out[-20:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
        for r in self.readers:
            r.join(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def sigterm_stops_everything(demo: Demo) -> set[int]:
    started = descendants(demo.proc.pid)
    assert started, "the demo has started nothing?"
    os.kill(demo.proc.pid, signal.SIGTERM)
    demo.proc.wait(90)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(p) for p in started):
        time.sleep(0.2)
    left = {p for p in started if alive(p)}
    assert not left, f"still running after SIGTERM: {left}"
    return started


@needs_asterisk
def test_token_curl_hold_prints_results_and_sigterm_stops_all():
    demo = Demo("--orders", "1", "--hold", "--timeout", "120")
    try:
        token = demo.wait_for(r"^API token: ").split(": ", 1)[1].strip()
        demo.wait_for(r"push an order yourself")
        curl = demo.wait_for(r"^\s+curl ").strip()
        assert f"Bearer {token}" in curl
        # The line works as printed (run by the shell, like a newcomer would).
        out = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=30)
        assert '"my-first-order"' in out.stdout, out.stdout + out.stderr
        # --hold: the table comes before the hold.
        demo.wait_for(r"^mismatches: ")
        assert any(line.startswith("order ") and " ok" in line for line in demo.out)
        demo.wait_for(r"stays at .* until Ctrl-C")
        started = sigterm_stops_everything(demo)
        assert len(started) >= 3  # Redis, Asterisk, the service (and what they run)
        assert demo.proc.returncode == 0
    finally:
        demo.stop()


@needs_asterisk
def test_sigterm_while_running_stops_all():
    demo = Demo("--orders", "2", "--timeout", "120")
    try:
        demo.wait_for(r"^API token: ")
        sigterm_stops_everything(demo)
        assert demo.proc.returncode == 130
    finally:
        demo.stop()


def test_results_table_is_aligned_with_wide_characters():
    rows = [
        {"id": "1201", "language": "ru", "scenario": "говорит «да»", "expected": "confirmed",
         "outcome": "confirmed"},
        {"id": "1202", "language": "ko", "scenario": "네 라고 말한다", "expected": "rejected",
         "outcome": "unclear"},
        {"id": "A-very-long-order-id", "language": "ru", "scenario": "presses 1",
         "expected": "confirmed", "outcome": "confirmed"},
    ]  # fmt: skip
    report = {"model": "m", "language": "ko", "orders": rows, "mismatches": 1, "elapsed_s": 1.0,
              "intake_to_originate_ms": {"p50": 1}, "speech_end_to_decision_ms": {"p50": 2},
              "logs": "/tmp/x"}  # fmt: skip
    lines = format_table(report).splitlines()[1:5]
    # Every column starts at the same screen column on every line.
    starts = []
    for line in lines:
        cols, col = [], 0
        for i, ch in enumerate(line):
            if ch != " " and (i == 0 or line[max(0, i - 2) : i] == "  "):
                cols.append(col)  # a cell starts after the two-space gap
            col += display_width(ch)
        starts.append(cols)
    assert len({tuple(s) for s in starts}) == 1, (starts, lines)
    assert lines[2].split()[-1] == "NO"
