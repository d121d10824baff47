"""The dialer asks the service where Asterisk reaches this worker's AudioSocket at each call
(no one rewrites the dialer's configuration once the media server listens)."""

from __future__ import annotations

from robot.config import Settings
from robot.service import media_address


class Server:
    port = 0  # chosen when the server starts listening


def test_the_address_follows_the_port_the_server_bound() -> None:
    server = Server()
    address = media_address(Settings(audiosocket_host="127.0.0.1").media, server)  # type: ignore[arg-type]
    server.port = 9100
    assert address() == "127.0.0.1:9100"
    server.port = 9101  # restarted on another port
    assert address() == "127.0.0.1:9101"


def test_all_interfaces_leave_it_to_the_dialplan() -> None:
    server = Server()
    address = media_address(Settings(audiosocket_host="0.0.0.0").media, server)  # type: ignore[arg-type]
    server.port = 9100
    assert address() is None
