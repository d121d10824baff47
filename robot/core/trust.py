"""Whether a recognized "yes" is trusted: the guard between the recognizer and the dialog.

A false yes confirms an order nobody wanted; "I did not understand" costs one more question.
So a yes that comes from speech recognition (not from a key press, not from typed text) must
look like an answer, not like a stray match inside other speech:

1. **Confidence**: every answer word (a word that on its own reads as yes or no) was heard
   with at least ``min_confidence`` (Vosk's per-word posterior).
2. **Position**: the answer opens the utterance: at most ``max_lead`` stretches of other speech
   (``[unk]``) before the first answer word. "[unk] 네 [unk]" is a "네" found inside something
   else ("좋네요", "여보세요 누구세요"); "네, 맞아요" and "да, подтверждаю" start with it.
3. **Length**: at most ``max_other`` stretches of other speech in the whole utterance: a long
   utterance with one "yes" in it is a question, a story or a "yes, but...".

4. **Not a tone**: a line tone, a hum or music on hold decodes as words too (a 150 Hz hum
   came out as a confident "네"). Speech rises and falls from one 20 ms frame to the next by
   about 3 dB on average (at least 0.8 dB even under noise in our evaluation set); a tone
   changes by well under 0.5 dB. An utterance that steady (``is_steady``) is not an answer
   at all: all of it becomes ``[unk]``.

A yes failing any test has its answer words replaced by ``[unk]``, so the utterance reads as
unknown (the dialog asks again in other words) and the transcript shows what was distrusted.
The rules are the same for every language; only the classifier differs. Other intents pass
unchanged: a false "no" or "call later" costs a call back, not a wrong delivery.

Pure: words in, words out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from robot.core.models import Intent

UNK = "[unk]"
Word = tuple[str, float]  # (word, confidence 0..1); [unk] has confidence 0


@dataclass(frozen=True)
class TrustRules:
    min_confidence: float = 0.7  # every answer word of a yes at least this sure
    max_lead: int = 0  # [unk] stretches allowed before the first answer word
    max_other: int = 0  # [unk] stretches allowed in the whole utterance


@dataclass(frozen=True)
class Verdict:
    words: tuple[Word, ...]  # the words to classify: distrusted answer words -> [unk]
    distrusted: str  # "" if trusted or not a yes; else why: confidence | position | length


STEADY_MAX_DELTA_DB = 0.5  # mean level change between frames below which audio is a tone
STEADY_MIN_FRAMES = 10


def is_steady(levels_db: Sequence[float]) -> bool:
    """Frame levels (dBFS, one per 20 ms frame of an utterance) of a tone, not of speech."""
    if len(levels_db) < STEADY_MIN_FRAMES:
        return False
    deltas = [abs(a - b) for a, b in pairwise(levels_db)]
    return sum(deltas) / len(deltas) < STEADY_MAX_DELTA_DB


def _text(words: Sequence[Word]) -> str:
    return " ".join(w for w, _ in words)


def _merge_unk(words: list[Word]) -> tuple[Word, ...]:
    out: list[Word] = []
    for w in words:
        if not (w[0] == UNK and out and out[-1][0] == UNK):
            out.append(w)
    return tuple(out)


def check_yes(
    words: Sequence[Word], classify: Callable[[str], Intent], rules: TrustRules | None = None
) -> Verdict:
    """Apply the rules to a recognized utterance (see the module notes)."""
    rules = rules or TrustRules()
    words = _merge_unk(list(words))
    if not words or classify(_text(words)) is not Intent.YES:
        return Verdict(words, "")
    answers = [
        i for i, (w, _) in enumerate(words) if w != UNK and classify(w) in (Intent.YES, Intent.NO)
    ]
    unk = [i for i, (w, _) in enumerate(words) if w == UNK]
    why = ""
    if not answers:
        why = "position"  # a yes only from how words combine; nothing to check it by
    elif any(words[i][1] < rules.min_confidence for i in answers):
        why = "confidence"
    elif sum(1 for i in unk if i < answers[0]) > rules.max_lead:
        why = "position"
    elif len(unk) > rules.max_other:
        why = "length"
    if not why:
        return Verdict(words, "")
    out = _merge_unk([(UNK, 0.0) if i in answers else w for i, w in enumerate(words)])
    if classify(_text(out)) is Intent.YES:  # the yes is in how the other words combine
        out = ((UNK, 0.0),)
    return Verdict(out, why)
