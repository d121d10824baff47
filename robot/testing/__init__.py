"""Fakes of the ports and shared test helpers, shipped with the package so tests (ours and a
shop's) can drive the engine without Asterisk, Vosk or Redis:

- ``fakes``: media, prompts, recognizer streams, order and call builders, an AudioSocket peer;
- ``memory_store``: the order store, do-not-call list and phone log in memory;
- ``originator``: the one fake originator (calls end, ring, are answered as the test says);
- ``fake_ami``: a stand-in Asterisk speaking AMI on a loopback port (pool tests, the bench);
- ``waiting``: free loopback ports and ``wait_until``; ``clock``: a clock the test moves;
- ``store_views``: what tests read of a store's state, alike for both stores;
- ``web``: the dashboard's sign-in and server-sent events through aiohttp's test client.

Not the product: nothing in ``robot.core``, ``engine``, ``adapters``, ``web`` or ``service``
imports this package.
"""

from robot.testing.clock import ManualClock
from robot.testing.fakes import (
    LOUD_FRAME,
    SILENT_FRAME,
    FakeMedia,
    FakePrompts,
    FakeRecognizerStream,
    ScriptedRecognizer,
    ScriptedStream,
    audiosocket_peer,
    finished_call,
    make_order,
)
from robot.testing.memory_store import InMemoryDnc, InMemoryOrderStore
from robot.testing.originator import FakeOriginator
from robot.testing.waiting import free_port, free_udp_port, wait_until

__all__ = [
    "LOUD_FRAME",
    "SILENT_FRAME",
    "FakeMedia",
    "FakeOriginator",
    "FakePrompts",
    "FakeRecognizerStream",
    "InMemoryDnc",
    "InMemoryOrderStore",
    "ManualClock",
    "ScriptedRecognizer",
    "ScriptedStream",
    "audiosocket_peer",
    "finished_call",
    "free_port",
    "free_udp_port",
    "make_order",
    "wait_until",
]
