"""A private ``redis-server`` process for tests, the demo and CI.

Durability choice: ``appendonly yes`` with ``appendfsync always`` by default. Every write the
robot makes is small and rare (a handful per call, calls per second in the tens at most), so
fsync per write costs nothing we would notice, and in exchange "Redis answered OK" means "it is
on disk": an order acknowledged to the CRM (201) or a call outcome survives even a SIGKILL or a
power cut, not merely a clean shutdown. ``everysec`` would risk the last second of
acknowledged orders on a crash; pass ``appendfsync="everysec"`` if throughput ever matters more.
RDB snapshots are off (``save ""``): the AOF alone is the durable copy, so there is one source
of truth to reason about at restart.

The process is ours alone: it binds 127.0.0.1 on a free port, and ``stop`` signals only the PID
we started. ``restart`` keeps the directory and the port, so clients reconnect to the same URL
and the test can prove nothing acknowledged was lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from robot.testing import free_port

log = logging.getLogger(__name__)


class RedisServerError(RuntimeError):
    """redis-server would not start or answer."""


def _ping(port: int, timeout_s: float = 0.5) -> bool:
    """True when the server answers PONG (not while it is still loading the AOF)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def reap(
    proc: subprocess.Popen[bytes] | None, sig: signal.Signals, timeout_s: float = 10.0
) -> None:
    """Signal our own child ``proc`` (if it still runs) and wait for it; SIGKILL if it
    ignores ``sig`` for ``timeout_s``."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        log.warning("pid=%s ignored %s; killing it", proc.pid, sig.name)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout_s)


class OwnedDirectory:
    """``close`` stops the process(es) and removes the data directory if we created it;
    a context manager that starts and closes. Subclasses set ``data_dir`` and ``_owns_dir``
    and define ``start`` and ``stop``."""

    data_dir: Path
    _owns_dir: bool

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.stop()
        if self._owns_dir:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.data_dir)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class RedisServer(OwnedDirectory):
    """Start, stop and restart one ``redis-server`` child with AOF persistence."""

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        port: int | None = None,
        appendfsync: str = "always",
        executable: str = "redis-server",
        start_timeout_s: float = 10.0,
        replica_of: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        """``replica_of``: the port of a master on 127.0.0.1 to replicate (a replica in a
        Sentinel set, see ``redis_sentinel_set``); ``extra_args``: more ``--name value``
        options."""
        if appendfsync not in ("always", "everysec", "no"):
            raise ValueError("appendfsync must be always, everysec or no")
        self._owns_dir = data_dir is None
        self.data_dir = (
            Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="dozvon-redis-"))
        )
        self.port = port or 0
        self.appendfsync = appendfsync
        self.executable = executable
        self.start_timeout_s = start_timeout_s
        self.replica_of = replica_of
        self.extra_args = tuple(extra_args)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if not self.port:
            raise RedisServerError("not started yet: no port chosen")
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        if shutil.which(self.executable) is None:
            raise RedisServerError(f"{self.executable} not found (apt-get install redis-server)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fixed_port = bool(self.port)
        # A free port can be taken between probing and binding; retry with a new one.
        for _ in range(1 if fixed_port else 5):
            if not fixed_port:
                self.port = free_port()
            if self._spawn_and_wait():
                log.info(
                    "redis-server pid=%s listening on %s (dir %s)",
                    self.pid,
                    self.url,
                    self.data_dir,
                )
                return
        tail = self._log_tail()
        raise RedisServerError(f"redis-server did not start on port {self.port}:\n{tail}")

    def _spawn_and_wait(self) -> bool:
        args = [
            self.executable,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        if self.replica_of:
            args += ["--replicaof", "127.0.0.1", str(self.replica_of)]
        args += self.extra_args
        self._proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                return False
            if _ping(self.port):
                return True
            time.sleep(0.02)
        self._signal_and_reap(signal.SIGKILL)
        return False

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Clean shutdown (SIGTERM: redis flushes the AOF and exits) of our own PID only."""
        self._signal_and_reap(signal.SIGTERM, timeout_s)

    def kill(self) -> None:
        """Simulate a crash: SIGKILL, no chance to flush anything."""
        self._signal_and_reap(signal.SIGKILL)

    def restart(self, *, crash: bool = False) -> None:
        """Stop (or kill) and start again on the same port and directory."""
        if crash:
            self.kill()
        else:
            self.stop()
        self.start()

    def _signal_and_reap(self, sig: signal.Signals, timeout_s: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        reap(proc, sig, timeout_s)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.data_dir / "redis.log").read_text(errors="replace")
        except OSError:
            return "(no redis.log)"
        return "\n".join(text.splitlines()[-lines:])
