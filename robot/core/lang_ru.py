"""Russian: the language pack (understanding and the words the recognizer listens for).

Understanding lives in :mod:`robot.core.nlu` (``understand_ru`` over the word-level
``answers_ru``, dates in ``dates_ru``, lemmas from pymorphy3 in ``morph_ru``); this module
wires it into the pack and owns the Vosk grammar.
"""

from __future__ import annotations

from datetime import date

from robot.core.langpack import LanguagePack, Reply
from robot.core.models import Intent
from robot.core.nlu.answers_ru import normalize
from robot.core.nlu.understand_ru import understand

__all__ = ["PACK", "classify", "normalize", "understand"]


def classify(text: str) -> Intent:
    return understand(text).intent


def _understand(text: str, today: date | None) -> Reply:
    return understand(text, today)


# Words the classifier keys on, their common forms, and fillers; "[unk]" absorbs the rest.
_GRAMMAR_WORDS = """
да ага угу ок окей хорошо ладно давайте давай отлично нормально можно конечно разумеется
естественно точно именно обязательно верно правильно все так в силе порядке без проблем
подтверждаю подтверждаем подтвердить согласен согласна заказывал заказывала заказывали
заказала заказал жду ждем привозите везите доставьте доставляйте оформляйте устраивает
подходит мой моя мой наш это заказ заказа актуально нет неа не ни надо нужно нужен хочу буду
отмените отменить отменяйте отмена отменяю отказываюсь откажусь передумал передумала
ошибка ошиблись неверно неправильно против возражаю неактуально никак случае
звоните звонить звони звонки звонков перезванивайте перезванивать беспокойте беспокоить
хватит перестаньте прекратите удалите номер телефон меня из базы больше никогда черный
список оператор оператором оператора менеджер менеджером специалист человек человеком
живым соедините переключите с со позже попозже потом перезвоните перезвоню позвоните
наберите занят занята за рулем неудобно некогда могу говорить сейчас на работе совещании
встрече дороге через час другой раз время повторите повторить повтори еще расслышал
расслышала понял поняла слышно слышу плохо громче что как какой какая сумма сумму номер
сколько кто вы алло один два ну э вот спасибо пожалуйста мне нам вам я плохая связь звонить
"""


def _grammar() -> tuple[str, ...]:
    seen: dict[str, None] = dict.fromkeys(_GRAMMAR_WORDS.split())
    return (*seen, "[unk]")


PACK = LanguagePack(
    code="ru",
    name="Russian",
    vosk_grammar=_grammar(),
    classify_text=classify,
    understand_text=_understand,
)
