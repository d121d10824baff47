"""AudioSocket wire format: bytes <-> frames. Pure, no sockets.

Protocol facts (Asterisk 22 ``res_audiosocket``; docs "AudioSocket" protocol definition):
- Every message is a 3-byte header (kind: 1 byte, payload length: 2 bytes big-endian) + payload.
- 0x00 terminate (hang up), 0x01 UUID (16 bytes, first message from Asterisk), 0x03 DTMF
  (1 ASCII byte; forwarded since Asterisk 20.13/21.8/22.3), 0x10 audio: signed linear 16-bit,
  8 kHz, mono, little-endian (the AudioSocket() application always uses slin 8 kHz),
  0xff error (optional application-specific code).
- Asterisk sends 20 ms audio frames (320 bytes) and plays what we send as it arrives, so we
  pace our frames in real time.
"""

from __future__ import annotations

import logging
import struct
import uuid
from dataclasses import dataclass
from enum import IntEnum

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * 2 * FRAME_MS // 1000  # 320
SILENCE_FRAME = b"\x00" * FRAME_BYTES
_HEADER = struct.Struct(">BH")


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10
    ERROR = 0xFF


@dataclass(frozen=True)
class Frame:
    kind: Kind
    payload: bytes = b""

    @property
    def uuid(self) -> str:
        return str(uuid.UUID(bytes=self.payload))

    @property
    def digit(self) -> str:
        return self.payload.decode("ascii", errors="replace")[:1]


def encode(kind: Kind, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError("AudioSocket payload over 65535 bytes")
    return _HEADER.pack(int(kind), len(payload)) + payload


def encode_audio(pcm: bytes) -> bytes:
    return encode(Kind.AUDIO, pcm)


def encode_hangup() -> bytes:
    return encode(Kind.HANGUP)


def encode_uuid(call_id: str) -> bytes:
    return encode(Kind.UUID, uuid.UUID(call_id).bytes)


class FrameDecoder:
    """Incremental decoder. Frames of unknown kind or malformed UUIDs are logged and dropped."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        while len(self._buf) >= 3:
            kind_byte, length = _HEADER.unpack_from(self._buf)
            if len(self._buf) < 3 + length:
                break
            payload = bytes(self._buf[3 : 3 + length])
            del self._buf[: 3 + length]
            try:
                kind = Kind(kind_byte)
            except ValueError:
                self.dropped += 1
                log.debug("AudioSocket: dropping frame of unknown kind 0x%02x", kind_byte)
                continue
            if kind is Kind.UUID and length != 16:
                self.dropped += 1
                log.warning("AudioSocket: dropping UUID frame of %d bytes", length)
                continue
            out.append(Frame(kind, payload))
        return out


def split_frames(pcm: bytes) -> list[bytes]:
    """Cut PCM into 20 ms frames, padding the last one with silence."""
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    if frames and len(frames[-1]) < FRAME_BYTES:
        frames[-1] = frames[-1] + b"\x00" * (FRAME_BYTES - len(frames[-1]))
    return frames
