"""The words a call's recognizer listens for beyond the language pack's answers."""

from __future__ import annotations

from robot.adapters.asr_models import REGISTRY
from robot.adapters.vosk_asr import _garbage, listening_phrases
from robot.core.languages import get_pack
from robot.core.reply_vocabulary import reply_words


def test_reply_words_cover_days_months_hours_and_the_reply_cues() -> None:
    ru = set(reply_words("ru"))
    assert {"воскресенье", "среду", "декабря", "шестого", "восьми", "вечера"} <= ru
    assert {"ошиблись", "заказывал", "оставьте", "сообщение", "адрес"} <= ru
    ko = set(reply_words("ko"))
    assert {"일요일", "십이월", "여덟", "오후", "잘못", "주문", "메시지를", "남겨"} <= ko
    assert reply_words("xx") == ()
    for lang in ("ru", "ko"):
        words = reply_words(lang)
        assert len(words) == len(set(words)) and all(" " not in w for w in words)


def test_a_call_listens_for_the_pack_then_the_reply_words_but_not_the_fillers() -> None:
    for lang in ("ru", "ko"):
        phrases = listening_phrases(lang)
        pack = get_pack(lang).vosk_grammar
        assert phrases[: len(pack)] == tuple(dict.fromkeys(pack))
        extra = set(phrases[len(pack) :])
        assert extra and extra <= set(reply_words(lang))
        assert not extra & set(REGISTRY[lang].unk_fillers)
        # A reply word is never reported as garbage ([unk]): "배송", "주소", "언제" key replies.
        assert not _garbage(lang) & set(reply_words(lang))
