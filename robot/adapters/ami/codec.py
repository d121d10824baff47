"""AMI wire format: bytes <-> :class:`AmiMessage`. Pure, no sockets.

Protocol facts (Asterisk Manager Interface, unchanged through Asterisk 22):
- On connect the server sends one banner line ``Asterisk Call Manager/<version>\\r\\n``.
- Every message is ``Key: Value`` lines separated by ``\\r\\n`` and ended by an empty line.
- A key may repeat (``Variable`` in actions, ``Output`` in command responses), so messages keep
  an ordered list of pairs rather than a dict.
- Responses carry the ``ActionID`` we sent; events carry ``Event``; ``OriginateResponse`` events
  of an ``Async: true`` Originate also carry the Originate's ``ActionID``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

BANNER_PREFIX = "Asterisk Call Manager/"
_EOL = b"\r\n"
_END = b"\r\n\r\n"
MAX_MESSAGE_BYTES = 1 << 20  # a message larger than this is garbage; drop the buffer


@dataclass(frozen=True)
class AmiMessage:
    headers: tuple[tuple[str, str], ...]

    def get(self, key: str, default: str | None = None) -> str | None:
        k = key.lower()
        for name, value in self.headers:
            if name.lower() == k:
                return value
        return default

    def get_all(self, key: str) -> list[str]:
        k = key.lower()
        return [v for n, v in self.headers if n.lower() == k]

    def __getitem__(self, key: str) -> str:
        v = self.get(key)
        if v is None:
            raise KeyError(key)
        return v

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def as_dict(self) -> dict[str, str]:
        return {n: v for n, v in self.headers}


def encode_action(action: str, fields: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> bytes:
    """Encode an action. Values may not contain CR/LF (that would inject headers)."""
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    lines = [f"Action: {action}"]
    for name, value in pairs:
        value = str(value)
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"AMI field {name!r} contains a line break")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def decode_message(block: bytes) -> AmiMessage | None:
    """Decode one message block (without the blank-line terminator)."""
    pairs: list[tuple[str, str]] = []
    for raw in block.split(_EOL):
        line = raw.decode("utf-8", errors="replace")
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            # Output of old-style "Response: Follows" commands: keep as Output.
            pairs.append(("Output", line))
            continue
        pairs.append((name.strip(), value.strip()))
    return AmiMessage(tuple(pairs)) if pairs else None


class AmiParser:
    """Incremental parser: ``feed(bytes)`` returns the complete messages so far."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.banner: str | None = None

    def feed(self, data: bytes) -> list[AmiMessage]:
        self._buf += data
        out: list[AmiMessage] = []
        if self.banner is None:
            idx = self._buf.find(_EOL)
            if idx < 0:
                return out
            line = bytes(self._buf[:idx]).decode("utf-8", errors="replace")
            if line.startswith(BANNER_PREFIX):
                self.banner = line
                del self._buf[: idx + 2]
            else:
                self.banner = ""  # no banner: a message straight away
        while True:
            idx = self._buf.find(_END)
            if idx < 0:
                if len(self._buf) > MAX_MESSAGE_BYTES:
                    log.warning("AMI: dropping %d bytes without a message end", len(self._buf))
                    self._buf.clear()
                return out
            block = bytes(self._buf[:idx])
            del self._buf[: idx + 4]
            msg = decode_message(block)
            if msg is not None:
                out.append(msg)
