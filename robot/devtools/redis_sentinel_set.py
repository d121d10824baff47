"""A private Redis Sentinel set for tests and measurements: one master, replicas and sentinels,
all ``redis-server`` children on free 127.0.0.1 ports, stopped by their own PIDs.

Facts relied on (Redis 7.0, Debian's ``redis-server`` package; ``redis-sentinel`` is the same
binary, so ``redis-server <file> --sentinel`` needs no other package):

- A sentinel needs a writable config file: it rewrites it with what it learns (replicas, other
  sentinels, the current epoch). It finds the replicas and the other sentinels by itself
  through the master (INFO and the ``__sentinel__:hello`` channel).
- ``down-after-milliseconds`` is how long an instance may be silent before a sentinel holds it
  down (SDOWN); ``quorum`` sentinels agreeing make it ODOWN, and a majority then elects a
  leader that promotes the best replica (``REPLICAOF NO ONE``) and repoints the others. With
  1 s and three sentinels a killed master is replaced in about 2-4 s.
- A node that comes back is reconfigured by the sentinels as a replica of the current master
  (they send ``REPLICAOF``; the data nodes here have no config file, so nothing is persisted
  across their own restarts, and a restarted old master starts as a stale master until the
  sentinels turn it).
- The data nodes run with AOF ``appendfsync always`` like every ``RedisServer``.
"""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from robot.devtools.redis_server import (
    OwnedDirectory,
    RedisServer,
    RedisServerError,
    _ping,
    reap,
)
from robot.testing import free_port

log = logging.getLogger(__name__)

SERVICE = "dozvon"


def _command(port: int, *args: str, timeout_s: float = 1.0) -> str:
    """One inline command to 127.0.0.1:port, the raw reply (enough for the few we send)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall((" ".join(args) + "\r\n").encode())
        data = b""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if _complete(data):
                break
        return data.decode(errors="replace")


def _complete(data: bytes) -> bool:
    """Whether a RESP reply is whole (simple/error/integer lines, bulk strings, flat or
    nested arrays of those)."""

    def parse(i: int) -> int | None:
        end = data.find(b"\r\n", i)
        if end < 0:
            return None
        kind, head = data[i : i + 1], data[i + 1 : end]
        if kind in (b"+", b"-", b":"):
            return end + 2
        if kind == b"$":
            n = int(head)
            if n < 0:
                return end + 2
            stop = end + 2 + n + 2
            return stop if len(data) >= stop else None
        if kind == b"*":
            n, j = int(head), end + 2
            for _ in range(max(n, 0)):
                nxt = parse(j)
                if nxt is None:
                    return None
                j = nxt
            return j
        return end + 2

    return parse(0) is not None


class SentinelProcess:
    """One ``redis-server --sentinel`` child watching ``master_port`` as ``service``."""

    def __init__(
        self,
        data_dir: Path,
        master_port: int,
        *,
        service: str = SERVICE,
        quorum: int = 2,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
        executable: str = "redis-server",
    ) -> None:
        self.data_dir = data_dir
        self.master_port = master_port
        self.service = service
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.executable = executable
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 10.0) -> None:
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "sentinel.conf"
        for _ in range(5):
            self.port = self.port or free_port()
            if not conf.exists():  # a restart keeps what the sentinel learned
                conf.write_text(
                    f"port {self.port}\nbind 127.0.0.1\nprotected-mode yes\ndaemonize no\n"
                    f"dir {self.data_dir}\nlogfile {self.data_dir / 'sentinel.log'}\n"
                    f"sentinel resolve-hostnames no\n"
                    f"sentinel monitor {self.service} 127.0.0.1 {self.master_port} "
                    f"{self.quorum}\n"
                    f"sentinel down-after-milliseconds {self.service} {self.down_after_ms}\n"
                    f"sentinel failover-timeout {self.service} {self.failover_timeout_ms}\n"
                    f"sentinel parallel-syncs {self.service} 1\n"
                )
            self._proc = subprocess.Popen(
                [self.executable, str(conf), "--sentinel"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and self._proc.poll() is None:
                if _ping(self.port):
                    log.info("redis sentinel pid=%s on 127.0.0.1:%s", self.pid, self.port)
                    return
                time.sleep(0.02)
            self._signal_and_reap(signal.SIGKILL)
            conf.unlink(missing_ok=True)  # the port was taken: try another
            self.port = 0
        raise RedisServerError(f"redis sentinel did not start in {self.data_dir}")

    def master_port_now(self) -> int | None:
        """The master's port as this sentinel names it now (None if it does not answer)."""
        try:
            reply = _command(self.port, "SENTINEL", "get-master-addr-by-name", self.service)
        except OSError:
            return None
        lines = reply.split("\r\n")
        return int(lines[4]) if reply.startswith("*2") and len(lines) > 4 else None

    def stop(self) -> None:
        self._signal_and_reap(signal.SIGTERM)

    def kill(self) -> None:
        self._signal_and_reap(signal.SIGKILL)

    def _signal_and_reap(self, sig: signal.Signals, timeout_s: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        reap(proc, sig, timeout_s)


class SentinelSet(OwnedDirectory):
    """A master, ``replicas`` replicas and ``sentinels`` sentinels on loopback.

    ``url`` is the ``redis+sentinel://`` URL of the set (``robot.adapters.redis_connect``);
    ``nodes`` are the data nodes, ``nodes[0]`` the first master. ``kill_master`` SIGKILLs the
    current master's PID; ``wait_for_failover`` waits until every sentinel names another one.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        replicas: int = 1,
        sentinels: int = 3,
        service: str = SERVICE,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
        executable: str = "redis-server",
    ) -> None:
        self._owns_dir = data_dir is None
        self.data_dir = (
            Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="dozvon-sentinel-"))
        )
        self.service = service
        self.executable = executable
        self.nodes: list[RedisServer] = [self._node(0)]
        self._replicas = replicas
        self._sentinel_count = sentinels
        self._down_after_ms = down_after_ms
        self._failover_timeout_ms = failover_timeout_ms
        self.sentinels: list[SentinelProcess] = []

    def _node(self, i: int, replica_of: int | None = None) -> RedisServer:
        # A replica's first sync starts at once (Redis 7 waits 5 s for more replicas to join a
        # diskless sync by default), so the set is ready, and a rejoined node in sync, sooner.
        return RedisServer(
            self.data_dir / f"node{i}", executable=self.executable, replica_of=replica_of,
            extra_args=("--repl-diskless-sync-delay", "0"),
        )  # fmt: skip

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}/0"

    def start(self, timeout_s: float = 20.0) -> None:
        if shutil.which(self.executable) is None:
            raise RedisServerError(f"{self.executable} not found (apt-get install redis-server)")
        self.nodes[0].start()
        master = self.nodes[0].port
        for i in range(1, self._replicas + 1):
            node = self._node(i, replica_of=master)
            node.start()
            self.nodes.append(node)
        for i in range(self._sentinel_count):
            s = SentinelProcess(
                self.data_dir / f"sentinel{i}", master, service=self.service,
                quorum=self._sentinel_count // 2 + 1, down_after_ms=self._down_after_ms,
                failover_timeout_ms=self._failover_timeout_ms, executable=self.executable,
            )  # fmt: skip
            s.start()
            self.sentinels.append(s)
        self._wait(self._settled, timeout_s, "the sentinels to see every replica and each other")

    def _settled(self) -> bool:
        """Every replica in sync and every sentinel knowing all replicas and sentinels."""
        info = self.info(self.master_port() or 0)
        online = [k for k, v in info.items() if k.startswith("slave") and "state=online" in v]
        if len(online) != self._replicas:
            return False
        for s in self.sentinels:
            try:
                reply = _command(s.port, "SENTINEL", "master", self.service)
            except OSError:
                return False
            fields = reply.split("\r\n")[2::2]
            state = dict(zip(fields[::2], fields[1::2], strict=False))
            if state.get("num-slaves") != str(self._replicas):
                return False
            if state.get("num-other-sentinels") != str(self._sentinel_count - 1):
                return False
        return True

    def info(self, port: int, section: str = "replication") -> dict[str, str]:
        try:
            reply = _command(port, "INFO", section)
        except OSError:
            return {}
        return dict(
            line.split(":", 1) for line in reply.splitlines() if ":" in line and line[0] != "#"
        )

    def master_port(self) -> int | None:
        """The master the sentinels agree on (None while they disagree or none answers)."""
        named = {s.master_port_now() for s in self.sentinels if s.running}
        return named.pop() if len(named) == 1 else None

    def master(self) -> RedisServer:
        port = self.master_port()
        for node in self.nodes:
            if node.port == port:
                return node
        raise RedisServerError(f"no node of ours is the master (sentinels say {port})")

    def kill_master(self) -> RedisServer:
        """SIGKILL the current master; returns it (restart it with ``node.start()``)."""
        node = self.master()
        node.kill()
        log.info("killed the Redis master on port %s", node.port)
        return node

    def wait_for_failover(self, old_port: int, timeout_s: float = 30.0) -> int:
        """Wait until the sentinels agree on a master other than ``old_port`` and it answers
        as a master; returns its port."""

        def promoted() -> bool:
            port = self.master_port()
            return (
                port is not None and port != old_port
                and self.info(port).get("role") == "master"
            )  # fmt: skip

        self._wait(promoted, timeout_s, "a replica to be promoted")
        port = self.master_port()
        assert port is not None
        return port

    def wait_role(self, node: RedisServer, role: str, timeout_s: float = 30.0) -> None:
        self._wait(lambda: self.info(node.port).get("role") == role, timeout_s,
                   f"node {node.port} to become {role}")  # fmt: skip

    def _wait(self, ok: object, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ok():  # type: ignore[operator]
                return
            time.sleep(0.05)
        raise RedisServerError(f"timed out waiting for {what} ({self.data_dir})")

    def stop(self) -> None:
        for s in self.sentinels:
            s.stop()
        for node in self.nodes:
            node.stop()
