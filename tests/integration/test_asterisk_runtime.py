"""The chrooted Asterisk, its dialplans and the simulated customer, driven over raw AMI and a
tiny AudioSocket server standing in for the robot.

AudioSocket frames: kind (1 byte), payload length (2 bytes, big-endian), payload.
Kinds: 0x00 hangup, 0x01 UUID (16 bytes), 0x03 DTMF (1 ASCII digit), 0x10 audio
(signed 16-bit little-endian 8 kHz mono; Asterisk sends 20 ms = 320 bytes), 0xff error.
OriginateResponse Reason is Asterisk's last control frame: 0 nothing, 3 ringing,
4 answered, 5 busy, 8 congestion.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import math
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from robot.config import REPO_ROOT
from robot.devtools.asterisk.chroot import is_mountpoint
from robot.devtools.asterisk.runtime import AsteriskRuntime, environment_problem
from robot.testing import free_port

ROOT = Path(os.environ.get("DOZVON_ASTERISK_ROOT", "/var/cache/dozvon/asterisk-root"))
PROBLEM = environment_problem(ROOT)
pytestmark = [pytest.mark.asterisk, pytest.mark.skipif(PROBLEM is not None, reason=str(PROBLEM))]

AMI_USER, AMI_SECRET = "dozvon-test", "test-secret"
KIND_HANGUP, KIND_UUID, KIND_DTMF, KIND_AUDIO = 0x00, 0x01, 0x03, 0x10
FRAME_BYTES = 320  # 20 ms of slin 8 kHz
SILENCE = bytes(FRAME_BYTES)
LOUD_RMS, SPEECH_FRAMES = 300, 5  # 100 ms of loud frames: the customer talks
CUSTOMER_PHRASES = {
    "ru": {"yes": "да", "no": "нет", "other": "какая сегодня погода"},
    "ko": {"yes": "네", "no": "아니요", "other": "오늘 날씨가 어때요"},
}


def tone_frame(index: int, hz: float = 440.0, amplitude: int = 8000) -> bytes:
    samples = array.array(
        "h",
        (
            int(amplitude * math.sin(2 * math.pi * hz * (index * 160 + n) / 8000))
            for n in range(160)
        ),
    )
    return samples.tobytes()


def rms(frame: bytes) -> float:
    samples = array.array("h", frame)
    return math.sqrt(sum(s * s for s in samples) / max(len(samples), 1))


@pytest.fixture(scope="module")
def customer_audio(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """The repo's audio dir if it has customer prompts, else prompts made with espeak-ng."""
    repo_audio = REPO_ROOT / "audio"
    if all((repo_audio / "customer" / lang / "yes.wav").exists() for lang in ("ru", "ko")):
        return repo_audio
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        return None
    audio = tmp_path_factory.mktemp("audio")
    for lang, phrases in CUSTOMER_PHRASES.items():
        (audio / "customer" / lang).mkdir(parents=True)
        for name, text in phrases.items():
            raw = audio / f"{lang}-{name}.raw.wav"
            subprocess.run(["espeak-ng", "-v", lang, "-w", str(raw), text], check=True)
            out = audio / "customer" / lang / f"{name}.wav"
            subprocess.run(
                ["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out)], check=True
            )
    return audio


@contextlib.contextmanager
def cleaned_up(runtime: AsteriskRuntime, request: pytest.FixtureRequest) -> Iterator[None]:
    """Stop the instance whatever happens; keep its files (logs) only if a test failed."""
    failed_before = request.session.testsfailed
    try:
        yield
    finally:
        runtime.stop()
        if request.session.testsfailed == failed_before:
            runtime.remove_files()
        else:
            print(f"asterisk logs kept in {runtime.instance_dir}")


@pytest.fixture(scope="module")
def asterisk(
    customer_audio: Path | None, request: pytest.FixtureRequest
) -> Iterator[AsteriskRuntime]:
    runtime = AsteriskRuntime(
        ROOT,
        free_port(),
        AMI_USER,
        AMI_SECRET,
        "127.0.0.1",
        free_port(),
        customer_audio,
        f"pytest-{os.getpid()}",
    )
    with cleaned_up(runtime, request):
        started = time.monotonic()
        runtime.start()
        print(f"asterisk started in {time.monotonic() - started:.2f}s")
        yield runtime


class RawAmi:
    """Just enough AMI for the tests: messages are dicts, repeated keys keep the last."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.banner = ""

    @classmethod
    async def login(cls, port: int) -> RawAmi:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        ami = cls(reader, writer)
        ami.banner = (await reader.readline()).decode().strip()
        await ami.send(
            [
                ("Action", "Login"),
                ("Username", AMI_USER),
                ("Secret", AMI_SECRET),
                ("ActionID", "login"),
            ]
        )
        reply = await ami.wait_for(lambda m: m.get("ActionID") == "login")
        assert reply.get("Response") == "Success", reply
        return ami

    async def send(self, headers: list[tuple[str, str]]) -> None:
        self.writer.write("".join(f"{k}: {v}\r\n" for k, v in headers).encode() + b"\r\n")
        await self.writer.drain()

    async def read_message(self) -> dict[str, str]:
        message: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if not line:
                raise ConnectionError("AMI closed the connection")
            text = line.decode(errors="replace").rstrip("\r\n")
            if not text:
                if message:
                    return message
                continue
            key, _, value = text.partition(":")
            message[key.strip()] = value.strip()

    async def wait_for(
        self, match: Callable[[dict[str, str]], bool], within: float = 10.0
    ) -> dict[str, str]:
        async with asyncio.timeout(within):
            while True:
                message = await self.read_message()
                if match(message):
                    return message

    async def originate(self, digits: str, timeout_ms: int = 15000) -> tuple[str, str]:
        """Originate the robot leg towards the simulated customer; returns (call id, action id)."""
        call_id = str(uuid.uuid4())
        action_id = f"orig-{call_id}"
        await self.send(
            [
                ("Action", "Originate"),
                ("ActionID", action_id),
                ("Channel", f"Local/{digits}@dozvon-customer/n"),
                ("Context", "dozvon-robot"),
                ("Exten", "s"),
                ("Priority", "1"),
                ("Timeout", str(timeout_ms)),
                ("CallerID", '"Dozvon" <70000000000>'),
                ("Async", "true"),
                ("ChannelId", call_id),
                ("Variable", f"CALL_ID={call_id}"),
                ("Variable", "ORDER_ID=t1"),
                ("Variable", f"DOZVON_MEDIA_ID={call_id}"),
            ]
        )
        return call_id, action_id

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


class FakeRobot:
    """AudioSocket server: records frames, talks a 'question' (tone) and then keeps sending
    20 ms silence frames, like the real robot does between prompts."""

    def __init__(self, question_ms: int = 600) -> None:
        self.question_frames = question_ms // 20
        self.connected = asyncio.Event()
        self.dtmf = asyncio.Event()
        self.speech = asyncio.Event()  # set once the customer has said something
        self.loud_frames = 0
        self.finished = asyncio.Event()
        self.uuid: uuid.UUID | None = None
        self.connected_at = 0.0
        self.audio: list[bytes] = []
        self.digits: list[bytes] = []
        self.other_kinds: list[int] = []
        self.hangup_from_asterisk = False
        self.writer: asyncio.StreamWriter | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        sender: asyncio.Task[None] | None = None
        try:
            kind, payload = await self._read_frame(reader)
            assert kind == KIND_UUID and len(payload) == 16, (kind, payload)
            self.uuid = uuid.UUID(bytes=payload)
            self.connected_at = time.monotonic()
            self.connected.set()
            sender = asyncio.create_task(self._talk(writer))
            while True:
                kind, payload = await self._read_frame(reader)
                if kind == KIND_AUDIO:
                    self.audio.append(payload)
                    self.loud_frames += rms(payload) > LOUD_RMS
                    if self.loud_frames >= SPEECH_FRAMES:
                        self.speech.set()
                elif kind == KIND_DTMF:
                    self.digits.append(payload)
                    self.dtmf.set()
                elif kind == KIND_HANGUP:
                    self.hangup_from_asterisk = True
                    break
                else:
                    self.other_kinds.append(kind)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # Asterisk closed the socket: the call ended
        finally:
            if sender is not None:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await sender
            writer.close()
            self.finished.set()

    @staticmethod
    async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        header = await reader.readexactly(3)
        return header[0], await reader.readexactly(int.from_bytes(header[1:], "big"))

    async def _talk(self, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        while True:
            payload = tone_frame(n) if n < self.question_frames else SILENCE
            writer.write(bytes([KIND_AUDIO]) + len(payload).to_bytes(2, "big") + payload)
            await writer.drain()
            n += 1
            await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))

    async def hang_up(self) -> None:
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(bytes([KIND_HANGUP, 0, 0]))
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()


@pytest.fixture
async def robot(asterisk: AsteriskRuntime) -> AsyncIterator[FakeRobot]:
    fake = FakeRobot()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", asterisk.audiosocket_port)
    try:
        yield fake
    finally:
        await fake.hang_up()
        server.close()
        await server.wait_closed()


@pytest.fixture
async def ami(asterisk: AsteriskRuntime) -> AsyncIterator[RawAmi]:
    client = await RawAmi.login(asterisk.ami_port)
    try:
        yield client
    finally:
        await client.close()


def test_ami_banner_and_modules(asterisk: AsteriskRuntime) -> None:
    assert asterisk.is_running()
    assert asterisk.is_ami_up()
    modules = asterisk.cli("module show like audiosocket")
    assert "app_audiosocket.so" in modules and "Running" in modules
    for module in ("app_waitforsilence", "app_amd", "pbx_config", "chan_pjsip", "format_wav"):
        assert module in asterisk.cli(f"module show like {module}"), module
    assert "dozvon-robot" in asterisk.cli("dialplan show dozvon-robot")


async def test_raw_ami_login_and_actions(asterisk: AsteriskRuntime, ami: RawAmi) -> None:
    assert ami.banner.startswith("Asterisk Call Manager/")
    await ami.send([("Action", "ListCommands"), ("ActionID", "lc")])
    commands = await ami.wait_for(lambda m: m.get("ActionID") == "lc")
    assert commands.get("Response") == "Success" and "Originate" in commands
    await ami.send([("Action", "CoreShowChannels"), ("ActionID", "csc")])
    done = await ami.wait_for(
        lambda m: m.get("ActionID") == "csc" and m.get("Event") == "CoreShowChannelsComplete"
    )
    assert done["ListItems"] == "0"


async def test_originate_reaches_audiosocket_and_customer_presses_1(
    asterisk: AsteriskRuntime, ami: RawAmi, robot: FakeRobot
) -> None:
    sent_at = time.monotonic()
    call_id, action_id = await ami.originate("8210000000004")
    async with asyncio.timeout(10):
        await robot.connected.wait()
    print(f"originate -> AudioSocket connect: {robot.connected_at - sent_at:.3f}s")
    assert robot.uuid == uuid.UUID(call_id)
    response = await ami.wait_for(
        lambda m: m.get("Event") == "OriginateResponse" and m.get("ActionID") == action_id
    )
    assert response["Response"] == "Success" and response["Reason"] == "4", response
    async with asyncio.timeout(20):
        await robot.dtmf.wait()
    print(f"originate -> DTMF: {time.monotonic() - sent_at:.3f}s")
    assert robot.digits == [b"1"]
    assert robot.audio and all(len(frame) == FRAME_BYTES for frame in robot.audio)
    assert not robot.other_kinds
    await robot.hang_up()
    async with asyncio.timeout(10):
        await robot.finished.wait()


@pytest.mark.parametrize(("digits", "lang"), [("8210000000001", "ko"), ("79160000001", "ru")])
async def test_customer_says_yes(
    asterisk: AsteriskRuntime,
    ami: RawAmi,
    robot: FakeRobot,
    digits: str,
    lang: str,
    customer_audio: Path | None,
) -> None:
    if customer_audio is None:
        pytest.skip("no customer prompts in audio/customer and no espeak-ng + sox to make them")
    await ami.originate(digits)
    async with asyncio.timeout(10):
        await robot.connected.wait()
    # The customer waits for the question (tone) to end, then speaks: loud frames arrive.
    async with asyncio.timeout(15):
        await robot.speech.wait()
    spoke_at = time.monotonic() - robot.connected_at
    print(f"{lang} customer answered {spoke_at:.2f}s after connect")
    assert spoke_at > robot.question_frames * 0.02
    assert robot.digits == []


async def test_customer_hangs_up_after_question(
    asterisk: AsteriskRuntime, ami: RawAmi, robot: FakeRobot
) -> None:
    await ami.originate("79160000010")
    async with asyncio.timeout(10):
        await robot.connected.wait()
    async with asyncio.timeout(15):
        await robot.finished.wait()
    print(
        f"hangup frame from Asterisk: {robot.hangup_from_asterisk}, "
        f"after {time.monotonic() - robot.connected_at:.2f}s"
    )
    assert time.monotonic() - robot.connected_at > robot.question_frames * 0.02


@pytest.mark.parametrize(
    ("digits", "timeout_ms", "reasons"),
    [
        ("79160000006", 15000, {"5"}),  # busy
        ("79160000007", 3000, {"3", "0"}),  # rings, never answers: timeout
        ("79160000008", 15000, {"8"}),  # congestion
    ],
)
async def test_unanswered_outcomes(
    asterisk: AsteriskRuntime, ami: RawAmi, digits: str, timeout_ms: int, reasons: set[str]
) -> None:
    sent_at = time.monotonic()
    _, action_id = await ami.originate(digits, timeout_ms=timeout_ms)
    response = await ami.wait_for(
        lambda m: m.get("Event") == "OriginateResponse" and m.get("ActionID") == action_id,
        within=20,
    )
    print(f"{digits}: Reason {response['Reason']} after {time.monotonic() - sent_at:.2f}s")
    assert response["Response"] == "Failure"
    assert response["Reason"] in reasons, response


def test_restart_on_same_ports(request: pytest.FixtureRequest) -> None:
    runtime = AsteriskRuntime(
        ROOT,
        free_port(),
        AMI_USER,
        AMI_SECRET,
        "127.0.0.1",
        free_port(),
        None,
        f"pytest-restart-{os.getpid()}",
    )
    with cleaned_up(runtime, request):
        runtime.start()
        first_pid = runtime.pid
        assert runtime.is_ami_up() and is_mountpoint(ROOT / "proc")
        runtime.restart()
        assert runtime.is_ami_up() and runtime.pid != first_pid
        runtime.stop()
        assert not runtime.is_running() and not runtime.is_ami_up()
        with runtime:
            assert runtime.is_ami_up()
        assert not runtime.is_ami_up()
