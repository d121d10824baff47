"""Vosk speech recognition behind :class:`robot.ports.Recognizer`.

Facts this adapter relies on (vosk 0.3.45, the cffi binding over libvosk):

- ``vosk.Model`` is large (hundreds of MB for the lookahead graphs), slow to load (about a
  second) and safe to share between recognizers in many threads: one per model per process.
- ``vosk.KaldiRecognizer`` holds one utterance's decoder state and is not thread-safe: one per
  call, every call into it serialized. Calls into libvosk release the GIL (cffi does by
  default), so recognizers in a thread pool decode in parallel on all cores.
- ``KaldiRecognizer(model, 8000, grammar_json)``: 8 kHz input is resampled inside Kaldi for the
  16 kHz models (``--allow-upsample``). The grammar is a JSON list of phrases; words missing
  from the model's vocabulary are ignored with a warning, so we drop such phrases ourselves
  (a phrase with a word silently removed can mean the opposite).
- ``AcceptWaveform`` returns true when Vosk's endpointer ends the utterance (rules in the
  model's ``conf/model.conf``: 0.5 s of trailing silence after a complete phrase, 1.0 s and
  2.0 s otherwise; measured on the Korean model at 8 kHz: 0.85-1.0 s after the last voiced
  frame, so the VAD gate's flush at 0.5 s normally ends an answer first). ``Result()`` then
  holds the utterance and decoding continues with the next one.
  ``FinalResult()`` ends the current utterance at once and starts the next one with a fresh
  feature pipeline. ``Reset()`` does not: audio already in the pipeline leaks into the next
  utterance, so dropping audio (``VoskStream.reset``) finalizes and discards instead.
- With ``SetWords(True)`` a result is ``{"result": [{"word", "conf", "start", "end"}], "text"}``;
  nothing heard is ``{"text": ""}``.

What the grammar holds: the language pack's answer words plus the words of the replies beyond
yes and no (``robot.core.reply_vocabulary``: days, months, ordinals, hours, a wrong number,
"I did not order", a machine's greeting, questions), so that a change of delivery or a
voicemail greeting reaches the language pack as words and not as ``[unk]``. A model's own
filler words stay fillers, and no reply word is ever reported as garbage. We measured the
other option, a free-decoding pass (the model's whole vocabulary) over utterances the grammar
heard only as ``[unk]``: on the installed Korean model it turned the simulated customers'
replies into unrelated words at a real-time factor near 1 on this machine (the grammar decoder:
0.04), so it is not used.

Unknown speech: every stretch of speech outside the grammar is reported as one ``"[unk]"``
token with confidence 0, in ``text`` and in ``words``, whether the model has a native
``[unk]`` word or absorbs such speech with filler words (see ``asr_models``). ``[unk]``
matches no answer, so on its own it classifies as ``unknown``; next to an answer it lowers the
confidence (the mean over tokens), which the dialog can hold against a threshold. A final
result with no tokens at all (a cough the grammar could not place) is not returned: to the
dialog it is the same as silence.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import vosk

from robot.adapters.asr_models import (
    REGISTRY,
    ModelInfo,
    ModelNotInstalled,
    model_overrides,
    resolve,
)
from robot.core.models import Intent
from robot.core.reply_vocabulary import reply_words
from robot.core.trust import TrustRules, check_yes, is_steady
from robot.core.vad import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, EndOfSpeech, SpeechGate, VadConfig
from robot.ports import RecognitionResult

log = logging.getLogger(__name__)

UNK = "[unk]"

_models: dict[Path, vosk.Model] = {}
_load_seconds: dict[Path, float] = {}
_models_lock = threading.Lock()


def load_model(path: Path) -> vosk.Model:
    """The process-wide model for ``path``, loaded on first use (thread-safe)."""
    with _models_lock:
        model = _models.get(path)
        if model is None:
            if not _models:
                vosk.SetLogLevel(0 if log.isEnabledFor(logging.DEBUG) else -1)
            started = time.monotonic()
            model = vosk.Model(str(path))
            _load_seconds[path] = time.monotonic() - started
            _models[path] = model
            log.info("loaded Vosk model %s in %.2f s", path, _load_seconds[path])
        return model


@dataclass(frozen=True)
class PreparedGrammar:
    """A grammar checked against one model's vocabulary."""

    phrases: tuple[str, ...]  # what the decoder is restricted to; empty: no grammar
    fillers: frozenset[str]  # in-vocabulary words reported as [unk]
    dropped: tuple[str, ...]  # phrases with words the model does not know
    unk: str  # "native", "fillers", "none" (off-grammar speech lands on a phrase), "free"

    def json(self) -> str:
        return json.dumps(list(self.phrases), ensure_ascii=False)


def prepare_grammar(
    model: vosk.Model, phrases: Sequence[str], fillers: Sequence[str] = ()
) -> PreparedGrammar:
    if not phrases:
        return PreparedGrammar((), frozenset(), (), "free")

    def known(word: str) -> bool:
        return int(model.vosk_model_find_word(word)) >= 0

    kept: list[str] = []
    dropped: list[str] = []
    for phrase in dict.fromkeys(p.strip() for p in phrases if p.strip()):
        if phrase == UNK:
            continue
        (kept if all(known(w) for w in phrase.split()) else dropped).append(phrase)
    grammar_words = {w for p in kept for w in p.split()}
    if known(UNK):
        return PreparedGrammar((*kept, UNK), frozenset(), tuple(dropped), "native")
    usable = [f for f in dict.fromkeys(fillers) if f not in grammar_words and known(f)]
    if usable:
        return PreparedGrammar((*kept, *usable), frozenset(usable), tuple(dropped), "fillers")
    return PreparedGrammar(tuple(kept), frozenset(), tuple(dropped), "none")


def to_result(data: Mapping[str, Any], fillers: frozenset[str] = frozenset()) -> RecognitionResult:
    """A Vosk result JSON as a final :class:`RecognitionResult` ([unk] stretches merged)."""
    words: list[tuple[str, float]] = []
    for item in data.get("result", ()):
        word, conf = str(item.get("word", "")), float(item.get("conf", 0.0))
        if word == UNK or word in fillers:
            word, conf = UNK, 0.0
        words.append((word, conf))
    if not words:  # text without per-word data: no confidence to report
        words = [(w, 0.0) for w in str(data.get("text", "")).split()]
    return _result(words)


def merge_results(results: Iterable[RecognitionResult]) -> RecognitionResult:
    return _result([w for r in results for w in r.words])


def _result(words: Iterable[tuple[str, float]]) -> RecognitionResult:
    merged: list[tuple[str, float]] = []
    for word in words:
        if not (word[0] == UNK and merged and merged[-1][0] == UNK):
            merged.append(word)
    confidence = sum(c for _, c in merged) / len(merged) if merged else 0.0
    return RecognitionResult(
        text=" ".join(w for w, _ in merged), final=True, confidence=confidence, words=tuple(merged)
    )


def _garbage(language: str) -> frozenset[str]:
    from robot.core.languages import get_pack

    try:
        garbage = get_pack(language).vosk_garbage
    except KeyError:
        return frozenset()
    return garbage - frozenset(reply_words(language))


def listening_phrases(language: str) -> tuple[str, ...]:
    """The grammar a call listens with: the pack's phrases, then the reply words (without the
    model's filler syllables, which must keep absorbing speech outside the grammar)."""
    from robot.core.languages import get_pack

    known = REGISTRY.get(language)
    fillers = set(known.unk_fillers) if known else set()
    extra = [w for w in reply_words(language) if w not in fillers]
    return tuple(dict.fromkeys((*get_pack(language).vosk_grammar, *extra)))


# Silence after a "yes" before it is returned (other answers: as soon as the gate flushes);
# set, with the other end-of-answer timings it is ordered against, in core.vad.VadConfig.
YES_HOLD_S = VadConfig().yes_hold_s

_Op = bytes | None  # audio to decode, or None: end the utterance here (the gate's tail ran out)


class VoskStream:
    """Implements ``ports.RecognizerStream`` for one call: VAD gate, then one KaldiRecognizer.

    ``feed`` gates the audio on the event loop (cheap) and decodes the voiced part in the
    shared thread pool; one stream's decodes run one at a time, in order. A final result comes
    back when Vosk's endpointer ends the utterance, or when the gate has passed its silence
    tail after speech and the decoder still holds words (whichever is first); a yes only after
    the yes hold. Speech with no words in it ends the turn with an empty final result once
    ``end_of_speech_s`` passed (``core.vad.EndOfSpeech``, the one place this is decided).
    """

    def __init__(
        self,
        new_decoder: Callable[[], tuple[vosk.KaldiRecognizer, frozenset[str]]],
        *,
        language: str,
        model_name: str,
        executor: Executor,
        vad_config: VadConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        trust: TrustRules | None = None,
    ) -> None:
        self.language = language
        self._trust = trust or TrustRules()
        self.model_name = model_name
        self._new_decoder = new_decoder  # -> (recognizer, filler words reported as [unk])
        self._decoder: vosk.KaldiRecognizer | None = None  # built on first use, in the pool
        self._executor = executor
        self._fillers: frozenset[str] = frozenset()
        self._gate = SpeechGate(vad_config)
        self._end = EndOfSpeech(self._gate.vad.config)
        self._clock = clock
        self._buf = bytearray()
        self._pending: deque[RecognitionResult] = deque()
        self._lock = asyncio.Lock()
        self._generation = 0  # bumped by reset(); decodes of an older generation are dropped
        self._decoder_generation = 0
        self._dirty = False  # the decoder holds audio since its last result
        self._levels: list[float] = []  # frame levels of the speech since the last result
        # Monotonic time the last voiced frame ended, set when speech ends (gate hangover)
        # and when a final result is returned: "end of speech" for latency measurements.
        self.last_speech_end: float | None = None
        self.last_endpoint = ""  # what ended the last final result: vosk | gate | finish
        self.audio_s = 0.0  # audio fed
        self.decoded_audio_s = 0.0  # of which passed the gate to Vosk
        self.decode_s = 0.0  # thread time spent inside Vosk

    @property
    def speaking(self) -> bool:
        return self._gate.speaking

    @property
    def _last_voiced_at(self) -> float | None:
        return self._end.last_voiced_at

    async def feed(self, pcm: bytes) -> RecognitionResult | None:
        ops = self._gate_frames(pcm)
        if ops:
            for endpoint, result in await self._decode(ops, final=False):
                if result.text:
                    self._pending.append(result)
                    self.last_endpoint = endpoint
        if not self._pending:
            if not self._end.nothing_heard(self._clock(), self._gate.decoding):
                return None
            self.last_speech_end = self._last_voiced_at
            self.last_endpoint = "gate"
            return _result([])  # speech, no words: the turn is over (see EndOfSpeech)
        if self._holding():
            return None
        self.last_speech_end = self._last_voiced_at
        merged = merge_results(self._pending)
        self._pending.clear()
        self._end.gave_answer()
        return self._judged(merged) if len(merged.words) > 1 else merged

    def _holding(self) -> bool:
        """Keep a yes back until ``yes_hold_s`` of silence: "네? 뭐라고요?" and "да... нет,
        подождите" are one answer with a pause in it, and the second half decides."""
        from robot.core.languages import get_pack

        last = self._pending[-1]
        if get_pack(self.language).classify(last.text) is not Intent.YES:
            return False
        return self._end.holds_yes(self._clock(), self._gate.speaking)

    async def finish(self) -> RecognitionResult:
        finals = [r for _, r in await self._decode([], final=True) if r.text]
        if finals:
            self.last_endpoint = "finish"
        merged = merge_results([*self._pending, *finals])
        self._pending.clear()
        if merged.text:
            self.last_speech_end = self._last_voiced_at
        return merged

    def close(self) -> None:
        """Nothing to free: the decoder goes with the stream (ports.RecognizerStream)."""

    def reset(self) -> None:
        self._generation += 1
        self._gate.reset()
        self._buf.clear()
        self._pending.clear()
        self._levels.clear()
        self._end.reset()
        self.last_speech_end = None

    def _gate_frames(self, pcm: bytes) -> list[_Op]:
        self._buf += pcm
        count = len(self._buf) // FRAME_BYTES
        if not count:
            return []
        now = self._clock()
        ops: list[_Op] = []
        audio = bytearray()
        for i in range(count):
            frame = bytes(self._buf[i * FRAME_BYTES : (i + 1) * FRAME_BYTES])
            step = self._gate.push(frame)
            if self._gate.speaking:
                self._levels.append(self._gate.vad.last_dbfs)
            # A chunk arrives when its last sample does: frame i ended (count-1-i) frames ago.
            self._end.step(step, self._gate.speaking, now - (count - 1 - i) * FRAME_MS / 1000)
            if step.speech_ended:
                self.last_speech_end = self._last_voiced_at
            for decoded in step.decode:
                audio += decoded
            if step.flush:
                ops += [bytes(audio), None]
                audio.clear()
        del self._buf[: count * FRAME_BYTES]
        if audio:
            ops.append(bytes(audio))
        self.audio_s += count * FRAME_MS / 1000
        return [op for op in ops if op != b""]

    async def _decode(self, ops: list[_Op], *, final: bool) -> list[tuple[str, RecognitionResult]]:
        generation = self._generation
        loop = asyncio.get_running_loop()
        async with self._lock:
            raw = await loop.run_in_executor(self._executor, self._work, ops, generation, final)
        if generation != self._generation:
            return []
        results = [
            (endpoint, self._judged(to_result(data, self._fillers))) for endpoint, data in raw
        ]
        if any(result.text for _, result in results):
            if is_steady(self._levels):
                log.info("%s: a steady tone, not speech: %r", self.language, results)
                results = [(e, _result([(UNK, 0.0)]) if r.text else r) for e, r in results]
            self._levels.clear()
        for endpoint, result in results:
            if result.text:
                log.debug(
                    "%s heard %r (%.2f, %s)",
                    self.language,
                    result.text,
                    result.confidence,
                    endpoint,
                )
        return results

    def _judged(self, result: RecognitionResult) -> RecognitionResult:
        """A yes that fails the trust rules (``robot.core.trust``) comes back as [unk]."""
        if not result.words:
            return result
        from robot.core.languages import get_pack

        verdict = check_yes(result.words, get_pack(self.language).classify, self._trust)
        if not verdict.distrusted:
            return result
        log.info("%s: distrusted a yes in %r (%s)", self.language, result.text, verdict.distrusted)
        return _result(verdict.words)

    def _work(self, ops: list[_Op], generation: int, final: bool) -> list[tuple[str, Any]]:
        """Runs in the thread pool, never concurrently for one stream."""
        started = time.perf_counter()
        if self._decoder is None:
            self._decoder, self._fillers = self._new_decoder()
        rec = self._decoder
        if self._decoder_generation != generation:
            rec.FinalResult()  # not Reset(): see the module notes
            self._decoder_generation = generation
            self._dirty = False
        out: list[tuple[str, Any]] = []
        for op in ops:
            if op is None:
                if self._dirty:
                    out.append(("gate", json.loads(rec.FinalResult())))
                    self._dirty = False
                continue
            self.decoded_audio_s += len(op) / (SAMPLE_RATE * 2)
            for i in range(0, len(op), FRAME_BYTES):
                self._dirty = True
                if rec.AcceptWaveform(op[i : i + FRAME_BYTES]):
                    out.append(("vosk", json.loads(rec.Result())))
                    self._dirty = False
        if final:
            out.append(("finish", json.loads(rec.FinalResult())))
            self._dirty = False
        self.decode_s += time.perf_counter() - started
        return out


class VoskRecognizer:
    """Implements ``ports.Recognizer``: the models for some languages, streams per call."""

    def __init__(
        self,
        models: Mapping[str, ModelInfo],
        *,
        max_workers: int | None = None,
        vad_config: VadConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        trust: TrustRules | None = None,
    ) -> None:
        self._models = dict(models)
        self._trust = trust
        self._max_workers = max_workers or os.cpu_count() or 1
        self._vad_config = vad_config
        self._clock = clock
        self._executor: ThreadPoolExecutor | None = None
        self._grammars: dict[tuple[str, tuple[str, ...]], PreparedGrammar] = {}
        self._lock = threading.Lock()
        self.model_name = ", ".join(f"{lang}={info.name}" for lang, info in self._models.items())

    @classmethod
    def from_settings(
        cls, settings: Any, languages: Iterable[str] | None = None, **kwargs: Any
    ) -> VoskRecognizer:
        """Resolve models for ``languages`` (default ``settings.asr_languages``).

        "auto" takes every installed model and logs which are missing (possibly none is
        installed: ``languages()`` is then empty). An explicit language without a model is an
        error (:class:`ModelNotInstalled`), never replaced by another.
        """
        overrides = model_overrides(settings)
        wanted = list(languages) if languages is not None else None
        if wanted is None and settings.asr_languages.strip() != "auto":
            wanted = [x.strip() for x in settings.asr_languages.split(",") if x.strip()]
        models: dict[str, ModelInfo] = {}
        if wanted is None:
            for lang in REGISTRY:
                try:
                    models[lang] = resolve(lang, settings.models_dir, overrides.get(lang))
                except ModelNotInstalled as e:
                    log.warning("speech recognition: no %s: %s", lang, e)
        else:
            for lang in wanted:
                models[lang] = resolve(lang, settings.models_dir, overrides.get(lang))
        for info in models.values():
            log.info(
                "speech recognition: %s with %s (%s, %s)",
                info.language,
                info.name,
                info.source.value,
                info.path,
            )
        return cls(models, **kwargs)

    def languages(self) -> tuple[str, ...]:
        return tuple(self._models)

    def model_info(self, language: str) -> ModelInfo:
        try:
            return self._models[language]
        except KeyError:
            raise ModelNotInstalled(
                f"no speech model loaded for {language!r}; this recognizer has "
                f"{', '.join(self._models)} (see `robot models list`)"
            ) from None

    def describe(self) -> list[dict[str, Any]]:
        """Per language: which model, from where, whether loaded, how unknown speech is caught."""
        rows = []
        for lang, info in self._models.items():
            unk = sorted({g.unk for (gl, _), g in self._grammars.items() if gl == lang})
            load_s = _load_seconds.get(info.path)
            rows.append(
                {
                    **info.describe(),
                    "engine": "vosk",
                    "sample_rate": SAMPLE_RATE,
                    "loaded": info.path in _models,
                    "load_s": None if load_s is None else round(load_s, 3),
                    "unknown_speech": ",".join(unk) or None,
                }
            )
        return rows

    def model(self, language: str) -> vosk.Model:
        return load_model(self.model_info(language).path)

    def preload(self) -> None:
        """Load every model now (the service does this at start, not on the first call)."""
        for lang in self._models:
            self.model(lang)

    def grammar(self, language: str, phrases: Sequence[str] | None = None) -> PreparedGrammar:
        if phrases is None:
            phrases = listening_phrases(language)
        key = (language, tuple(phrases))
        with self._lock:
            prepared = self._grammars.get(key)
        if prepared is None:
            known = REGISTRY.get(language)
            fillers = known.unk_fillers if known else ()
            prepared = prepare_grammar(self.model(language), key[1], fillers)
            garbage = _garbage(language)
            kept = {w for p in prepared.phrases for w in p.split()}
            prepared = replace(prepared, fillers=prepared.fillers | (garbage & kept))
            if prepared.dropped:
                log.warning(
                    "grammar %s: dropped phrases with words not in %s: %s",
                    language,
                    self._models[language].name,
                    ", ".join(prepared.dropped),
                )
            if prepared.unk == "none":
                log.warning(
                    "grammar %s: %s has no [unk] and no fillers; off-grammar speech will be "
                    "heard as one of the phrases",
                    language,
                    self._models[language].name,
                )
            with self._lock:
                self._grammars[key] = prepared
        return prepared

    def open(self, language: str, *, grammar: Sequence[str] | None = None) -> VoskStream:
        """A stream for one call. ``grammar``: phrases to listen for; None: the language
        pack's grammar with the reply words (``listening_phrases``); empty: free dictation
        with the model's full vocabulary.

        Cheap and safe on the event loop: the decoder is built on the stream's first decode,
        in the thread pool (loading the model there if ``preload`` was not called)."""
        info = self.model_info(language)
        if grammar is None:
            grammar = listening_phrases(language)
        phrases = tuple(grammar)

        def new_decoder() -> tuple[vosk.KaldiRecognizer, frozenset[str]]:
            model = self.model(language)
            prepared = self.grammar(language, phrases)
            if prepared.phrases:
                rec = vosk.KaldiRecognizer(model, SAMPLE_RATE, prepared.json())
            else:
                rec = vosk.KaldiRecognizer(model, SAMPLE_RATE)
            rec.SetWords(True)
            return rec, prepared.fillers

        return VoskStream(
            new_decoder,
            language=language,
            model_name=info.name,
            executor=self._get_executor(),
            vad_config=self._vad_config,
            clock=self._clock,
            trust=self._trust,
        )

    def _get_executor(self) -> Executor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._max_workers, thread_name_prefix="vosk"
                )
            return self._executor

    def close(self) -> None:
        """Stop the decoding threads (after the calls using them have finished)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
