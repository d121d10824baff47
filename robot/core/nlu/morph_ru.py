"""Russian words as lemmas and grammemes (pymorphy3), and repairs of recognizer-style words.

Why pymorphy3 and not natasha's syntax parser (measured on this machine, 2 shared cores):

- pymorphy3 with pymorphy3-dicts-ru loads in ~0.2 s, adds ~15 MB, and analyses a word in
  ~0.05 ms (cached here, so a reply of ten words costs well under a millisecond). Lemmas are
  what makes understanding general: заказывал / заказала / оформляла / оформили are two
  lemmas, "двадцатого" is the ordinal двадцатый, "восьми" the cardinal восемь.
- natasha (Segmenter + NewsMorphTagger + NewsSyntaxParser over navec embeddings) loads in
  ~1 s, adds ~200 MB and takes ~35 ms per reply: an order of magnitude over the per-reply
  budget, and its news-trained parser is unreliable on unpunctuated, lower-case recognizer
  output ("да только в субботу после шести") anyway. The structure we need (clauses at
  conjunctions, the scope of "не", interrogatives) is shallow and read from lemmas and
  grammemes in :mod:`robot.core.nlu.understand_ru`.

Purity: the dictionaries are package data inside the installed wheel, read once per process
at first use through :func:`analyzer` (a lazily initialised holder, thread-safe); nothing
else here touches the outside world. Call :func:`preload` at start-up to pay the load then.

Repairs (:func:`repair_word`), only for words the dictionary does not know:
``навторник`` -> ``на вторник`` (a known short word glued to a known word),
``декабоя`` -> ``декабря`` (one edit from a form of a date/answer lemma, see ``VOCABULARY``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from robot.core.repair import edit_distance

_lock = threading.Lock()
_morph: Any = None


def analyzer() -> Any:
    """The process's one pymorphy3 ``MorphAnalyzer`` (created at first use)."""
    global _morph
    if _morph is None:
        with _lock:
            if _morph is None:
                import logging

                import pymorphy3

                # It announces every dictionary load at INFO; the CLI's stderr is for us.
                logging.getLogger("pymorphy3").setLevel(logging.WARNING)
                _morph = pymorphy3.MorphAnalyzer()
    return _morph


def preload() -> None:
    analyzer()
    analyze("да")


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a reply: its text, the most likely lemma and grammemes, and all lemmas."""

    text: str
    lemma: str
    pos: str  # "" when unknown (digits, Latin)
    tags: frozenset[str]
    lemmas: frozenset[str]
    known: bool

    def has(self, *grammemes: str) -> bool:
        return all(g in self.tags for g in grammemes)


@lru_cache(maxsize=65536)
def analyze(text: str) -> Word:
    if not text.isalpha():
        return Word(text, text, "", frozenset(), frozenset({text}), True)
    morph = analyzer()
    parses = morph.parse(text)
    best = parses[0]
    lemma = best.normal_form.replace("ё", "е")
    lemmas = frozenset(p.normal_form.replace("ё", "е") for p in parses if p.score >= 0.05)
    tags = frozenset(str(best.tag).replace(" ", ",").split(","))
    return Word(text, lemma, best.tag.POS or "", tags, lemmas | {lemma}, morph.word_is_known(text))


# Lemmas whose forms a misheard word is corrected to (dates, times, answers): words of the
# domain, so that correcting never invents an everyday word into an answer.
VOCABULARY_LEMMAS = """
понедельник вторник среда четверг пятница суббота воскресенье воскресение январь февраль март
апрель май июнь июль август сентябрь октябрь ноябрь декабрь первый второй третий четвертый
пятый шестой седьмой восьмой девятый десятый одиннадцатый двенадцатый тринадцатый
четырнадцатый пятнадцатый шестнадцатый семнадцатый восемнадцатый девятнадцатый двадцатый
тридцатый один два три четыре пять шесть семь восемь девять десять одиннадцать двенадцать
тринадцать четырнадцать пятнадцать шестнадцать семнадцать восемнадцать девятнадцать двадцать
тридцать сорок пятьдесят завтра послезавтра сегодня утро вечер обед полдень неделя
заказывать заказать оформлять оформить покупать купить доставка доставить привезти
привозить курьер адрес перенести переносить дозвониться сообщение сигнал гудок абонент
автоответчик помощник ассистент секретарь подтверждать подтвердить ошибиться номер
голосовой почта оставить переехать совещание набрать перезвонить позвонить звонить удалить
отменить отменять аннулировать отказаться отказываться передумать оператор менеджер
специалист соединить повторить расслышать заплатить оплатить оплата наличные картой сколько
стоимость примерить мама папа бабушка дедушка сестра брат дочь дочка сын соседка сосед муж
жена подруга друг тетя свекровь коллега работа офис дача квартира конечно правильно
согласный хорошо нормально привезти привозить доставлять заберу забрать самовывоз
пожалуйста спасибо сообщение неудобно удобно удобнее вечером утром днем давать
"""


@lru_cache(maxsize=1)
def _vocabulary() -> dict[tuple[str, int], tuple[str, ...]]:
    """Every form of the vocabulary lemmas, bucketed by first letter and length."""
    morph = analyzer()
    forms: set[str] = set()
    for lemma in VOCABULARY_LEMMAS.split():
        for p in morph.parse(lemma)[:1]:
            forms.update(f.word.replace("ё", "е") for f in p.lexeme)
        forms.add(lemma)
    buckets: dict[tuple[str, int], list[str]] = {}
    for f in forms:
        buckets.setdefault((f[0], len(f)), []).append(f)
    return {k: tuple(v) for k, v in buckets.items()}


def _correct(word: str, limit: int) -> str | None:
    """The vocabulary form ``word`` is a slip of (``limit`` edits; two only for 7+ letters)."""
    if len(word) < 5:
        return None
    buckets = _vocabulary()
    best: set[str] = set()
    best_d = limit + 1
    for n in range(len(word) - limit, len(word) + limit + 1):
        for cand in buckets.get((word[0], n), ()):
            d = edit_distance(word, cand, limit)
            if d == 2 and len(word) < 7:
                continue
            if d < best_d:
                best, best_d = {cand}, d
            elif d == best_d:
                best.add(cand)
    if best_d > limit or not best:
        return None
    lemmas = {analyze(b).lemma for b in best}
    return min(best) if len(lemmas) == 1 else None


_GLUE_HEADS = frozenset(
    "в во на к ко с со до по от за из у о об не ни да нет ну а и но же бы ли то все вот так "
    "это уже еще после через".split()
)


_PARTICLES = frozenset("да нет не ну ага угу".split())


@lru_cache(maxsize=8192)
def repair_word(word: str) -> tuple[str, ...]:
    """A word the dictionary does not know, corrected or split; known words unchanged.

    A one-letter slip of a vocabulary word is corrected first (``втоник`` -> ``вторник``, not
    ``в тоник``); then a short word glued to a known word is split off (``навторник``), a
    chain only of answer particles (``данетне``); then two-letter slips of long words.
    """
    if not word.isalpha() or analyze(word).known:
        return (word,)
    fix = _correct(word, 1)
    if fix:
        return (fix,)
    for k in range(min(len(word) - 2, 6), 0, -1):
        head, rest = word[:k], word[k:]
        if head not in _GLUE_HEADS or len(rest) < 2:
            continue
        if analyze(rest).known and len(rest) >= 3:
            return (head, rest)
        if head in _PARTICLES:
            tail = repair_word(rest)
            if tail != (rest,) or rest in _PARTICLES:
                return (head, *tail)
    fix = _correct(word, 2)
    return (fix,) if fix else (word,)


def particle_chain(word: str) -> bool:
    """``дада``, ``данет``, ``нене``: answer particles said without a pause."""
    if word in _PARTICLES:
        return True
    return any(
        word.startswith(p) and len(word) > len(p) and particle_chain(word[len(p) :])
        for p in _PARTICLES
    )
