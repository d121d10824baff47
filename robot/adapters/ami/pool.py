"""Several Asterisk servers behind one Originator: each with its own AMI connection, capacity,
calls-per-second limit and dial template (its trunk).

Which server a call goes to is decided before it is dialed (``robot.engine.routing``): among
the servers whose AMI connection is up, the one with the most free capacity counted across
all workers in Redis. A server whose AMI connection drops leaves the rotation at once (its
calls get a definite outcome through ``CallTracker.asterisk_lost(name)``) and comes back when
the connection logs in again; the connection keeps retrying on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from robot.adapters.ami.codec import AmiMessage
from robot.adapters.ami.connection import AmiConnection, AmiError
from robot.adapters.ami.mapping import AmiOriginator
from robot.adapters.redis_limits import Trunk
from robot.ports import CallEventSink, OriginateRequest

if TYPE_CHECKING:
    from robot.config import Settings

log = logging.getLogger(__name__)


@dataclass
class AsteriskServer:
    trunk: Trunk
    conn: AmiConnection
    originator: AmiOriginator

    @property
    def name(self) -> str:
        return self.trunk.name

    @property
    def up(self) -> bool:
        return self.conn.connected.is_set()


class _RotationLog:
    """Says when a server leaves and rejoins the rotation."""

    def __init__(self, name: str) -> None:
        self.name = name

    def on_ami_event(self, msg: AmiMessage) -> None:
        pass

    def on_ami_connected(self) -> None:
        log.info("Asterisk %s is up: back in the rotation", self.name)

    def on_ami_lost(self) -> None:
        log.warning("Asterisk %s is down: out of the rotation until AMI reconnects", self.name)


class AsteriskPool:
    """Implements ``ports.Originator`` over several servers, and lists the usable ones."""

    def __init__(self, servers: Iterable[AsteriskServer]) -> None:
        self.servers = {s.name: s for s in servers}
        if not self.servers:
            raise ValueError("an Asterisk pool needs at least one server")
        for s in self.servers.values():
            s.conn.add_listener(_RotationLog(s.name))

    @classmethod
    def from_settings(
        cls, settings: Settings, sink: CallEventSink, *, events: str = "call,system"
    ) -> AsteriskPool:
        servers = []
        for cfg in settings.asterisk_server_list():
            conn = AmiConnection(
                cfg.host,
                cfg.ami_port,
                cfg.user,
                cfg.secret,
                events=events,
                reconnect_max_s=settings.ami_reconnect_max_s,
                name=cfg.name,
            )
            trunk = Trunk(
                name=cfg.name,
                capacity=cfg.capacity,
                cps=cfg.cps,
                burst=cfg.cps_burst,
                dial_template=cfg.dial_template,
                caller_id=cfg.caller_id,
            )
            originator = AmiOriginator(conn, sink, context=settings.robot_context)
            servers.append(AsteriskServer(trunk, conn, originator))
        return cls(servers)

    @property
    def first(self) -> AsteriskServer:
        return next(iter(self.servers.values()))

    def available(self) -> list[Trunk]:
        """Servers whose AMI connection is up now."""
        return [s.trunk for s in self.servers.values() if s.up]

    async def originate(self, req: OriginateRequest) -> None:
        server = self.servers.get(req.server)
        if server is None:
            raise AmiError(f"no Asterisk server named {req.server!r}")
        await server.originator.originate(req)

    def forget(self, call_id: str) -> None:
        for s in self.servers.values():
            s.originator.forget(call_id)

    async def hangup(self, call_id: str, server: str = "default") -> bool:
        """Hang up a call placed through ``server`` (see AmiOriginator.hangup)."""
        srv = self.servers.get(server)
        return srv is not None and srv.up and await srv.originator.hangup(call_id)

    async def start(self) -> None:
        for s in self.servers.values():
            await s.conn.start()

    async def stop(self) -> None:
        for s in self.servers.values():
            await s.conn.stop()

    def describe(self) -> list[dict[str, Any]]:
        """Per server: name, address, whether it is up, its limits (for logs and dashboards)."""
        return [
            {
                "name": s.name,
                "ami": f"{s.conn.host}:{s.conn.port}",
                "up": s.up,
                "capacity": s.trunk.capacity,
                "cps": s.trunk.cps,
                "dial_template": s.trunk.dial_template,
            }
            for s in self.servers.values()
        ]
