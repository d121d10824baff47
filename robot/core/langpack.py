"""The per-language contract: how answers are understood and what the recognizer listens for.

Each supported language has one :class:`LanguagePack` (``robot.core.lang_ru``,
``robot.core.lang_ko``). ``get_pack`` is the only lookup the rest of the code uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from robot.core.models import Intent


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

    def classify(self, text: str) -> Intent:
        return self.classify_text(text)


def decide_yes_no(signals: list[tuple[int, int, int]]) -> Intent | None:
    """Pick yes or no from (strength, position, +1 yes / -1 no) signals: the strongest kind
    wins, and among those the last one said ("нет-нет, всё верно" is yes)."""
    if not signals:
        return None
    top = max(level for level, _, _ in signals)
    last = max((s for s in signals if s[0] == top), key=lambda s: s[1])
    return Intent.YES if last[2] > 0 else Intent.NO


def get_pack(code: str) -> LanguagePack:
    from robot.core import lang_ko, lang_ru

    packs = {"ru": lang_ru.PACK, "ko": lang_ko.PACK}
    try:
        return packs[code]
    except KeyError:
        raise KeyError(f"no language pack for {code!r}; have {', '.join(packs)}") from None
