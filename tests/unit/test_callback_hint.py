from __future__ import annotations

import pytest

from robot.core.callback_hint import callback_hint


@pytest.mark.parametrize(
    ("text", "lang", "hint"),
    [
        ("перезвоните через час", "ru", "+60m"),
        ("через полчаса", "ru", "+30m"),
        ("наберите через 10 минут", "ru", "+10m"),
        ("через два часа", "ru", "+120m"),
        ("позвоните вечером", "ru", "evening"),
        ("лучше завтра утром", "ru", "tomorrow morning"),
        ("я за рулём", "ru", None),
        ("한 시간 후에 전화해 주세요", "ko", "+60m"),
        ("삼십 분 후에 다시 걸어 주세요", "ko", "+30m"),
        ("내일 다시 연락 주세요", "ko", "tomorrow"),
        ("저녁에 전화해 주세요", "ko", "evening"),
    ],
)
def test_callback_hint(text: str, lang: str, hint: str | None) -> None:
    assert callback_hint(text, lang) == hint
