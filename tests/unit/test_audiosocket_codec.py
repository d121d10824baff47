import uuid

from robot.adapters.audiosocket.codec import (
    FRAME_BYTES,
    FrameDecoder,
    Kind,
    encode,
    encode_audio,
    encode_hangup,
    encode_uuid,
    split_frames,
)


def test_roundtrip_all_kinds_byte_by_byte():
    cid = str(uuid.uuid4())
    wire = (
        encode_uuid(cid)
        + encode_audio(b"\x01\x02" * 160)
        + encode(Kind.DTMF, b"5")
        + encode(Kind.ERROR, b"\x04")
        + encode_hangup()
    )
    d = FrameDecoder()
    frames = []
    for b in wire:
        frames += d.feed(bytes([b]))
    assert [f.kind for f in frames] == [Kind.UUID, Kind.AUDIO, Kind.DTMF, Kind.ERROR, Kind.HANGUP]
    assert frames[0].uuid == cid
    assert len(frames[1].payload) == FRAME_BYTES
    assert frames[2].digit == "5"


def test_header_is_kind_then_big_endian_length():
    assert encode_audio(b"\x00" * 320)[:3] == b"\x10\x01\x40"
    assert encode_hangup() == b"\x00\x00\x00"


def test_unknown_kind_and_bad_uuid_are_dropped():
    d = FrameDecoder()
    frames = d.feed(encode(Kind.UUID, b"short") + b"\x42\x00\x01x" + encode(Kind.DTMF, b"1"))
    assert [f.kind for f in frames] == [Kind.DTMF]
    assert d.dropped == 2


def test_split_frames_pads_last_frame():
    frames = split_frames(b"\x01" * (FRAME_BYTES * 2 + 10))
    assert len(frames) == 3
    assert all(len(f) == FRAME_BYTES for f in frames)
    assert frames[2].endswith(b"\x00" * (FRAME_BYTES - 10))
