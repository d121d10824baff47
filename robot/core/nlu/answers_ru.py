"""Russian answers at word level: yes, no, dnc, operator, later, repeat (the first layer).

:mod:`robot.core.nlu.understand_ru` runs this on every reply and reads the intents it cannot
see (machine, wrong number, not ordered, change, question, "yes, but ...") on top of it.

How an answer is read (``classify_tokens``):

1. Normalize: lower case, ``ё`` -> ``е``, hyphens and punctuation to spaces (``нет-нет`` is
   two words), recognizer placeholders (``[unk]``) dropped, digits 1/2 as words.
2. Look for requests, in priority order, the first that matches wins:
   **dnc** (``не звоните``, ``хватит звонить``, ``удалите мой номер``) > **operator**
   (``соедините с оператором``, ``с живым человеком``) > **later** (``перезвоните``,
   ``я за рулём``, ``не могу говорить``) > **repeat** (``повторите``, ``не расслышал``,
   ``что?``, ``какой заказ?``). Do-not-call wins because it is the one request we must
   never lose ("да, но не звоните мне больше"). A "don't call" limited in time
   (``сейчас не звоните``) is *later*, not dnc.
   A later/repeat request is overridden only by a decisive yes/no said *after* it
   ("что? а, да, подтверждаю" is yes).
3. Otherwise weigh yes/no signals. Each has a strength: 3 = a statement (``подтверждаю``,
   ``всё верно``, ``отмените``, ``не надо``, ``не подтверждаю``), 2 = a particle (``да``,
   ``ага``, ``угу``, ``нет``, ``хорошо``), 1 = an intensifier (``конечно``). The strongest
   level present decides; within it the last one said wins, since people correct
   themselves ("нет-нет, всё верно" is yes; "да нет, не надо" is no).
4. Negation: ``не``/``ни`` flips the next yes/no word, looking past pronouns and small words
   (``не мой``, ``мне это уже не нужно``) and through modal verbs to their complement
   (``не надо отменять`` is yes, ``не хочу подтверждать`` is no). A negated modal with no
   complement is a refusal (``не надо``, ``не хочу``).
"""

from __future__ import annotations

import re

from robot.core.langpack import decide_yes_no
from robot.core.models import Intent
from robot.core.repair import repair

_NEGATORS = frozenset({"не", "ни"})
# Words negation looks past on its way to the word it negates.
_SKIP = frozenset(
    "мне нам вам вас тебя тебе ему ей им это этого эту этот его ее их уже совсем очень так особо "
    "сильно пока еще вообще ничего никак наверное больше сейчас то же бы чтобы чтоб я мы вы "
    "ты там тут пожалуйста ваш ваши ваших вашу вашего ваше никогда заказ заказа сюда _".split()
)
_MODALS = frozenset(
    "надо нужно нужен нужна нужны хочу хотим хотела хотел хочется буду будем стоит могу "
    "можем собираюсь собираемся планирую требуется".split()
)
# "|" marks a clause boundary (robot.core.nlu.understand_ru): negation does not reach past it.
_FILLERS = frozenset(
    "ну э ээ эм мм ммм хм вот слушайте слушай короче значит алло здравствуйте добрый день "
    "спасибо пожалуйста девушка ой |".split()
)

_YES_STEMS = (
    "подтвер", "соглас", "соглаш", "заказыв", "заказал", "оформля", "оформил", "привоз",
    "привез", "доставля", "устраива", "актуал", "жд", "везите", "оставля", "оставь", "беру",
    "берем", "брать", "возьму", "забир", "забер", "подходит", "годится", "верно", "правильн",
    "делал", "покупал", "получ",
)  # fmt: skip
# Mean something only when negated: "не интересно" is no, "интересно, ..." is not yes.
_NEG_ONLY_STEMS = ("интерес",)
_YES_EXACT = frozenset({"доставьте", "_yes3"})
_YES_WEAK = frozenset(
    "да ага угу ок окей хорошо ладно давайте давай отлично норм нормально можно пойдет "
    "добро yes ес йес мой моя наш ok okay лады".split()
)
_YES_MILD = frozenset(
    "конечно разумеется естественно безусловно точно именно обязательно абсолютно".split()
)
_NO_STEMS = (
    "отмен", "отказ", "откаж", "передума", "аннулир", "ошиб", "неверн", "неправильн",
    "против", "возраж", "неактуал", "ненуж", "неинтерес", "отзыва", "отзову",
)  # fmt: skip
_NO_EXACT = frozenset({"_no3"})
_NO_WEAK = frozenset("нет неа нету no ноу".split())
# Need "заказ" nearby to mean "drop the order" (else "удалите мой номер" is dnc).
_DROP_ORDER = ("удал", "убер", "сним")

_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("все", "верно"), "_yes3"),
    (("все", "правильно"), "_yes3"),
    (("все", "так"), "_yes3"),
    (("так", "точно"), "_yes3"),
    (("в", "силе"), "_yes3"),
    (("в", "порядке"), "_yes3"),
    (("без", "проблем"), "_yes3"),
    (("нет", "проблем"), "_yes3"),
    (("само", "собой"), "_yes3"),
    (("еще", "бы"), "_yes3"),
    (("никак", "нет"), "_no3"),
    (("уже", "купил"), "_no3"),
    (("уже", "купила"), "_no3"),
    (("уже", "купили"), "_no3"),
    (("другом", "месте"), "_no3"),
    (("ни", "в", "коем", "случае"), "_no3"),
    (("ни", "за", "что"), "_no3"),
)

# --- requests -------------------------------------------------------------------------------
_CALL_STEMS = ("звон", "перезван", "названив", "беспоко", "тревож", "трезвон", "набира")
_STOP_STEMS = ("хватит", "перестан", "прекрат", "достал", "надоел", "задолбал", "сколько")
_REMOVE_STEMS = ("удал", "убер", "сотр", "вычеркн", "исключ", "забуд", "внес", "добав")
_REMOVE_WHAT = ("номер", "телефон", "меня", "баз", "спис", "контакт")
_PERMANENT = frozenset("больше никогда вообще совсем впредь навсегда".split())
_TEMPORARY = frozenset("сейчас сегодня пока утром ночью рано поздно".split())

_OPERATOR_STEMS = (
    "оператор", "менеджер", "специалист", "консультант", "сотрудник", "диспетчер",
    "администратор", "живым", "живой", "живого", "соедин", "переключ", "перевед",
)  # fmt: skip
_PERSON_LEAD = frozenset("с со позовите дайте позвать человека".split())

_LATER_EXACT = frozenset(
    "позже попозже потом позднее позвоните позвонить позвони наберите занят занята заняты "
    "занят рулем неудобно некогда недосуг".split()
)
_LATER_STEMS = ("перезвон",)
_LATER_PLACES = frozenset(
    "работе совещании встрече собрании паре лекции уроке дороге пути метро больнице врача "
    "самолете поезде планерке".split()
)
_LATER_AFTER_NOT = frozenset("сейчас время удобно до могу можем".split())
_LATER_THROUGH = frozenset(
    "час часа часик часок полчаса полчасика минут минуту минутку пару несколько".split()
)
# An answer that is only a time ("давайте вечером") asks for a call then.
_LATER_WHEN = frozenset("вечером утром днем ночью завтра послезавтра попозже".split())
# Words that may come with it in such an answer ("давайте вечером", "лучше завтра утром").
_LATER_WITH = frozenset("давай давайте можно лучше ну в на после обеда часов часа".split())

_REPEAT_STEMS = ("повтор", "недослыш", "непонятн", "громче", "медленн", "помедлен")
_HEAR_STEMS = (
    "понял", "поняла", "поняли", "понима", "понят", "слыш", "услыш", "расслыш", "разобра",
)  # fmt: skip
_WHAT = frozenset(
    "что чего как какой какая какое какую кто кем откуда сколько когда че чё шо".split()
)
_WHAT_TOPIC = (
    "заказ", "сумм", "номер", "магазин", "доставк", "достав", "привез", "стоит", "стоимост",
    "цен", "звонит", "звоните", "сказал", "говори", "говорю",
)  # fmt: skip
_WHAT_TOPIC_EXACT = frozenset({"это", "вы", "вас", "такое"})
# "да, слушаю" answers the phone, it confirms nothing.
_LISTENING = frozenset("слушаю слушаем говорите алло".split())
_WHAT_ALONE = frozenset("что чего как а че чё шо сколько извините простите пардон алло".split())


_INFINITIVE = re.compile(r"(ть|ти|чь|ться|тись)$")
_BARE_NO_NEXT = frozenset("спасибо ну надо нужно |".split())


def normalize(text: str) -> list[str]:
    """Lower-cased words with ``ё`` -> ``е``; punctuation, hyphens and ``[unk]`` removed."""
    text = text.lower().replace("ё", "е")
    text = re.sub(r"\[unk\]|<unk>", " ", text)
    text = re.sub(r"\b1\b", " один ", re.sub(r"\b2\b", " два ", text))
    return re.findall(r"[a-zа-я0-9]+", text)


def _starts(tok: str, stems: tuple[str, ...]) -> bool:
    return tok.startswith(stems)


def _merge_phrases(toks: list[str]) -> list[str]:
    """Replace set phrases by one marker word, padded with ``_`` to keep positions."""
    out: list[str] = []
    i = 0
    while i < len(toks):
        for words, marker in _PHRASES:
            if tuple(toks[i : i + len(words)]) == words:
                out += [marker] + ["_"] * (len(words) - 1)
                i += len(words)
                break
        else:
            out.append(toks[i])
            i += 1
    return out


def _negated(toks: list[str], i: int, through: frozenset[str] = _SKIP | _MODALS) -> bool:
    """Is ``toks[i]`` under a ``не`` a few small words back?"""
    for j in range(i - 1, max(-1, i - 5), -1):
        if toks[j] in _NEGATORS:
            return True
        if toks[j] not in through:
            return False
    return False


def _polarity(tok: str, toks: list[str]) -> int:
    """+1 / -1 for a yes / no content word, 0 otherwise."""
    if tok in _YES_EXACT or _starts(tok, _YES_STEMS):
        return 1
    if tok in _NO_EXACT or _starts(tok, _NO_STEMS):
        return -1
    if _starts(tok, _DROP_ORDER) and any(t.startswith("заказ") for t in toks):
        return -1
    return 0


def _is_call(toks: list[str], i: int) -> bool:
    tok = toks[i]
    if not _starts(tok, _CALL_STEMS):
        return False
    # Past tense ("я вам не звонил") is not a request, unless "чтобы больше не звонили".
    past = re.search(r"(л|ла|ли|ло)$", tok) is not None
    return not past or any(t in ("чтобы", "чтоб") for t in toks[:i])


def _removal(toks: list[str], i: int) -> bool:
    """ "удалите мой номер", "уберите меня из базы" (but not "удалите заказ номер 5")."""
    window = toks[i + 1 : i + 5]
    return any(
        _starts(t, _REMOVE_WHAT) and not (k and window[k - 1].startswith("заказ"))
        for k, t in enumerate(window)
    )


def _dnc(toks: list[str]) -> Intent | None:
    """DNC for "don't call", LATER for "don't call now", None when neither."""
    for i, tok in enumerate(toks):
        if _is_call(toks, i):
            after = toks[i + 1 : i + 5]
            if _negated(toks, i) or ("не" in after and _MODALS & set(after)):
                temporary = _TEMPORARY & set(toks) and not _PERMANENT & set(toks)
                return Intent.LATER if temporary else Intent.DNC
            if any(_starts(t, _STOP_STEMS) for t in toks[max(0, i - 3) : i]):
                return Intent.DNC
        if _starts(tok, _STOP_STEMS) and any(
            t.startswith(("звон", "названив")) for t in toks[i + 1 : i + 4]
        ):
            return Intent.DNC
        if _starts(tok, _REMOVE_STEMS) and _removal(toks, i):
            return Intent.DNC
        if tok.startswith("черн") and any(t.startswith("спис") for t in toks[i + 1 : i + 2]):
            return Intent.DNC
        if tok.startswith(("отпиш", "отпис")) or tok == "покое":
            return Intent.DNC
    return None


def _is_operator(toks: list[str]) -> bool:
    for i, tok in enumerate(toks):
        person = tok.startswith("человек") and (
            (i > 0 and toks[i - 1] in _PERSON_LEAD) or "живым" in toks or "живой" in toks
        )
        robot = tok == "роботом" and any(t in _NEGATORS for t in toks)
        anyone = toks[i : i + 3] == ["с", "кем", "нибудь"]
        if _starts(tok, _OPERATOR_STEMS) or person or robot or anyone:
            after = toks[i + 1 : i + 3]
            if robot or not (_negated(toks, i) or ("не" in after and _MODALS & set(after))):
                return True
    return False


def _later_at(toks: list[str]) -> int | None:
    """Where the first "call me later" cue is, if any."""
    for i, tok in enumerate(toks):
        if tok in _LATER_EXACT or _starts(tok, _LATER_STEMS):
            if not _negated(toks, i):
                return i
        if tok in _LATER_PLACES and i > 0 and toks[i - 1] in ("на", "в", "у", "за"):
            return i
        if tok == "через" and i + 1 < len(toks) and toks[i + 1] in _LATER_THROUGH:
            return i
        if toks[i : i + 2] in (["другой", "раз"], ["другое", "время"]):
            return i
        if tok in _NEGATORS and i + 1 < len(toks) and toks[i + 1] in _LATER_AFTER_NOT:
            nxt = toks[i + 2 : i + 4]
            if not any(_polarity(t, toks) or _starts(t, _HEAR_STEMS) for t in nxt):
                return i
    return None


def _repeat_at(toks: list[str]) -> int | None:
    """Where the first "say it again" cue is, if any (0 for a lone "что?")."""
    for i, tok in enumerate(toks):
        if _starts(tok, _REPEAT_STEMS) and not _negated(toks, i):
            return i
        if _starts(tok, _HEAR_STEMS) and _negated(toks, i):
            return i
        if toks[i : i + 2] == ["еще", "раз"]:
            return i
        if tok.startswith("плох") and any(t.startswith(("связ", "слыш")) for t in toks):
            return i
        if tok in _WHAT and any(
            _starts(t, _WHAT_TOPIC) or t in _WHAT_TOPIC_EXACT for t in toks[i + 1 : i + 3]
        ):
            return i
        if tok in _WHAT and len(toks) <= 4 and _WHAT_TOPIC_EXACT & set(toks[:i]):
            return i  # "а вы кто"
    content = [t for t in toks if t not in _FILLERS or t == "алло"]
    if content and all(t in _WHAT_ALONE for t in content):
        return 0
    return None


def _signals(toks: list[str]) -> list[tuple[int, int, int]]:
    """(level, position, +1/-1) for every yes/no cue, negation applied."""
    out: list[tuple[int, int, int]] = []
    for i, tok in enumerate(toks):
        pol = _polarity(tok, toks)
        if _starts(tok, _NEG_ONLY_STEMS) and _negated(toks, i):
            out.append((3, i, -1))
        elif pol:
            # Negation reaches through a modal only to its infinitive ("не хочу отменять",
            # not "не хочу, отменяйте"); "отменять не надо": the modal after it negates too.
            after = toks[i + 1 : i + 3]
            through = _SKIP | _MODALS if _INFINITIVE.search(tok) else _SKIP
            negated = _negated(toks, i, through) or (
                after[:1] == ["не"] and bool(_MODALS & set(after))
            )
            out.append((3, i, -pol) if negated else (3, i, pol))
        elif tok in _YES_WEAK:
            if tok == "да" and i + 1 < len(toks) and toks[i + 1] in _LISTENING:
                continue
            # Only the possessives negate: "не мой заказ" is a clear no.
            possessive_negated = tok in ("мой", "моя", "наш") and _negated(toks, i, _SKIP)
            out.append((3, i, -1) if possessive_negated else (2, i, 1))
        elif tok in _NO_WEAK:
            out.append((2, i, -1))
        elif tok == "не" and (i + 1 == len(toks) or toks[i + 1] in _BARE_NO_NEXT):
            out.append((2, i, -1))  # "не, спасибо": a bare "не" is a colloquial "нет"
        elif tok in _YES_MILD:
            out.append((1, i, 1))
        elif tok in _MODALS:
            if i >= 2 and toks[i - 1] in _NEGATORS and _polarity(toks[i - 2], toks):
                continue  # "отменять не надо": taken with its complement, before it
            rest = [t for t in toks[i + 1 : i + 4] if t not in _SKIP]
            if rest and (_polarity(rest[0], toks) or _starts(rest[0], _CALL_STEMS)):
                continue  # the complement carries the meaning
            if _negated(toks, i, _SKIP):
                if tok not in ("могу", "можем"):
                    out.append((3, i, -1))  # "не надо", "не хочу"
            elif not rest and tok not in ("могу", "можем", "стоит"):
                out.append((2, i, 1))  # "да, надо"
    if toks in (["один"], ["единица"]):
        out.append((2, 0, 1))
    if toks in (["два"], ["двойка"]) or all(t in _NEGATORS for t in toks):
        out.append((2, 0, -1))  # "не-не-не"
    if toks[-2:] == ["не", "я"] and len(toks) <= 3:
        out.append((3, len(toks) - 1, -1))  # "это не я"
    return out


_decide = decide_yes_no


# --- repairs (robot.core.repair): glued particles and misspellings ----------------------------
_PARTICLES = ("да", "нет", "не", "ну", "ага", "угу", "все", "вот", "так")
_CANONICAL = (
    "подтверждаю", "подтверждаем", "подтвердить", "подтверждаю", "конечно", "согласен",
    "согласна", "правильно", "неправильно", "заказывал", "заказывала", "отмените",
    "отменяйте", "отменить", "отказываюсь", "передумал", "передумала", "оператор",
    "оператора", "оператором", "менеджер", "менеджера", "перезвоните", "повторите",
    "повторить", "звоните", "звонить", "хорошо", "нормально", "давайте", "доставляйте",
    "привозите", "разумеется", "естественно", "обязательно", "пожалуйста", "спасибо",
    "соедините", "человеком", "неудобно", "расслышал", "расслышала",
)  # fmt: skip
_EXACT_WORDS = (
    _NEGATORS
    | _SKIP
    | _MODALS
    | _FILLERS
    | _YES_EXACT
    | _YES_WEAK
    | _YES_MILD
    | _NO_EXACT
    | _NO_WEAK
    | _PERMANENT
    | _TEMPORARY
    | _PERSON_LEAD
    | _LATER_EXACT
    | _LATER_PLACES
    | _LATER_AFTER_NOT
    | _LATER_THROUGH
    | _LATER_WHEN
    | _WHAT
    | _WHAT_TOPIC_EXACT
    | _WHAT_ALONE
    | _LISTENING
    | frozenset("один два единица двойка покое роботом".split())
)
_ALL_STEMS = (
    _YES_STEMS
    + _NEG_ONLY_STEMS
    + _NO_STEMS
    + _DROP_ORDER
    + _CALL_STEMS
    + _STOP_STEMS
    + _REMOVE_STEMS
    + _REMOVE_WHAT
    + _OPERATOR_STEMS
    + _LATER_STEMS
    + _REPEAT_STEMS
    + _HEAR_STEMS
    + _WHAT_TOPIC
)


def _known(tok: str) -> bool:
    return tok in _EXACT_WORDS or tok.startswith(_ALL_STEMS)


def repair_tokens(toks: list[str]) -> list[str]:
    """Glued particles split off and misspelt lexicon words corrected (robot.core.repair)."""
    return repair(toks, _known, _PARTICLES, _CANONICAL)


def classify(text: str) -> Intent:
    """The word-level reading of ``text`` (no change/question/machine/...)."""
    return classify_tokens(repair_tokens(normalize(text)))


def has_later_cue(toks: list[str]) -> bool:
    """A "call me later" said in words (not only a time: "давайте вечером" has none)."""
    return _dnc(toks) is Intent.LATER or _later_at(toks) is not None


def classify_tokens(toks: list[str]) -> Intent:
    if not toks:
        return Intent.UNKNOWN
    dnc = _dnc(toks)
    if dnc is Intent.DNC:
        return dnc
    if _is_operator(toks):
        return Intent.OPERATOR
    signals = _signals(_merge_phrases(toks))
    later = 0 if dnc is Intent.LATER else _later_at(toks)
    repeat = _repeat_at(toks)
    if later is not None or repeat is not None:
        cue = max(p for p in (later, repeat) if p is not None)
        after = [s for s in signals if s[1] > cue and s[0] == 3]
        return _decide(after) or (Intent.LATER if later is not None else Intent.REPEAT)
    decided = _decide(signals)
    if _LATER_WHEN & set(toks) and all(t in _LATER_WHEN | _LATER_WITH | _FILLERS for t in toks):
        return Intent.LATER  # "давайте вечером"
    return decided or Intent.UNKNOWN
