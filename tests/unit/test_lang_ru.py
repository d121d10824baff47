"""Russian answers -> intents (robot.core.lang_ru), and its recognizer grammar."""

from __future__ import annotations

import re

import pytest

from robot.core.lang_ru import PACK, classify, normalize
from robot.core.languages import get_pack
from robot.core.models import Intent

CASES = [
    # yes
    ("да", Intent.YES),
    ("угу", Intent.YES),
    ("ага, подтверждаю", Intent.YES),
    ("нет-нет, всё верно", Intent.YES),
    ("Да, конечно", Intent.YES),
    ("конечно", Intent.YES),
    ("всё правильно", Intent.YES),
    ("да, всё верно, привозите", Intent.YES),
    ("подтверждаю", Intent.YES),
    ("я согласна", Intent.YES),
    ("я не против", Intent.YES),
    ("не отменяйте", Intent.YES),
    ("не надо отменять", Intent.YES),
    ("не хочу отменять заказ", Intent.YES),
    ("да, я заказывала", Intent.YES),
    ("ну да", Intent.YES),
    ("так точно", Intent.YES),
    ("хорошо", Intent.YES),
    ("ладно, давайте", Intent.YES),
    ("окей", Intent.YES),
    ("не откажусь", Intent.YES),
    ("не надо оператора, да подтверждаю", Intent.YES),
    ("что? а, да, подтверждаю", Intent.YES),
    ("да [unk]", Intent.YES),
    ("1", Intent.YES),
    ("занят, но подтверждаю", Intent.YES),
    ("заказ актуален", Intent.YES),
    ("жду", Intent.YES),
    ("ждём", Intent.YES),
    ("да да да", Intent.YES),
    ("да, но доставку лучше на послезавтра", Intent.CHANGE),
    ("да, надо", Intent.YES),
    ("не надо повторять, подтверждаю", Intent.YES),
    ("Да, всё так", Intent.YES),
    ("да-да, конечно", Intent.YES),
    ("Ага", Intent.YES),
    ("Угу, да", Intent.YES),
    ("Верно", Intent.YES),
    ("Правильно", Intent.YES),
    ("Да, подтверждаю заказ", Intent.YES),
    ("Конечно, подтверждаю", Intent.YES),
    ("Да, жду доставку", Intent.YES),
    ("Да, привозите", Intent.YES),
    ("Всё верно, спасибо", Intent.YES),
    ("Да, это мой заказ", Intent.YES),
    ("Подтверждаю, всё правильно", Intent.YES),
    ("Ну да, заказывала", Intent.YES),
    ("Да, всё в порядке", Intent.YES),
    ("Согласен", Intent.YES),
    ("Хорошо, спасибо", Intent.YES),
    # no
    ("не подтверждаю", Intent.NO),
    ("да нет, не надо", Intent.NO),
    ("нет", Intent.NO),
    ("отмените заказ", Intent.NO),
    ("конечно нет", Intent.NO),
    ("нет конечно", Intent.NO),
    ("не всё правильно", Intent.NO),
    ("не согласен", Intent.NO),
    ("хочу отменить заказ", Intent.NO),
    ("не хочу", Intent.NO),
    ("не нужно", Intent.NO),
    ("мне это уже не нужно", Intent.NO),
    ("уже неактуально", Intent.NO),
    ("не актуально", Intent.NO),
    ("я передумал", Intent.NO),
    ("я ничего не заказывал", Intent.NOT_ORDERED),
    ("это не мой заказ", Intent.NOT_ORDERED),
    ("это ошибка", Intent.NO),
    ("вы ошиблись", Intent.WRONG_NUMBER),
    ("неа", Intent.NO),
    ("нет, спасибо", Intent.NO),
    ("никак нет", Intent.NO),
    ("ни в коем случае", Intent.NO),
    ("отказываюсь", Intent.NO),
    ("я откажусь", Intent.NO),
    ("нет, не надо", Intent.NO),
    ("2", Intent.NO),
    ("отмена", Intent.NO),
    ("удалите заказ номер пять", Intent.NO),
    ("не могу подтвердить", Intent.NO),
    ("нет нет нет", Intent.NO),
    ("не, не надо", Intent.NO),
    ("не надо", Intent.NO),
    ("Нет, я ничего не заказывал", Intent.NOT_ORDERED),
    ("Нет, отмените", Intent.NO),
    ("Отмените пожалуйста", Intent.NO),
    ("Я хочу отменить заказ", Intent.NO),
    ("Не нужно, спасибо", Intent.NO),
    ("Нет, спасибо, не надо", Intent.NO),
    ("Я передумала", Intent.NO),
    ("Заказ больше не нужен", Intent.NO),
    ("Не, не подтверждаю", Intent.NO),
    ("Нет, неправильно", Intent.NO),
    ("Отказываюсь от заказа", Intent.NO),
    ("Нет, это не мой заказ", Intent.NOT_ORDERED),
    ("Уже не актуально", Intent.NO),
    ("Я уже купил в другом месте", Intent.NO),
    # dnc
    ("не звоните мне больше", Intent.DNC),
    ("не звоните", Intent.DNC),
    ("да, но не звоните мне больше", Intent.DNC),
    ("хватит мне звонить", Intent.DNC),
    ("прекратите звонить", Intent.DNC),
    ("удалите мой номер", Intent.DNC),
    ("удалите меня из базы", Intent.DNC),
    ("не беспокойте меня больше", Intent.DNC),
    ("больше не звоните", Intent.DNC),
    ("не надо мне звонить", Intent.DNC),
    ("звонить мне больше не надо", Intent.DNC),
    ("не хочу чтобы мне звонили", Intent.DNC),
    ("внесите меня в черный список", Intent.DNC),
    ("мне не нужны ваши звонки", Intent.DNC),
    ("сколько можно звонить", Intent.DNC),
    ("оставьте меня в покое", Intent.DNC),
    ("Не звоните мне больше никогда", Intent.DNC),
    ("Больше не звоните сюда", Intent.DNC),
    ("Прекратите мне звонить", Intent.DNC),
    ("Удалите мой номер из базы", Intent.DNC),
    ("Не надо мне больше звонить", Intent.DNC),
    ("Нет, и больше не звоните", Intent.DNC),
    ("Не звоните мне", Intent.DNC),
    # operator
    ("соедините с оператором", Intent.OPERATOR),
    ("позовите оператора", Intent.OPERATOR),
    ("хочу поговорить с живым человеком", Intent.OPERATOR),
    ("дайте менеджера", Intent.OPERATOR),
    ("переключите на специалиста", Intent.OPERATOR),
    ("не хочу говорить с роботом", Intent.OPERATOR),
    ("Соедините меня с менеджером", Intent.OPERATOR),
    ("Можно оператора?", Intent.OPERATOR),
    ("Позовите живого человека", Intent.OPERATOR),
    ("Хочу поговорить с человеком", Intent.OPERATOR),
    ("Переведите на оператора", Intent.OPERATOR),
    ("Соедините с живым человеком", Intent.OPERATOR),
    # later
    ("я за рулём", Intent.LATER),
    ("перезвоните позже", Intent.LATER),
    ("не звоните сейчас, я на работе", Intent.LATER),
    ("сейчас не могу говорить", Intent.LATER),
    ("не могу говорить", Intent.LATER),
    ("перезвоните через час", Intent.LATER),
    ("позвоните завтра", Intent.LATER),
    ("давайте попозже", Intent.LATER),
    ("я занят", Intent.LATER),
    ("я на совещании", Intent.LATER),
    ("мне неудобно", Intent.LATER),
    ("сейчас неудобно", Intent.LATER),
    ("не сейчас", Intent.LATER),
    ("я в дороге", Intent.LATER),
    ("я перезвоню", Intent.LATER),
    ("да, перезвоните позже", Intent.LATER),
    ("Мне неудобно говорить", Intent.LATER),
    ("Я сейчас за рулём, перезвоните", Intent.LATER),
    ("Перезвоните вечером", Intent.LATER),
    ("Давайте потом", Intent.LATER),
    ("Позвоните через полчаса", Intent.LATER),
    ("Я на работе, не могу говорить", Intent.LATER),
    ("Я занята, перезвоните позже", Intent.LATER),
    ("Сейчас не могу", Intent.LATER),
    # repeat
    ("повторите пожалуйста", Intent.REPEAT),
    ("что?", Intent.REPEAT),
    ("повтори", Intent.REPEAT),
    ("ещё раз, пожалуйста", Intent.REPEAT),
    ("не расслышал", Intent.REPEAT),
    ("не поняла", Intent.REPEAT),
    ("что вы сказали", Intent.REPEAT),
    ("плохо слышно", Intent.REPEAT),
    ("плохая связь, повторите", Intent.REPEAT),
    ("связь плохая", Intent.REPEAT),
    ("слышно плохо", Intent.REPEAT),
    ("вас не слышно", Intent.REPEAT),
    ("какой заказ?", Intent.REPEAT),
    ("какая сумма", Intent.QUESTION),
    ("кто это", Intent.REPEAT),
    ("а?", Intent.REPEAT),
    ("алло", Intent.REPEAT),
    ("чего", Intent.REPEAT),
    ("сколько", Intent.REPEAT),
    ("что-что?", Intent.REPEAT),
    ("повторите сумму", Intent.REPEAT),
    ("да, повторите сумму", Intent.REPEAT),
    ("с кем я говорю", Intent.REPEAT),
    ("я не могу вас понять", Intent.REPEAT),
    ("Повторите, пожалуйста", Intent.REPEAT),
    ("Что вы сказали?", Intent.REPEAT),
    ("Не поняла, повторите", Intent.REPEAT),
    ("Извините, не расслышала", Intent.REPEAT),
    ("Можно ещё раз?", Intent.REPEAT),
    ("Что? Не слышу", Intent.REPEAT),
    ("Какой номер заказа?", Intent.REPEAT),
    ("На какую сумму?", Intent.QUESTION),
    ("Повторите номер заказа", Intent.REPEAT),
    # unknown
    ("какая погода завтра", Intent.UNKNOWN),
    ("", Intent.UNKNOWN),
    ("я не знаю", Intent.UNKNOWN),
    ("спасибо", Intent.UNKNOWN),
    ("до свидания", Intent.UNKNOWN),
    ("я подумаю", Intent.UNKNOWN),
    ("а какая сегодня погода", Intent.UNKNOWN),
    ("[unk]", Intent.UNKNOWN),
    ("Какая сегодня погода?", Intent.UNKNOWN),
    ("Сколько сейчас времени", Intent.UNKNOWN),
    ("Я люблю котиков", Intent.UNKNOWN),
    ("Э-э-э", Intent.UNKNOWN),
    ("Здравствуйте", Intent.UNKNOWN),
    # everyday phrasings
    ("вы ошиблись номером", Intent.WRONG_NUMBER),
    ("мне не нужен этот заказ", Intent.NO),
    ("прошу больше не звонить", Intent.DNC),
    ("вы мне надоели со своими звонками", Intent.DNC),
    ("извините, я сейчас не могу разговаривать", Intent.LATER),
]


@pytest.mark.parametrize(("text", "intent"), CASES)
def test_classify(text: str, intent: Intent) -> None:
    assert classify(text) is intent


# Several requests in one answer: the documented priority decides.
PRIORITY = [
    ("да, но не звоните мне больше", Intent.DNC),  # dnc beats yes
    ("не звоните, соедините с оператором", Intent.DNC),  # dnc beats operator
    ("соедините с оператором, я за рулём", Intent.OPERATOR),  # operator beats later
    ("повторите, я за рулём", Intent.LATER),  # later beats repeat
    ("нет, перезвоните позже", Intent.LATER),  # later beats a particle
    ("подтверждаю, но перезвоните позже", Intent.LATER),  # ...and a statement said before it
    ("я за рулём, но да, подтверждаю", Intent.YES),  # a decisive answer after it wins
    ("что? нет, отменяйте", Intent.NO),
    ("повторите, да", Intent.REPEAT),  # a bare particle after a request does not
]


@pytest.mark.parametrize(("text", "intent"), PRIORITY)
def test_priority(text: str, intent: Intent) -> None:
    assert classify(text) is intent


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Нет-нет, ВСЁ верно!", ["нет", "нет", "все", "верно"]),
        ("  что?!  ", ["что"]),
        ("да [unk] <UNK>", ["да"]),
        ("1", ["один"]),
        ("", []),
    ],
)
def test_normalize(text: str, words: list[str]) -> None:
    assert normalize(text) == words


def test_pack_is_registered() -> None:
    assert get_pack("ru") is PACK
    assert PACK.code == "ru"
    assert PACK.classify("да") is Intent.YES


def test_grammar_shape() -> None:
    grammar = PACK.vosk_grammar
    assert grammar[-1] == "[unk]"
    assert len(set(grammar)) == len(grammar)
    for word in grammar[:-1]:
        assert re.fullmatch(r"[а-я]+", word), word  # lower case, no ё, one word


# Canonical answers said only with grammar words classify as intended: the recognizer,
# restricted to the grammar, can produce them.
GRAMMAR_ANSWERS = [
    ("да подтверждаю", Intent.YES),
    ("все верно", Intent.YES),
    ("ага", Intent.YES),
    ("нет не надо", Intent.NO),
    ("отмените заказ", Intent.NO),
    ("не подтверждаю", Intent.NO),
    ("не звоните мне больше", Intent.DNC),
    ("удалите мой номер", Intent.DNC),
    ("соедините с оператором", Intent.OPERATOR),
    ("с живым человеком", Intent.OPERATOR),
    ("перезвоните позже", Intent.LATER),
    ("я за рулем", Intent.LATER),
    ("не могу говорить", Intent.LATER),
    ("повторите", Intent.REPEAT),
    ("что", Intent.REPEAT),
    ("какая сумма", Intent.QUESTION),
    # the intents of issue 9 can be heard too
    ("да только в субботу после восьми вечера", Intent.CHANGE),
    ("перенесите доставку на двадцатого декабря", Intent.CHANGE),
    ("с девяти до часу", Intent.CHANGE),
    ("новый адрес", Intent.CHANGE),
    ("вы дозвонились оставьте сообщение после сигнала", Intent.MACHINE),
    ("абонент недоступен", Intent.MACHINE),
    ("вы ошиблись номером", Intent.WRONG_NUMBER),
    ("вы не туда попали", Intent.WRONG_NUMBER),
    ("я ничего не заказывала", Intent.NOT_ORDERED),
    ("а курьер заранее позвонит", Intent.QUESTION),
    ("сколько стоит доставка", Intent.QUESTION),
]


@pytest.mark.parametrize(("text", "intent"), GRAMMAR_ANSWERS)
def test_grammar_covers_answers(text: str, intent: Intent) -> None:
    missing = [w for w in text.split() if w not in PACK.vosk_grammar]
    assert not missing
    assert classify(text) is intent


def test_unk_alone_is_unknown() -> None:
    assert classify("[unk]") is Intent.UNKNOWN
    assert classify("[unk] да [unk]") is Intent.YES
