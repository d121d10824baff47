"""The trust rules between the recognizer and the dialog (robot.core.trust)."""

from __future__ import annotations

import pytest

from robot.core.lang_ko import classify as ko
from robot.core.lang_ru import classify as ru
from robot.core.trust import UNK, TrustRules, check_yes, is_steady

U = (UNK, 0.0)


def words(*pairs: tuple[str, float]) -> list[tuple[str, float]]:
    return list(pairs)


@pytest.mark.parametrize(
    ("heard", "classify"),
    [
        (words(("네", 0.95)), ko),
        (words(("네", 0.9), ("맞아", 0.8), ("요", 0.5)), ko),
        (words(("да", 0.9), ("подтверждаю", 0.95)), ru),
        (words(("угу", 0.8)), ru),
    ],
)
def test_a_clear_short_yes_is_trusted(heard, classify) -> None:
    verdict = check_yes(heard, classify)
    assert verdict.distrusted == ""
    assert classify(" ".join(w for w, _ in verdict.words)).value == "yes"


@pytest.mark.parametrize(
    ("heard", "why"),
    [
        (words(("네", 0.4)), "confidence"),  # heard, but not surely
        (words(U, ("네", 1.0), ("요", 1.0)), "position"),  # "좋네요": 네 inside other speech
        (words(("네", 1.0), U), "length"),  # "네, 근데 주소를 바꾸고 싶어요"
    ],
)
def test_a_doubtful_yes_becomes_unknown(heard, why) -> None:
    verdict = check_yes(heard, ko)
    assert verdict.distrusted == why
    assert ko(" ".join(w for w, _ in verdict.words)).value != "yes"


def test_rules_are_adjustable() -> None:
    lenient = TrustRules(min_confidence=0.3, max_lead=1, max_other=2)
    assert check_yes(words(U, ("네", 0.4), U), ko, lenient).distrusted == ""


def test_other_intents_pass_unchanged() -> None:
    heard = words(U, ("아니요", 0.3), U)
    assert check_yes(heard, ko).words == tuple(heard)
    assert check_yes(words(("нет", 0.2)), ru).distrusted == ""


def test_a_yes_only_in_how_words_combine_is_dropped() -> None:
    # "не надо отменять" is yes, but only "отменять" reads as an answer on its own (a no):
    # with it distrusted the rest must not come out as yes either.
    verdict = check_yes(words(("не", 0.9), ("надо", 0.9), ("отменять", 0.2)), ru)
    assert verdict.distrusted == "confidence"
    assert ru(" ".join(w for w, _ in verdict.words)).value != "yes"


def test_steady_tones_are_not_speech() -> None:
    assert is_steady([-20.0] * 30)
    assert is_steady([-20.0, -20.3] * 15)
    speech = [-20.0, -24.0, -18.0, -30.0, -22.0, -19.0, -35.0, -21.0, -25.0, -20.0, -28.0]
    assert not is_steady(speech)
    assert not is_steady([-20.0] * 5)  # too short to tell
