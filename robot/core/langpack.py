"""The per-language contract: how answers are understood and what the recognizer listens for.

Each supported language has one :class:`LanguagePack` (``robot.core.lang_ru``,
``robot.core.lang_ko``). ``robot.core.languages.get_pack`` is the only lookup the rest of the
code uses; this module imports no pack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time

from robot.core.models import Intent


@dataclass(frozen=True)
class RequestedChange:
    """What a customer asked to change about the delivery (intent ``change``).

    ``date`` / ``after`` / ``before`` are None where the customer named none (or it could not be
    read); ``address`` is True when they want it delivered elsewhere; ``text`` keeps their words.
    """

    date: date | None = None
    after: time | None = None
    before: time | None = None
    address: bool = False
    text: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "date": self.date.isoformat() if self.date else None,
            "after": self.after.strftime("%H:%M") if self.after else None,
            "before": self.before.strftime("%H:%M") if self.before else None,
            "address": self.address,
            "text": self.text,
        }


@dataclass(frozen=True)
class Reply:
    """One reply understood: its intent and, for ``change``, what the customer asked for."""

    intent: Intent
    change: RequestedChange | None = None


@dataclass(frozen=True)
class LanguagePack:
    code: str  # "ru"
    name: str  # "Russian"
    # Phrases for a Vosk grammar (a small vocabulary the decoder is restricted to), including
    # "[unk]" so that speech outside the answers does not get forced into yes or no.
    vosk_grammar: tuple[str, ...]
    classify_text: Callable[[str], Intent]
    # Grammar words that key no answer and are there only to absorb other speech (everyday
    # words): the recognizer reports them as "[unk]", like the model's own unknown word.
    vosk_garbage: frozenset[str] = frozenset()
    # Full understanding (intent plus a requested change, dates resolved against ``today``, the
    # customer's local date). Packs without it understand intents only.
    understand_text: Callable[[str, date | None], Reply] | None = None

    def classify(self, text: str) -> Intent:
        return self.understand(text).intent

    def understand(self, text: str, today: date | None = None) -> Reply:
        if self.understand_text is not None:
            return self.understand_text(text, today)
        return Reply(self.classify_text(text))


def decide_yes_no(signals: list[tuple[int, int, int]]) -> Intent | None:
    """Pick yes or no from (strength, position, +1 yes / -1 no) signals: the strongest kind
    wins, and among those the last one said ("нет-нет, всё верно" is yes)."""
    if not signals:
        return None
    top = max(level for level, _, _ in signals)
    last = max((s for s in signals if s[0] == top), key=lambda s: s[1])
    return Intent.YES if last[2] > 0 else Intent.NO
