"""Glued and misspelt words before classification (robot.core.repair) and the Russian pack's
use of it."""

from __future__ import annotations

import pytest

from robot.core.lang_ru import classify
from robot.core.repair import correct, edit_distance, split_glued


def test_edit_distance() -> None:
    assert edit_distance("подтверждаю", "подтверждаю") == 0
    assert edit_distance("потверждаю", "подтверждаю") == 1
    assert edit_distance("канешно", "конечно") == 2
    assert edit_distance("abc", "abcdef", limit=2) == 3


def test_correct_only_close_unique_words() -> None:
    canon = ("подтверждаю", "конечно", "хорошо")
    assert correct("подтвирждаю", canon) == "подтверждаю"
    assert correct("канешно", canon) == "конечно"
    assert correct("хорошая", canon) is None  # two edits and another length: a real word
    assert correct("да", canon) is None  # too short to guess


def test_split_glued_particles() -> None:
    def known(w: str) -> bool:
        return w in {"да", "нет", "не", "звоните", "подтверждаю"}

    particles = ("да", "нет", "не")
    assert split_glued("дада", known, particles) == ["да", "да"]
    assert split_glued("данет", known, particles) == ["да", "нет"]
    assert split_glued("незвоните", known, particles) == ["не", "звоните"]
    assert split_glued("дальше", known, particles) == ["дальше"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("даподтверждаю", "yes"),
        ("дапотверждаю", "yes"),
        ("канешно", "yes"),
        ("всёверно", "yes"),
        ("незвоните", "dnc"),
        ("неподтверждаю", "no"),
        ("данет не надо", "no"),
        ("сегодня хорошая погода", "unknown"),  # not "corrected" into хорошо
        ("дальше", "unknown"),
    ],
)
def test_russian_repairs(text: str, intent: str) -> None:
    assert classify(text).value == intent
