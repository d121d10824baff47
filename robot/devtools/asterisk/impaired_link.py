"""A network that misbehaves, for tests: a point-to-point IPv4 link from this host into a
network namespace of our own, losing and delaying packets like ``tc netem loss 2% delay 40ms
40ms`` would (each packet independently: dropped with probability ``loss``, else delayed by
``delay`` +- ``jitter``, uniformly, so packets may overtake each other).

Why not tc netem: the test machine's kernel has no sch_netem (``CONFIG_NET_SCH_NETEM is not
set``, no module; ``tc qdisc add ... netem`` answers "Specified qdisc kind is unknown"). TUN
devices it has, so the link is two TUN interfaces and this relay between them, in user space:

- ``TUNSETIFF`` with ``IFF_TUN | IFF_NO_PI`` on ``/dev/net/tun`` gives one file descriptor per
  interface carrying bare IP packets; an interface moved into another namespace
  (``ip link set X netns NS``) stays attached to its descriptor, and the interfaces vanish
  when the relay exits (they are not persistent);
- each side gets one address of a /30 with the other as its point-to-point peer; nothing else
  is routed, so only traffic between the two addresses crosses the link.

Run as a child process (``python -m robot.devtools.asterisk.impaired_link ...``) so the relay
does not share a GIL with the service under test: it prints ``ready`` once the link is up
and, on SIGTERM, one JSON line of counters (packets each way, dropped).
"""

from __future__ import annotations

import argparse
import fcntl
import heapq
import json
import os
import random
import selectors
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def problem() -> str | None:
    """Why this host cannot build the link, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, TUN devices)"
    if not Path("/dev/net/tun").exists():
        return "no /dev/net/tun"
    for tool in ("ip",):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            return f"no {tool} command (iproute2)"
    return None


def netem_available() -> bool:
    """Whether ``tc netem`` works here (checked in a throwaway namespace)."""
    ns = f"dz-netem-probe-{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode != 0:
        return False
    try:
        done = subprocess.run(
            ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
             "delay", "1ms"],
            capture_output=True,
        )  # fmt: skip
        return done.returncode == 0
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def _ip(*args: str, netns: str | None = None) -> None:
    prefix = ["ip", "netns", "exec", netns] if netns else []
    subprocess.run([*prefix, "ip", *args], check=True, capture_output=True)


@dataclass
class Counters:
    to_ns: int = 0
    from_ns: int = 0
    dropped_to_ns: int = 0
    dropped_from_ns: int = 0
    max_delay_ms: float = 0.0
    delays_ms: list[float] = field(default_factory=list)

    def as_json(self) -> dict[str, float]:
        d = sorted(self.delays_ms)
        return {
            "to_ns": self.to_ns,
            "from_ns": self.from_ns,
            "dropped_to_ns": self.dropped_to_ns,
            "dropped_from_ns": self.dropped_from_ns,
            "delay_min_ms": round(d[0], 1) if d else 0.0,
            "delay_max_ms": round(d[-1], 1) if d else 0.0,
        }


def relay(host_fd: int, ns_fd: int, loss: float, delay_s: float, jitter_s: float,
          rng: random.Random, stop: list[bool]) -> Counters:  # fmt: skip
    counters = Counters()
    sel = selectors.DefaultSelector()
    sel.register(host_fd, selectors.EVENT_READ, ns_fd)
    sel.register(ns_fd, selectors.EVENT_READ, host_fd)
    queue: list[tuple[float, int, int, bytes]] = []
    seq = 0
    while not stop[0]:
        now = time.monotonic()
        timeout = max(0.0, queue[0][0] - now) if queue else 0.2
        for key, _ in sel.select(min(timeout, 0.2)):
            src, dst = key.fd, key.data
            while True:
                try:
                    packet = os.read(src, 65535)
                except BlockingIOError:
                    break
                toward_ns = src == host_fd
                if toward_ns:
                    counters.to_ns += 1
                else:
                    counters.from_ns += 1
                if rng.random() < loss:
                    if toward_ns:
                        counters.dropped_to_ns += 1
                    else:
                        counters.dropped_from_ns += 1
                    continue
                delay = max(0.0, delay_s + rng.uniform(-jitter_s, jitter_s))
                if len(counters.delays_ms) < 100_000:
                    counters.delays_ms.append(delay * 1000)
                seq += 1
                heapq.heappush(queue, (time.monotonic() + delay, seq, dst, packet))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, dst, packet = heapq.heappop(queue)
            try:
                os.write(dst, packet)
            except OSError:
                pass  # the other side is going away; the packet is lost like any other
    return counters


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--netns", required=True)
    p.add_argument("--name", required=True, help="interface name prefix (<=12 chars)")
    p.add_argument("--host-addr", required=True)
    p.add_argument("--ns-addr", required=True)
    p.add_argument("--loss", type=float, default=0.02)
    p.add_argument("--delay-ms", type=float, default=40.0)
    p.add_argument("--jitter-ms", type=float, default=40.0)
    p.add_argument("--seed", type=int, default=14)
    a = p.parse_args(argv)
    host_if, ns_if = f"{a.name}h", f"{a.name}n"
    host_fd, ns_fd = _open_tun(host_if), _open_tun(ns_if)
    _ip("link", "set", ns_if, "netns", a.netns)
    _ip("addr", "add", a.host_addr, "peer", a.ns_addr, "dev", host_if)
    _ip("link", "set", host_if, "up")
    _ip("link", "set", "lo", "up", netns=a.netns)
    _ip("addr", "add", a.ns_addr, "peer", a.host_addr, "dev", ns_if, netns=a.netns)
    _ip("link", "set", ns_if, "up", netns=a.netns)
    stop = [False]

    def on_term(signum: int, frame: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    print("ready", flush=True)
    counters = relay(host_fd, ns_fd, a.loss, a.delay_ms / 1000, a.jitter_ms / 1000,
                     random.Random(a.seed), stop)  # fmt: skip
    os.close(host_fd)
    os.close(ns_fd)
    print(json.dumps(counters.as_json()), flush=True)
    return 0


class ImpairedLink:
    """A namespace and the lossy, jittery link into it; ``with`` creates and removes both."""

    def __init__(self, name: str, host_addr: str, ns_addr: str, *, loss: float = 0.02,
                 delay_ms: float = 40.0, jitter_ms: float = 40.0) -> None:  # fmt: skip
        self.netns = f"dz-{name}"
        self.name = name[:12]
        self.host_addr, self.ns_addr = host_addr, ns_addr
        self.args = ["--loss", str(loss), "--delay-ms", str(delay_ms), "--jitter-ms",
                     str(jitter_ms)]  # fmt: skip
        self._proc: subprocess.Popen[str] | None = None
        self.counters: dict[str, float] = {}

    def __enter__(self) -> ImpairedLink:
        subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "robot.devtools.asterisk.impaired_link",
                 "--netns", self.netns,
                 "--name", self.name, "--host-addr", self.host_addr, "--ns-addr",
                 self.ns_addr, *self.args],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"impaired link did not come up (exit {self._proc.poll()})")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=10)
                lines = [ln for ln in out.splitlines() if ln.startswith("{")]
                if lines:
                    self.counters = json.loads(lines[-1])
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)


if __name__ == "__main__":
    raise SystemExit(main())
