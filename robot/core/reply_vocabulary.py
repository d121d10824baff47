"""The words a grammar-restricted recognizer must be able to produce for the replies beyond
yes and no: days, months, ordinals, hours and parts of the day (a change of delivery), the
address, a wrong number, "I did not order", a machine's greeting and questions about the order.

A Vosk grammar decodes only its own words; anything else becomes ``[unk]``, and a reply made
of ``[unk]`` cannot be a change or a wrong number. So the recognizer listens for the language
pack's grammar *plus* these words (``robot.adapters.vosk_asr``), which is what lets the
language pack's understanding (dates, negation, clauses) see the words at all. Numbers, dates
and weekdays come from the same tables the robot speaks with (``robot.core.numerals``), so
what the robot can read back it can also hear. Words missing from a model's vocabulary are
dropped by the recognizer (and logged). Pure data.
"""

from __future__ import annotations

from robot.core import numerals, numerals_ko

_RU = """
понедельник понедельника понедельнику вторник вторника вторнику среда среду среды среде
четверг четверга четвергу пятница пятницу пятницы пятнице суббота субботу субботы субботе
воскресенье воскресенья воскресенью выходные выходных будни будний неделе неделю недели
сегодня завтра послезавтра через день дня дней числа число следующий следующей следующую
этой эту утром утра утру днём днем дня вечером вечера вечеру ночью ночи обед обеда обеду
после до с со к ко ближе раньше позже пораньше попозже час часа часов полдень половине
перенести перенесите перенесем перенесём переносим перенос поменять поменяйте поменялся
изменить измените другой другое другую другому другая другим привезти привезите привезут
доставить доставьте доставка доставку доставки адрес адреса адресу адресом улица улицу дом
квартира работу работе маме маму к мне ко мной не а но только лучше можно давайте хочу нужно
ошиблись ошибся ошиблась ошибка номером номер туда попали такого такой такая нет здесь тут
живёт живет никакого никакой никого я это не заказывал заказывала заказывали заказала заказал
покупал покупала покупали оформлял оформляла ничего заказа заказ сообщение сообщения оставьте
после сигнала звукового гудка абонент недоступен доступен зоны действия сети перезвоните
позвонили дозвонились автоответчик голосовая почта помощник помощница ассистент виртуальный
секретарь скажите какому вопросу кто звонит представьтесь слушает слушаю передать передам
когда сколько стоит сумма что какой какая где магазин курьер позвонит заранее оплата картой
наличными привезёте приедет придёт
"""

_KO = """
월요일 화요일 수요일 목요일 금요일 토요일 일요일 오전 오후 아침 점심 저녁 밤 시 반 분 이후 이전
이전에 까지 부터 한 두 세 다섯 여섯 일곱 여덟 아홉 열 열두 내일 모레 글피 다음 주 다음주 이번 배송
배달 배송해 바꾸고 바꿔 변경 주소 다른 곳 집 회사 보내 싶어요 잘못 번호 아닙니다 그런 사람
없어요 모르는 제가 주문 적 적이 했어요 시킨 메시지 메시지를 남겨 주세요 삐 소리 소리가 음성
사서함 음성사서함 받을 수 없습니다 전화를 고객 비서 인공지능 용건 누구 언제 얼마 뭐 무엇 상품
어디 가게 돼요 도착 기사 미리 날
"""


def _numbers_ru() -> list[str]:
    keys = ("num/", "ord/", "month/", "weekday/", "gen/", "date/")
    words = [w for k, w in numerals.RU_WORDS.items() if k.startswith(keys)]
    return [part for w in words for part in w.split()]


def _numbers_ko() -> list[str]:
    keys = ("month/", "day/", "weekday/", "hour/", "time/", "date/", "num/")
    return [w for k, w in numerals_ko.KO_WORDS.items() if k.startswith(keys)]


def reply_words(language: str) -> tuple[str, ...]:
    """Words (one per entry, no duplicates) to add to ``language``'s recognizer grammar."""
    if language == "ru":
        words = [*_RU.split(), *_numbers_ru()]
    elif language == "ko":
        words = [*_KO.split(), *_numbers_ko()]
    else:
        return ()
    return tuple(dict.fromkeys(w.lower() for w in words))
