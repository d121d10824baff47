"""Several Asterisk servers behind one Originator: each with its own AMI connection, capacity,
calls-per-second limit and dial template (its trunk).

Which server a call goes to is decided before it is dialed (``robot.engine.routing``): among
the servers whose AMI connection is up, the one with the most free capacity counted across
all workers in Redis. A server whose AMI connection drops leaves the rotation at once (its
calls get a definite outcome through ``CallTracker.asterisk_lost(name)``) and comes back when
the connection logs in again; the connection keeps retrying on its own.

A server that is shutting down (``core stop gracefully``, a restart, SIGTERM) keeps its AMI
connection while its calls finish but answers every Originate with ``Response: Error`` and
``Message: Asterisk is shutting down`` (Asterisk 22: ``ast_shutting_down()`` in manager.c's
action_originate), creating no channel. That server leaves the rotation at once and comes
back when its AMI connection logs in again (a new process); the Originate raises
``OriginateNotPlaced``, so the dialer gives the order back without counting an attempt and
the next claim goes to another server. The same for an Originate on a connection that is
already down (the action is never sent).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from robot.adapters.ami.codec import AmiMessage
from robot.adapters.ami.connection import AmiConnection, AmiError
from robot.adapters.ami.originator import AmiOriginator
from robot.ports import CallEventSink, OriginateNotPlaced, OriginateRequest, Trunk

if TYPE_CHECKING:
    from robot.config import AmiSettings

log = logging.getLogger(__name__)

SHUTTING_DOWN = "shutting down"  # in the Message of the Originate's error response


@dataclass
class AsteriskServer:
    trunk: Trunk
    conn: AmiConnection
    originator: AmiOriginator
    draining: bool = False  # said it is shutting down; cleared when AMI logs in again

    @property
    def name(self) -> str:
        return self.trunk.name

    @property
    def up(self) -> bool:
        return self.conn.connected.is_set() and not self.draining


class _RotationLog:
    """Says when a server leaves and rejoins the rotation."""

    def __init__(self, server: AsteriskServer) -> None:
        self.server = server
        self.name = server.name

    def on_ami_event(self, msg: AmiMessage) -> None:
        pass

    def on_ami_connected(self) -> None:
        self.server.draining = False  # a new login: a new (or recovered) Asterisk process
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
            s.conn.add_listener(_RotationLog(s))

    @classmethod
    def from_settings(
        cls, settings: AmiSettings, sink: CallEventSink, *, events: str = "call,system"
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
        if not server.conn.connected.is_set():
            raise OriginateNotPlaced(server.name, "AMI not connected")
        try:
            await server.originator.originate(req)
        except AmiError as e:
            if SHUTTING_DOWN not in str(e).lower():
                raise  # e.g. lost mid-action: the call may exist, so it is not "not placed"
            if not server.draining:
                log.warning("Asterisk %s is shutting down: out of the rotation until it is "
                            "back", server.name)  # fmt: skip
            server.draining = True
            raise OriginateNotPlaced(server.name, "shutting down") from e

    def forget(self, call_id: str) -> None:
        for s in self.servers.values():
            s.originator.forget(call_id)

    async def hangup(self, call_id: str, server: str = "default") -> bool:
        """Hang up a call placed through ``server`` (see AmiOriginator.hangup)."""
        srv = self.servers.get(server)
        # A draining server still hangs up its calls: only its AMI connection matters here.
        live = srv is not None and srv.conn.connected.is_set()
        return live and srv is not None and await srv.originator.hangup(call_id)

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
                "draining": s.draining,
                "capacity": s.trunk.capacity,
                "cps": s.trunk.cps,
                "dial_template": s.trunk.dial_template,
            }
            for s in self.servers.values()
        ]
