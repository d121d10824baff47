"""Russian replies understood: every intent, and the change a customer asks for.

Two layers. :mod:`robot.core.nlu.answers_ru` reads yes / no / dnc / operator / later / repeat
from words (its negation and "last decisive word wins" rules). This module reads the reply's
structure from lemmas and grammemes (:mod:`robot.core.nlu.morph_ru`) and decides, in order:

1. **machine**: a voicemail greeting or an answering assistant: the caller is told they
   reached someone (``дозвониться``), asked to leave a message or to speak after a signal,
   a carrier's announcement about the ``абонент``, or a speaker who introduces themselves as
   an assistant / secretary / voicemail. Checked first: a machine is never asked anything,
   and nothing it says is a yes.
2. **dnc** (the one request never lost), then **wrong_number** (``не туда попали``, ``нет
   здесь такого``, ``я не`` + a name), then **not_ordered** (a negated past verb of ordering
   or buying, ``не мой заказ``, ``первый раз слышу``), then **operator**.
3. **question**: an interrogative (``когда``, ``сколько``, ``во сколько``, ``ли``, ...) or a
   question mark or a clause opened by ``а`` / ``можно`` / ``скажите`` about a delivery
   topic (courier, payment, cost, time, ...). A question about something else is unknown;
   "какой заказ?", "кто это?" (what is this call) stay repeat.
4. **change**: a day, a time, an address (:mod:`robot.core.nlu.dates_ru`) or a verb of
   moving it (``перенести``), asked for: with a delivery word, a request (``можно``,
   ``давайте``, ``лучше``), an answer particle, or alone. A time attached to "call me"
   (``перезвоните вечером``) is later, not change.
5. **"yes, but ..."**: a yes followed by a clause opened by ``но`` / ``только`` / ``однако`` /
   ``правда`` / ``если`` / ``а`` / ``хотя`` whose content is not itself a yes is never yes:
   the condition wins (its own intent, else unknown). "Да" that answers the phone (``да,
   слушаю``, ``да, это я``) confirms nothing.

Fillers and greetings (``алло``, ``ну``, ``слушайте``, ``здравствуйте``) key nothing, so they
do not change an answer. Tokens: lower case, ``ё`` -> ``е``, ``20:00`` kept whole, digits
split from glued endings (``25го``), words the lexicon or the dictionary does not know
repaired (glued words split, one- or two-letter slips corrected).
"""

from __future__ import annotations

import itertools
import re
from datetime import date

from robot.core.langpack import Reply, RequestedChange
from robot.core.models import Intent
from robot.core.nlu import answers_ru
from robot.core.nlu.dates_ru import Found, extract, is_time_word
from robot.core.nlu.morph_ru import Word, analyze, particle_chain, repair_word

_TOKEN = re.compile(r"\d{1,2}[:.]\d{2}(?!\d)|[a-zа-я]+|\d+")
_CLAUSE_PUNCT = re.compile(r"[,.;:!?—–]|\s-\s")

# --- word classes (lemmas) ---------------------------------------------------------------------
_FILLERS = frozenset(
    "ну э ээ эм мм ммм хм вот слушайте слушай короче значит алло здравствуйте здравствуй "
    "добрый день вечер утро привет девушка молодой человек ой блин так типа это самое "
    "пожалуйста спасибо извините простите".split()
)
_CONTRAST = frozenset("но только однако правда если хотя лишь а зато кроме просто".split())
_INTERROGATIVE = frozenset(
    "когда где куда откуда сколько почему зачем какой каков кто что чей ли разве неужели "
    "как".split()
)
_IDENTITY = frozenset("заказ магазин номер кто это вы компания фирма организация".split())
_TOPIC = frozenset(
    """
    курьер доставка доставить доставлять доставщик привезти привозить приехать приезжать
    прийти приходить заехать подвезти завезти отправить отправка оплата оплатить платить
    заплатить карта карточка наличные наличка наличными безнал перевод стоить стоимость цена
    сумма деньга рубль чек товар посылка коробка упаковка размер цвет гарантия вернуть
    возврат примерка примерить пункт самовывоз трек время дата число звонить позвонить
    предупредить скидка бонус этаж подъезд поднять занести сборка собрать установка грузчик
    предоплата платный бесплатный бесплатно состав комплект вес забрать получить курьерский
    водитель машина интервал окно документ паспорт доверенность оплачивать платеж ждать
    долго вскрыть вскрывать проверить терминал сдача
    """.split()
)
_DELIVERY = frozenset(
    """
    привезти привозить доставить доставлять доставка курьер приехать приезжать прийти
    приходить заехать завезти подвезти отправить получить забрать перенести переносить
    поменять менять изменить сменить сдвинуть заказ посылка адрес дата везти привоз отвезти
    отвозить
    """.split()
)
_KNOW = frozenset("знать помнить понимать понять решить уверенный помниться".split())
_MOVE_VERBS = frozenset("перенести переносить сдвинуть передвинуть отложить".split())
_CHANGE_VERBS = frozenset("поменять менять изменить сменить".split())
_CHANGE_OBJECTS = frozenset("дата день время адрес доставка срок интервал".split())
_REQUEST = frozenset(
    "можно давать давай давайте лучше удобно удобнее хотеть хотелось надо нужно пусть "
    "получиться подойти подходить устроить устраивать пожалуйста могу мочь дома свободный бы "
    "свободен свободна".split()
)
_EARLIER_LATER = frozenset("пораньше попозже позже раньше позднее".split())
_CALL_VERBS = frozenset(
    "звонить позвонить перезвонить перезванивать набрать набирать звякнуть связаться".split()
)
_ORDER_VERBS = frozenset(
    "заказать заказывать оформить оформлять купить покупать приобрести приобретать "
    "брать взять выписывать выписать".split()
)
_NEG_SKIP = frozenset(
    "я мы ничего никакой никакого никаких ни у вас вам это этот эта этого такой такого "
    "тут здесь там у заказ заказа заказов сам сама сами же уже еще вообще".split()
)
# Voicemail and answering assistants.
_MACHINE_NOUNS = frozenset(
    "автоответчик помощник ассистент секретарь бот робот автоинформатор".split()
)
_ASSISTANT_ADJ = frozenset(
    "виртуальный голосовой цифровой умный автоматический электронный личный".split()
)
_SIGNALS = frozenset("сигнал гудок звуковой тон".split())
_NUMBER_STATUS = frozenset(
    "существовать обслуживаться недоступный неправильно неверно заблокировать заблокированный "
    "блокировать".split()
)
_CARRIER = frozenset("абонент".split())


_MONTHS_GEN = (
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря".split()
)


def tokens(text: str) -> list[str]:
    """Lower-cased words and clock times; ``[unk]`` dropped; glued endings split off."""
    text = text.lower().replace("ё", "е")
    text = re.sub(r"\[unk\]|<unk>", " ", text)
    out: list[str] = []
    for t in _TOKEN.findall(text):
        if "." in t:
            day, month = t.split(".")
            if 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
                out += [day, _MONTHS_GEN[int(month) - 1]]  # "15.12": a day and a month
                continue
        out.append(t.replace(".", ":"))
    return out


def _repair(toks: list[str]) -> list[str]:
    """Words the dictionary does not know (and particle chains) repaired: the dictionary's
    slips and splits first, then the word layer's lexicon repairs (robot.core.repair)."""
    out: list[str] = []
    for t in toks:
        if not t.isalpha() or (analyze(t).known and not particle_chain(t)):
            out.append(t)
            continue
        fixed = [t] if particle_chain(t) else list(repair_word(t))
        if fixed == [t]:
            fixed = answers_ru.repair_tokens([t])
        out.extend(fixed)
    return out


def _clauses(text: str, toks: list[str]) -> list[tuple[int, int, bool]]:
    """Clause spans (start, end, ends with "?"): split at punctuation when the text has it,
    and at contrast words ("да но ...", "не завтра а в четверг") always."""
    cuts: dict[int, bool] = {0: False}
    pos = 0
    for part, mark in re.findall(r"([^,.;:!?—–]*)([,.;:!?—–]|$)", text.lower().replace("ё", "е")):
        pos += len(_repair(tokens(part))) if part.strip() else 0
        cuts[pos] = cuts.get(pos, False) or mark == "?"
    for i, t in enumerate(toks):
        if t in _CONTRAST and i > 0:
            if t == "только" and i + 1 < len(toks) and toks[i + 1] in ("что", "за"):
                continue
            if t == "а" and i + 1 < len(toks) and toks[i + 1] in ("то",):
                continue
            cuts.setdefault(i, False)
    edges = sorted(c for c in cuts if 0 <= c <= len(toks))
    if edges[-1] != len(toks):
        edges.append(len(toks))
    return [(a, b, cuts.get(b, False)) for a, b in itertools.pairwise(edges) if b > a]


def _negated_at(words: list[Word], i: int, reach: int = 4) -> bool:
    """Is ``words[i]`` in the scope of a "не" a few (small) words back?"""
    for j in range(i - 1, max(-1, i - reach - 1), -1):
        if words[j].text in ("не", "ни"):
            return True
        if words[j].text not in _NEG_SKIP and words[j].pos not in ("NPRO", "PRCL", "PREP"):
            return False
    return False


def _lemmas(words: list[Word]) -> set[str]:
    return {w.lemma for w in words} | {w.text for w in words}


# --- detectors ---------------------------------------------------------------------------------


def is_machine(words: list[Word]) -> bool:
    """A voicemail greeting or an answering assistant (see the module notes)."""
    lem = _lemmas(words)
    texts = [w.text for w in words]
    if "дозвониться" in lem and not any(
        w.lemma == "дозвониться" and _negated_at(words, i) for i, w in enumerate(words)
    ):
        if {"вы", "вас"} & set(texts) or "до" in texts:
            return True
    if "сообщение" in lem and (
        {"оставить", "оставлять", "записать", "наговорить", "надиктовать"} & lem
        or _SIGNALS & lem
        or "голосовой" in lem
    ):
        return True
    if _SIGNALS & lem and "после" in texts and ({"говорить", "сообщение", "оставить"} & lem):
        return True
    if _CARRIER & lem or "автоответчик" in lem:
        return True
    if "номер" in lem and {"набрать", "набранный", "звонить"} & lem and "вы" in texts:
        if _NUMBER_STATUS & lem:
            return True  # "номер, который вы набрали, не существует"
    if {"почта", "ящик"} & lem and "голосовой" in lem:
        return True
    for i, w in enumerate(words):
        if w.lemma not in _MACHINE_NOUNS:
            continue
        before = [x.lemma for x in words[max(0, i - 3) : i]]
        after = [x.lemma for x in words[i + 1 : i + 3]]
        if words[i - 1].text in ("с", "со", "не") if i else False:
            continue  # "не хочу говорить с роботом" is the customer
        if _ASSISTANT_ADJ & set(before) or {"я", "это", "вас"} & set(before[-2:]):
            return True
        if w.lemma == "секретарь" and ({"слушать", "на", "ответить"} & set(after) or i == 0):
            return True
        if "слушать" in after[:1] and w.lemma in ("помощник", "ассистент", "автоответчик"):
            return True
    if "вопрос" in lem and "какой" in lem and ({"передать", "владелец", "хозяин"} & lem):
        return True
    if {"владелец", "хозяин"} & lem and "номер" in lem and {"мочь", "ответить"} & lem:
        return True
    if "звонок" in lem and {"важный", "записываться", "записывать", "переадресовать"} & lem:
        return True
    if "линия" in lem and {"оставаться", "ожидать"} & lem:
        return True
    if "ответить" in lem and "мочь" in lem and {"сейчас", "звонок"} & lem and "вы" not in texts:
        return "я" not in texts and "мы" not in texts
    return False


def is_wrong_number(words: list[Word]) -> bool:
    lem = _lemmas(words)
    texts = [w.text for w in words]
    for i, w in enumerate(words):
        nxt = texts[i + 1] if i + 1 < len(texts) else ""
        if w.text == "туда" and i > 0 and texts[i - 1] == "не":
            return True  # "вы не туда попали / звоните"
        if w.lemma in ("ошибиться", "перепутать") and (
            "номер" in lem or "вы" in texts or w.has("plur")
        ):
            if texts[i - 1 : i] != ["я"]:  # "я ошиблась" is the customer's own mistake
                return True
        if w.lemma in ("путать", "перепутать") and {"кто", "кем", "кто-то"} & (lem | set(texts)):
            return True  # "вы меня с кем-то путаете"
        if w.lemma == "номер" and {"смениться", "поменяться", "владелец", "хозяин"} & lem:
            return True  # "номер сменился, это теперь мой номер"
        if w.lemma == "номер" and nxt not in ("заказа", "заказ"):
            if (i > 1 and words[i - 1].lemma in ("мой", "тот") and texts[i - 2] == "не") or (
                nxt == "не" and i + 2 < len(texts) and words[i + 2].lemma in ("мой", "тот")
            ):
                return True  # "это не мой номер", "номер не тот"
            if {"неправильный", "неверный", "чужой", "ошибочный"} & lem and "заказ" not in lem:
                return True
        if texts[i : i + 3] == ["не", "по", "адресу"] and {"звонить", "обратиться"} & lem:
            return True  # "вы звоните не по адресу"
        if w.pos == "NOUN" and {"Name", "Surn"} & w.tags and w.known and i > 1:
            if any(x.lemma == "знать" and _negated_at(words, k) for k, x in enumerate(words[:i])):
                return True  # "не знаю никакого Сергея"
        # "тут нет никакого Сергея", "здесь нет Ольги".
        if (
            w.pos == "NOUN"
            and {"Name", "Surn"} & w.tags
            and w.known
            and {"нет", "нету"} & set(texts)
            and not {"я", "мы"} & set(texts)
        ):
            return True
        if w.text in ("тому", "туда") and i > 0 and texts[i - 1] == "не":
            return True
        if w.lemma == "кому" or (w.text == "кому" and "звонить" in lem):
            return "звонить" in lem
        # "я не Иван", "это не Мария Петровна", "меня зовут не Олег".
        if (
            w.pos == "NOUN"
            and {"Name", "Surn", "Patr"} & w.tags
            and w.known
            and i > 0
            and texts[i - 1] == "не"
            and {"я", "это", "зовут"} & set(texts[max(0, i - 3) : i - 1])
        ):
            return True
    # "нет здесь такого", "такой здесь не живёт", "таких нет".
    has_such = "такой" in lem
    if has_such and "заказ" not in lem and not _ORDER_VERBS & lem:
        if {"нет", "нету"} & set(texts) or any(
            w.lemma in ("жить", "проживать", "работать", "быть") and _negated_at(words, i, 3)
            for i, w in enumerate(words)
        ):
            return True
    if {"здесь", "тут"} & set(texts) and "заказ" not in lem:
        if any(
            w.lemma in ("жить", "проживать") and _negated_at(words, i, 3)
            for i, w in enumerate(words)
        ):
            return True
    return False


def is_not_ordered(words: list[Word]) -> bool:
    lem = _lemmas(words)
    texts = [w.text for w in words]
    for i, w in enumerate(words):
        if w.lemma in _ORDER_VERBS and (w.has("past") or w.pos == "PRTS"):
            if _negated_at(words, i):
                return True
            if texts[i + 1 : i + 3] == ["не", "я"]:
                return True  # "заказывала не я"
        if w.lemma == "делать" or w.lemma == "сделать":
            if w.has("past") and _negated_at(words, i) and {"заказ", "покупка"} & lem:
                return True
        if w.lemma in ("мой", "наш") and "заказ" in lem and _negated_at(words, i, 2):
            return True
        if w.lemma == "чужой" and "заказ" in lem:
            return True
        if w.lemma == "быть" and w.has("past") and _negated_at(words, i) and "заказ" in lem:
            return True
        if w.lemma in ("помнить", "припоминать") and _negated_at(words, i) and _ORDER_VERBS & lem:
            return "чтобы" in texts or "чтоб" in texts  # "не помню, чтобы заказывала"
        if w.lemma == "знать" and _negated_at(words, i) and "заказ" in lem:
            return "какой" in lem or "никакой" in lem or "ни" in texts
        if w.lemma == "слышать" and ("впервые" in texts or texts[max(0, i - 2) : i] in (
            ["первый", "раз"], ["в", "первый"])):  # fmt: skip
            return True
    if "заказ" in lem and "такой" in lem and {"нет", "нету"} & set(texts):
        return "я" in texts or "никакой" in lem or "не" in texts or len(texts) <= 4
    return "это" in texts and "не" in texts and texts[-2:] == ["не", "я"] and "заказ" in lem


_ASK_LEAD = frozenset("а и скажите подскажите уточните извините вот так слушайте".split())
_ASK_WORDS = frozenset("скажите подскажите уточните интересно вопрос спросить узнать".split())
_SUBJECT_TOPICS = frozenset("курьер доставка оплата доставщик водитель посылка заказ".split())
_WH = frozenset("когда где куда откуда сколько почему зачем какой каков кто что чей как".split())


_PERMITTED = frozenset(
    "привозить привезти везти доставлять доставить отправлять отправить приезжать приехать "
    "присылать прислать оформлять".split()
)


def _permission(body: list[Word]) -> bool:
    """ "можно привозить": permission to bring it, an answer, not a question."""
    return len(body) >= 2 and body[1].lemma in _PERMITTED and len(body) <= 3


def _question_clause(words: list[Word], asked: bool) -> str | None:
    """``"fact"`` for a question about the order or its delivery, ``"identity"`` for "what is
    this call" (какой заказ? кто это?), ``"other"`` for a question about anything else, None
    when the clause asks nothing. ``asked``: the clause ended with a question mark."""
    if not words:
        return None
    texts = [w.text for w in words]
    lem = _lemmas(words)
    lead = 0
    while lead < len(words) and (texts[lead] in _FILLERS or texts[lead] in _ASK_LEAD):
        lead += 1
    body = words[lead:]
    wh_at = [
        i
        for i, w in enumerate(body)
        if (w.text in _WH or w.lemma in ("какой", "сколько", "каков", "чей"))
        and not (w.text == "что" and i > 0)  # "я не знаю, что ..." is subordinate
        and not (w.text == "как" and i > 0)
    ]
    wh = bool(wh_at and wh_at[0] <= 2) or "ли" in texts
    opened = lead > 0 and texts[0] == "а"
    subject = next((w for w in body[:3] if w.lemma in _SUBJECT_TOPICS and w.has("nomn")), None)
    verbs = [w for w in body if w.pos == "VERB"]
    statement_about = subject is not None and (
        not verbs or all(v.has("3per") and not v.has("past") for v in verbs)
    )
    asks = (
        asked
        or wh
        or bool(_ASK_WORDS & set(texts))
        or opened
        or (texts[lead : lead + 1] == ["можно"] and not _permission(body))
        or "будет" in texts
        or statement_about
    )
    if not asks:
        return None
    order_verbs = bool(_ORDER_VERBS & lem)
    pay = "сколько" in lem and (["с", "меня"] == texts[-2:] or "должный" in lem)
    contents = "заказ" in lem and any(
        texts[i - 1] in ("в", "во") for i, w in enumerate(words) if w.lemma == "заказ" and i
    )
    facts = _TOPIC & lem - {"время", "число", "звонить", "позвонить"}
    if "звонить" in lem or "позвонить" in lem:
        if facts or subject is not None:
            facts = facts | {"звонить"}  # "а курьер позвонит?" asks about the courier
    identity_wh = {t for t in texts if t in ("какой", "какая", "какое", "кто", "откуда")} or (
        "что" in texts and "за" in texts
    )
    where_order = "заказ" in lem and bool(
        {"где", "когда", "почему", "зачем", "сколько"} & set(texts)
    )
    # "когда будет?", "когда ждать?": the delivery is what will be
    nouns = [w for w in body if w.pos == "NOUN"]
    if wh and not nouns and {"когда", "сколько"} & set(texts) and {"быть", "ждать"} & lem:
        where_order = True
    if facts or order_verbs or pay or contents or where_order:
        if (
            identity_wh
            and not (facts or order_verbs or contents or where_order)
            and _IDENTITY & lem
        ):
            return "identity"
        if not wh and not asked and not opened and not statement_about:
            if not (_ASK_WORDS & set(texts) or texts[lead : lead + 1] == ["можно"]):
                return None  # "будет" with no topic asked about
        return "fact"
    if _IDENTITY & lem or {"вы", "кто"} & lem:
        return "identity"
    return "other" if wh or asked else None


def _change(words: list[Word], found: Found, base: Intent) -> bool:
    """Does the reply ask for another day, time or address? (see the module notes)"""
    lem = _lemmas(words)
    delivery = bool(_DELIVERY & lem)
    moved = bool(_MOVE_VERBS & lem) or (
        bool(_CHANGE_VERBS & lem) and bool(_CHANGE_OBJECTS & lem | {"адрес"} & lem)
    )
    confirmed = bool({"да", "подтверждаю", "подтверждать", "хорошо", "ага"} & lem)
    shifted = bool(_EARLIER_LATER & lem) and (delivery or confirmed)
    said = found.day_said or found.time_said or found.address or found.rejected_day
    if not (said or moved or shifted):
        return False
    calls = [i for i, w in enumerate(words) if w.lemma in _CALL_VERBS and not _negated_at(words, i)]
    if calls and not delivery and not found.address:
        return False  # "перезвоните вечером" asks for a call, not a delivery
    if base is Intent.LATER and answers_ru.has_later_cue([w.text for w in words]):
        if not (
            delivery
            or found.address
            or found.hours_said
            or found.strong_day
            or shifted
            or found.rejected_day
        ):
            return False  # "я занят, давайте вечером": a call later
    if found.address or moved or shifted or delivery:
        return True
    if _REQUEST & lem or found.rejected_day:
        return True
    if base in (Intent.YES, Intent.NO):
        return True
    # The reply is (nearly) only the day or time: "в воскресенье", "после восьми вечера".
    rest = [
        w
        for w in words
        if w.text not in _FILLERS and w.pos not in ("PREP", "CONJ", "PRCL") and not is_time_word(w)
    ]
    return len(rest) <= 1


_PHONE_WORDS = frozenset(
    "алло да ну а я вас это слушаю слушаем слушать говорите внимательно на связи у телефона "
    "подождите подожди минутку минуточку секунду секундочку сек щас погодите".split()
)
_HOLD_LEMMAS = frozenset("слушать говорить подождать погодить минутка минуточка секунда "
                         "секундочка".split())  # fmt: skip


def _phone_prefix(toks: list[str], words: list[Word]) -> int:
    """How many leading words only answer the phone or ask to hold on ("алло, да, слушаю",
    "да, это я", "да, подождите"): a "да" among them answers the phone, not the question."""
    end = 0
    for i, t in enumerate(toks):
        if t not in _PHONE_WORDS and t not in _FILLERS:
            break
        if words[i].lemma in _HOLD_LEMMAS and (t != "говорите" or i + 1 == len(toks)):
            end = i + 1
            while end < len(toks) and toks[end] in ("вас", "внимательно"):
                end += 1
        elif toks[i : i + 2] == ["это", "я"] and all(t in _FILLERS for t in toks[i + 2 :]):
            end = len(toks)
    return end


def understand(text: str, today: date | None = None) -> Reply:
    """The intent of ``text`` and, for ``change``, the day / time / address asked for."""
    toks = _repair(tokens(text))
    if not toks:
        return Reply(Intent.UNKNOWN)
    words = [analyze(t) for t in toks]
    intent, found = _intent(text, toks, words, today)
    if intent is not Intent.CHANGE:
        return Reply(intent)
    f = found or extract(words, today)
    change = RequestedChange(f.date, f.after, f.before, f.address, text.strip())
    return Reply(Intent.CHANGE, change)


def _marked(toks: list[str], spans: list[tuple[int, int, bool]]) -> list[str]:
    """Tokens with "|" between punctuated clauses: "это не я, вы ошиблись" must not read as
    "не ... ошиблись"."""
    out: list[str] = []
    for a, b, _ in spans:
        if out and toks[a] not in _CONTRAST:
            out.append("|")
        out.extend(toks[a:b])
    return out


def _base(toks: list[str]) -> Intent:
    return answers_ru.classify_tokens([{"1": "один", "2": "два"}.get(t, t) for t in toks])


def _intent(
    text: str, toks: list[str], words: list[Word], today: date | None
) -> tuple[Intent, Found | None]:
    if is_machine(words):
        return Intent.MACHINE, None
    spans = _clauses(text, toks)
    cut = _phone_prefix(toks, words)
    if cut == len(toks):  # only answering the phone: "алло?" asks to be spoken to
        base = _base(toks)
        return (Intent.UNKNOWN if base is Intent.YES else base), None
    if cut:
        toks, words = toks[cut:], words[cut:]
        spans = [(max(a, cut) - cut, b - cut, q) for a, b, q in spans if b > cut]
    base = _base(_marked(toks, spans))
    lem = _lemmas(words)
    if {"запрещать", "запретить"} & lem and _CALL_VERBS & lem:
        base = Intent.DNC  # "я запрещаю вам звонить"
    if base is Intent.DNC:
        return base, None
    if toks[0] == "да" and len(toks) == 2 and toks[1] in ("ну", "щас", "ладно"):
        return Intent.UNKNOWN, None  # "да ну", "да щас": disbelief, not an answer
    if toks[0] == "алло" and set(toks) == {"алло", "да"}:
        return Intent.UNKNOWN, None  # "алло, да?": still answering the phone
    wrong, not_ordered = is_wrong_number(words), is_not_ordered(words)
    if wrong and not_ordered and "номер" not in lem and "туда" not in toks:
        return Intent.NOT_ORDERED, None  # "я не делал заказов, вы ошиблись": about the order
    if wrong:
        return Intent.WRONG_NUMBER, None
    if not_ordered:
        return Intent.NOT_ORDERED, None
    if base is Intent.OPERATOR:
        return base, None
    question = None
    for n, (a, b, asked) in enumerate(spans):
        prev = words[spans[n - 1][0] : spans[n - 1][1]] if n else []
        if not asked and any(w.lemma in _KNOW for w in prev):
            continue  # "я не помню, что заказывала": a subordinate clause, no question
        q = _question_clause(words[a:b], asked)
        if q is None and _base(toks[a:b]) in (Intent.YES, Intent.NO):
            question = None  # "что? а, да, подтверждаю": the answer after the question stands
        if q is not None:
            question = q if question in (None, "other", "identity") else question
    found = extract(words, today)
    wh = any(w.text in _INTERROGATIVE - {"ли"} or w.lemma in ("какой", "сколько") for w in words)
    shifted = bool(_EARLIER_LATER & lem) and bool(_DELIVERY & lem)  # "можно пораньше привезти?"
    said = found.day_said or found.time_said or found.address or bool(_MOVE_VERBS & lem) or shifted
    if question == "fact" and (wh or not said):
        return Intent.QUESTION, None
    if question == "other" and wh and base not in (Intent.REPEAT, Intent.LATER):
        return Intent.UNKNOWN, None
    if _change(words, found, base):
        return Intent.CHANGE, found
    if base is Intent.LATER:
        return base, None
    if question == "fact":
        return Intent.QUESTION, None
    if base is Intent.YES:
        if any(w.lemma in _KNOW and _negated_at(words, i, 2) for i, w in enumerate(words)):
            return Intent.UNKNOWN, None  # "не знаю, наверное да", "не помню, что заказывала"
        return _yes_but(text, toks, words, spans), None
    if question == "other" and base is Intent.UNKNOWN:
        return Intent.UNKNOWN, None
    return base, None


def _yes_but(
    text: str, toks: list[str], words: list[Word], spans: list[tuple[int, int, bool]]
) -> Intent:
    """A yes stands only if no later clause sets a condition that is not itself a yes."""
    if text.rstrip().endswith("?") and not any(
        t in ("подтверждаю", "подтверждаем", "верно", "правильно") for t in toks
    ):
        return Intent.REPEAT  # "да?": "yes, what is it?"
    seen_yes = False
    for a, b, _ in spans:
        clause = toks[a:b]
        own = _base(clause)
        if own is Intent.YES:
            seen_yes = True
            continue
        opener = clause[0] if clause else ""
        rest = [t for t in clause[1:] if t not in _FILLERS]
        if seen_yes and opener in _CONTRAST and rest:
            if own in (Intent.NO, Intent.LATER, Intent.REPEAT):
                return own
            return Intent.UNKNOWN
    return Intent.YES
