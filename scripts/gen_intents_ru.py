#!/usr/bin/env python3
"""Compose the Russian development set of replies (tests/data/intents_ru_dev.tsv).

Each intent has its own cores (written here by hand, in several registers), wrapped in frames
and decorated: greetings and fillers before or after ("ну", "слушайте", "короче", "алло"),
word order, and recognizer-style damage (no punctuation, lower case, a particle glued to the
next word, a letter dropped or doubled). Change requests are built from day / time / address
parts whose expected values the script computes itself (weekday arithmetic, year roll-over),
so the expected fields never come from the classifier. Traps for a false yes ("да, но ...",
"да, слушаю", voicemail greetings, "да?" questions) are spread over the intents they belong
to. Deterministic: a fixed seed; re-run after editing and commit the output.

Usage: python scripts/gen_intents_ru.py > tests/data/intents_ru_dev.tsv
"""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta

SEED = 20261201
TODAYS = (date(2026, 12, 1), date(2026, 12, 28))  # a Tuesday; a Monday before the new year

YES_CORES = """
да|да, подтверждаю|подтверждаю|да, всё верно|всё верно|всё правильно|ага|угу|да-да|конечно
да, конечно|конечно, подтверждаю|да, жду|жду|ждём доставку|да, привозите|привозите|везите
да, мой заказ|да, это мой заказ|да, я заказывала|заказывал, да|оформляла, всё так
да, всё так|так точно|верно|правильно|ну да|ну да, подтверждаю|хорошо, везите|ладно, давайте
окей|ок, подтверждаю|да, актуально|заказ актуален|всё в силе|да, оставляем|да, берём
подтверждаю заказ|я подтверждаю|мы подтверждаем|да, согласна|согласен|да, всё устраивает
нет-нет, всё верно|нет, всё правильно, подтверждаю|отменять не надо|не надо ничего отменять
да, всё отлично|угу, всё норм|разумеется|естественно, жду|да, да, всё верно|ну конечно
""".replace("\n", "|").split("|")

NO_CORES = """
нет|нет, спасибо|не надо|не нужно|отмените|отмените заказ|отменяйте|нет, отмените
я передумала|я передумал|не подтверждаю|нет, не подтверждаю|отказываюсь|я отказываюсь
мне это уже не нужно|уже не актуально|неактуально|нет, не надо ничего|не, не надо
не буду брать|брать не буду|не привозите|не везите|не надо везти|уже купил в другом месте
нашла дешевле, отмените|отмена|аннулируйте заказ|нет, не надо, спасибо|да нет, не нужно
нет, передумали|уберите заказ|снимите заказ|нет, уже не нужно|не хочу, отменяйте
заказ больше не нужен|нет, я не буду забирать|неа|нет уж|ой нет|нет, отменяйте всё
""".replace("\n", "|").split("|")

DNC_CORES = """
не звоните мне больше|больше не звоните|хватит мне звонить|прекратите звонить
удалите мой номер|удалите меня из базы|не беспокойте меня больше|не надо мне звонить
звонить мне больше не надо|внесите меня в чёрный список|перестаньте названивать
оставьте меня в покое|не звоните сюда больше никогда|нет, и больше не звоните
уберите мой телефон из базы|сколько можно звонить|мне не нужны ваши звонки
""".replace("\n", "|").split("|")

OPERATOR_CORES = """
соедините с оператором|позовите оператора|дайте менеджера|можно оператора
хочу поговорить с живым человеком|переключите на специалиста|соедините с менеджером
не хочу говорить с роботом|переведите на оператора|можно с человеком поговорить
дайте живого человека|соедините со специалистом|оператора позовите|с оператором соедините
""".replace("\n", "|").split("|")

LATER_CORES = """
перезвоните позже|я за рулём|я сейчас за рулём, перезвоните|не могу говорить
сейчас не могу говорить|перезвоните через час|позвоните завтра|давайте попозже
я занят|я занята, перезвоните|я на совещании|мне неудобно говорить|не сейчас
я в дороге|я перезвоню|наберите позже|позвоните через полчаса|перезвоните вечером
я на работе, не могу говорить|сейчас неудобно|позвоните в другое время|я у врача
давайте потом|можно чуть позже|перезвоните завтра утром|наберите мне вечером
""".replace("\n", "|").split("|")

REPEAT_CORES = """
повторите|повторите, пожалуйста|что?|не расслышал|не расслышала|не поняла|что вы сказали
плохо слышно|плохая связь, повторите|вас не слышно|какой заказ?|кто это?|а?|чего?
ещё раз, пожалуйста|можно ещё раз?|что-что?|повторите номер заказа|не понял, повторите
говорите громче|что за заказ?|кто звонит?|откуда вы?|что за магазин?|помедленнее, пожалуйста
""".replace("\n", "|").split("|")

QUESTION_CORES = """
а курьер заранее позвонит?|курьер позвонит перед приездом?|сколько стоит доставка?
а доставка платная?|можно оплатить картой?|а картой курьеру можно?|оплата при получении?
а во сколько привезут?|во сколько приедет курьер?|когда привезут?|а когда доставка?
какая сумма?|а на какую сумму?|сколько с меня?|сколько я должна заплатить?
а можно будет примерить?|а что в заказе?|а что я заказывала?|курьер до двери поднимет?
а наличными можно?|а чек будет?|а где пункт выдачи?|а гарантия есть?|сколько стоит заказ?
а курьер сдачу с пяти тысяч даст?|подскажите, а вернуть можно будет?|а как будет оплата?
а можно по qr оплатить?|а интервал доставки какой?|а курьер во сколько будет?
скажите, а предоплата нужна?|а размер какой я выбрала?|а посылка большая?
""".replace("\n", "|").split("|")

WRONG_CORES = """
вы не туда попали|вы ошиблись номером|здесь такого нет|я не {name}|это не {name}
тут нет никакого {name_gen}|такой здесь не живёт|нет тут таких|это не мой номер
вы не тому звоните|вы ошиблись|меня зовут не {name}|у меня другой номер, вы ошиблись
{name} здесь больше не живёт|нет здесь никакой {name_gen_f}|вы кому звоните?
неправильный номер|номер не тот|я не {name}, вы не туда звоните
""".replace("\n", "|").split("|")

NOT_ORDERED_CORES = """
я ничего не заказывал|я ничего не заказывала|я не заказывал|мы ничего не заказывали
я ничего не покупала|это не мой заказ|не мой заказ|я не делала никакого заказа
никакого заказа я не делал|впервые слышу про заказ|первый раз слышу|я ничего не оформляла
какой заказ? я ничего не заказывал|я у вас ничего не покупал|не заказывала я ничего
заказывал не я|я не оформлял никаких заказов|не было никакого заказа|я этот заказ не делал
""".replace("\n", "|").split("|")

MACHINE_CORES = """
здравствуйте, вы дозвонились до {name_gen}, оставьте сообщение после сигнала
вы позвонили {name_dat}, оставьте сообщение после гудка
абонент не может ответить на ваш звонок, перезвоните позже
аппарат абонента выключен или находится вне зоны действия сети
я виртуальный помощник, скажите, по какому вопросу вы звоните
секретарь слушает, кто звонит?|здравствуйте, это голосовой помощник {name_gen}, что передать?
привет, это автоответчик, говорите после сигнала|вы позвонили на голосовую почту
оставьте сообщение после звукового сигнала|абонент недоступен
здравствуйте, я умный секретарь, {name} сейчас не может ответить, что передать?
это голосовой ассистент, представьтесь, пожалуйста, и скажите цель звонка
номер абонента не обслуживается|{name} не может подойти к телефону, оставьте сообщение
""".replace("\n", "|").split("|")

UNKNOWN_CORES = """
ну не знаю|я подумаю|сейчас посмотрю|подождите минутку|секундочку|какая сегодня погода?
у нас дождь|мама, иди сюда|собака лает|кто-то в дверь звонит|хм|ммм|интересно
может быть|не уверен|наверное|спасибо|здравствуйте|добрый день|слушаю|да, слушаю
алло, слушаю|да, я вас слушаю|да, это я|да, минутку|да, подождите|да, но я ещё подумаю
да, но я не уверена|ну да, но я пока не знаю|дайте подумать|сейчас не соображу
""".replace("\n", "|").split("|")

NAMES = [("Иван", "Ивана", "Ивану"), ("Ольга", "Ольги", "Ольге"), ("Сергей", "Сергея", "Сергею"),
         ("Мария", "Марии", "Марии"), ("Дмитрий", "Дмитрия", "Дмитрию"),
         ("Анна", "Анны", "Анне")]  # fmt: skip

FILL_BEFORE = ["", "", "", "ну ", "слушайте, ", "короче ", "алло, ", "здравствуйте, ", "так, ",
               "ой, ", "э-э ", "девушка, ", "значит, ", "алло, да, слушаю. "]  # fmt: skip
FILL_AFTER = ["", "", "", " вот", " пожалуйста", ", спасибо", " короче", " в общем"]

# --- change parts -------------------------------------------------------------------------------
WEEKDAY_FORMS = [("в понедельник", 0), ("во вторник", 1), ("в среду", 2), ("в четверг", 3),
                 ("в пятницу", 4), ("в субботу", 5), ("в воскресенье", 6), ("на понедельник", 0),
                 ("на вторник", 1), ("на среду", 2), ("на четверг", 3), ("на пятницу", 4),
                 ("на субботу", 5), ("на воскресенье", 6)]  # fmt: skip
ORD_GEN = {1: "первого", 2: "второго", 3: "третьего", 4: "четвёртого", 5: "пятого",
           6: "шестого", 7: "седьмого", 8: "восьмого", 9: "девятого", 10: "десятого",
           11: "одиннадцатого", 12: "двенадцатого", 13: "тринадцатого", 15: "пятнадцатого",
           17: "семнадцатого", 18: "восемнадцатого", 20: "двадцатого", 21: "двадцать первого",
           22: "двадцать второго", 25: "двадцать пятого", 27: "двадцать седьмого",
           30: "тридцатого", 31: "тридцать первого"}  # fmt: skip
MONTH_GEN = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
             "сентября", "октября", "ноября", "декабря"]  # fmt: skip
CARD_GEN = {
    1: "часу",
    2: "двух",
    3: "трёх",
    4: "четырёх",
    5: "пяти",
    6: "шести",
    7: "семи",
    8: "восьми",
    9: "девяти",
    10: "десяти",
    11: "одиннадцати",
    12: "двенадцати",
}
CARD_NOM = {
    1: "час",
    2: "два",
    3: "три",
    4: "четыре",
    5: "пять",
    6: "шесть",
    7: "семь",
    8: "восемь",
    9: "девять",
    10: "десять",
    11: "одиннадцать",
    12: "двенадцать",
}
COUNT_ACC = {2: "два", 3: "три", 4: "четыре", 5: "пять"}


def next_weekday(today: date, wd: int) -> date:
    return today + timedelta(days=(wd - today.weekday()) % 7 or 7)


def calendar(today: date, day: int, month: int | None) -> date:
    if month is None:
        d = date(today.year, today.month, day) if day <= 28 or today.month != 2 else None
        if d is None or d < today:
            y, m = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
            return date(y, m, day)
        return d
    d = date(today.year, month, day)
    return d if d >= today else date(today.year + 1, month, day)


def a_day(rng: random.Random, today: date) -> tuple[str, date]:
    kind = rng.choice(["weekday"] * 4 + ["rel", "through", "calendar", "calendar", "bare"])
    if kind == "weekday":
        text, wd = rng.choice(WEEKDAY_FORMS)
        return text, next_weekday(today, wd)
    if kind == "rel":
        text, n = rng.choice([("завтра", 1), ("послезавтра", 2), ("на завтра", 1),
                              ("на послезавтра", 2)])  # fmt: skip
        return text, today + timedelta(days=n)
    if kind == "through":
        n = rng.choice([2, 3, 4, 5, 7, 14])
        if n == 7:
            return "через неделю", today + timedelta(days=7)
        if n == 14:
            return "через две недели", today + timedelta(days=14)
        word = rng.choice([COUNT_ACC[n], str(n)])
        unit = "дня" if n < 5 else "дней"
        return f"через {word} {unit}", today + timedelta(days=n)
    if kind == "calendar":
        day = rng.choice(sorted(ORD_GEN))
        month = rng.randrange(1, 13)
        if month == 2 and day > 28:
            day = 28 if 28 in ORD_GEN else 27
        if day not in ORD_GEN:
            day = 27
        form = rng.choice(["word", "word", "digit", "digit-go"])
        dtext = ORD_GEN[day] if form == "word" else str(day) if form == "digit" else f"{day}-го"
        try:
            value = calendar(today, day, month)
        except ValueError:
            return a_day(rng, today)
        return f"{rng.choice(['', 'на ', 'к '])}{dtext} {MONTH_GEN[month - 1]}".strip(), value
    day = rng.choice([d for d in ORD_GEN if d <= 28])
    text = rng.choice([ORD_GEN[day], f"{day} числа", f"{ORD_GEN[day]} числа"])
    return f"{rng.choice(['', 'на '])}{text}".strip(), calendar(today, day, None)


def hour24(h: int, half: str | None) -> int:
    if half in ("вечера", "дня") and h < 12:
        return h + 12
    if half is None and 1 <= h <= 7:
        return h + 12
    return h


def a_time(rng: random.Random) -> tuple[str, str | None, str | None]:
    kind = rng.choice(["after", "after", "before", "range", "range", "part", "at"])
    if kind == "part":
        return rng.choice([("утром", "09:00", "12:00"), ("вечером", "18:00", "22:00"),
                           ("днём", "12:00", "18:00"), ("ближе к вечеру", "17:00", None),
                           ("до обеда", None, "13:00"), ("после обеда", "14:00", None),
                           ("с утра", "09:00", "12:00")])  # fmt: skip
    h = rng.randrange(1, 13)
    half = rng.choice([None, None, "вечера" if h in range(5, 12) else None,
                       "утра" if h in range(8, 12) else None])  # fmt: skip
    hh = hour24(h, half)
    word = CARD_GEN[h] if rng.random() < 0.7 else str(hh if rng.random() < 0.5 else h)
    if word.isdigit() and int(word) > 12:
        half = None
    spoken = f"{word} {half}" if half else word
    t = f"{hh:02d}:00"
    if kind == "after":
        return f"{rng.choice(['после ', 'не раньше '])}{spoken}", t, None
    if kind == "before":
        return f"до {spoken}", None, t
    if kind == "at":
        nom = CARD_NOM[h] if not word.isdigit() else word
        unit = "часа" if 2 <= h <= 4 else "часов"
        frame = rng.choice(["в {n}", "часов в {n}", "в {n} " + unit]) if h > 1 else "в {n}"
        return (frame.format(n=nom) + (f" {half}" if half else "")), t, t
    start = rng.choice([9, 10, 11, 12])
    end = rng.choice([e for e in (1, 2, 3, 4, 5, 6) if e + 12 > start])
    s_word = CARD_GEN[start] if rng.random() < 0.7 else str(start)
    e_word = CARD_GEN[end] if rng.random() < 0.7 else str(end + 12)
    return f"с {s_word} до {e_word}", f"{start:02d}:00", f"{end + 12:02d}:00"


ADDRESSES = ["по другому адресу", "на новый адрес", "к маме, а не ко мне", "на работу",
             "в офис", "к бабушке", "на дачу", "к соседке", "в пункт выдачи",
             "не ко мне, а к дочке"]  # fmt: skip
ADDRESS_CLAUSES = ["адрес поменялся", "у меня новый адрес", "я переехала", "адрес другой",
                   "адрес изменился", "я сам заберу", "адрес неправильный"]  # fmt: skip

CHANGE_FRAMES = [
    "{when}", "давайте {when}", "а можно {when}?", "да, только {when}", "да, но лучше {when}",
    "ага, только {when}", "лучше {when}", "{when} привезите", "можно {when} привезти?",
    "перенесите доставку {when}", "а можно перенести {when}?", "да, но не {other}, а {when}",
    "не {other}, а {when}", "нет, {when}", "{when} удобнее", "мне удобно {when}",
    "давайте лучше {when}", "да, если можно, {when}", "ну {when} можно", "хорошо, но {when}",
    "{other} меня не будет, давайте {when}", "привезите {when}, пожалуйста",
]  # fmt: skip


def a_change(rng: random.Random, today: date) -> tuple[str, dict[str, str]]:
    shape = rng.choice(["day", "day", "time", "daytime", "daytime", "address", "address2"])
    fields = {"date": "", "after": "", "before": "", "address": "0"}
    if shape in ("address", "address2"):
        fields["address"] = "1"
        if shape == "address":
            where = rng.choice(ADDRESSES)
            frame = rng.choice(["{w}", "привезите {w}", "да, но {w}", "доставьте {w}, пожалуйста",
                                "да, только {w}", "можно {w}?", "нет, везите {w}"])  # fmt: skip
            return frame.format(w=where), fields
        clause = rng.choice(ADDRESS_CLAUSES)
        frame = rng.choice(["{c}", "да, но {c}", "ага, только {c}", "всё верно, но {c}",
                            "слушайте, {c}"])  # fmt: skip
        return frame.format(c=clause), fields
    parts = []
    if shape in ("day", "daytime"):
        dtext, value = a_day(rng, today)
        parts.append(dtext)
        fields["date"] = value.isoformat()
    if shape in ("time", "daytime"):
        ttext, after, before = a_time(rng)
        parts.append(ttext)
        fields["after"], fields["before"] = after or "", before or ""
    when = " ".join(parts)
    frame = rng.choice(CHANGE_FRAMES)
    if "{other}" in frame:
        if shape == "time":
            frame = rng.choice([f for f in CHANGE_FRAMES if "{other}" not in f])
        other = rng.choice(["завтра", "в понедельник", "в пятницу", "в субботу"])
        if other.split()[-1] in when:
            other = "послезавтра" if "послезавтра" not in when else "в среду"
    else:
        other = ""
    return frame.format(when=when, other=other), fields


# --- decoration -----------------------------------------------------------------------------------
def recognizer_style(rng: random.Random, text: str) -> str:
    """Lower case, no punctuation; sometimes a glued particle or a one-letter slip."""
    out = text.lower().replace("ё", "е")
    for ch in ",.?!;:":
        out = out.replace(ch, "")
    words = out.replace("-", " ").split()
    r = rng.random()
    if r < 0.12 and len(words) > 1 and words[0] in ("да", "нет", "не", "ну", "ага", "в", "на"):
        words[0:2] = [words[0] + words[1]]
    elif r < 0.24:
        long = [i for i, w in enumerate(words) if len(w) >= 7 and w.isalpha()]
        if long:
            i = rng.choice(long)
            w = words[i]
            k = rng.randrange(2, len(w) - 2)
            words[i] = w[:k] + w[k + 1 :] if rng.random() < 0.5 else w[:k] + w[k] + w[k:]
    return " ".join(words)


def decorate(rng: random.Random, core: str, fill: bool = True) -> str:
    text = core
    if fill and rng.random() < 0.45:
        before = rng.choice(FILL_BEFORE)
        text = before + (text[0].lower() + text[1:] if before else text)
    if fill and rng.random() < 0.2 and not text.endswith("?"):
        text = text + rng.choice(FILL_AFTER)
    if rng.random() < 0.5:
        text = recognizer_style(rng, text)
    elif rng.random() < 0.4:
        text = text[0].upper() + text[1:]
    return text


def names(rng: random.Random, core: str) -> str:
    nom, gen, dat = rng.choice(NAMES)
    fem_gen = rng.choice(["Ольги", "Марии", "Анны", "Светланы"])
    return core.format(name=nom, name_gen=gen, name_dat=dat, name_gen_f=fem_gen)


def main() -> None:
    rng = random.Random(SEED)
    plan = [("yes", YES_CORES, 4), ("no", NO_CORES, 3), ("dnc", DNC_CORES, 4),
            ("operator", OPERATOR_CORES, 4), ("later", LATER_CORES, 4),
            ("repeat", REPEAT_CORES, 4), ("question", QUESTION_CORES, 4),
            ("wrong_number", WRONG_CORES, 6), ("not_ordered", NOT_ORDERED_CORES, 6),
            ("machine", MACHINE_CORES, 6), ("unknown", UNKNOWN_CORES, 3)]  # fmt: skip
    rows: dict[str, tuple[str, ...]] = {}
    for label, cores, times in plan:
        for core in (c.strip() for c in cores):
            if not core:
                continue
            for _ in range(times):
                text = decorate(rng, names(rng, core), fill=label != "machine")
                rows.setdefault(text, (label, "", "", "", "", ""))
    for _ in range(600):
        today = rng.choice(TODAYS)
        text, f = a_change(rng, today)
        text = decorate(rng, text)
        fields = (today.isoformat(), f["date"], f["after"], f["before"], f["address"])
        rows.setdefault(text, ("change", *fields))
    out = sys.stdout
    out.write("text\tlabel\ttoday\tdate\tafter\tbefore\taddress\n")
    for text, row in rows.items():
        if text.strip():
            out.write("\t".join((text, *row)) + "\n")


if __name__ == "__main__":
    main()
