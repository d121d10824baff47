"""Word repairs before an answer is read: glued words and misspellings.

Speech recognizers and people typing both produce words the classifier's lexicon does not
have: ``даподтверждаю``, ``незвоните``, ``всёверно`` (spaces lost), ``потверждаю``,
``канешно`` (misspelt or heard slightly off). Only words the lexicon does not know are
touched, so a real word is never "corrected" into an answer:

1. **Correct** a word of 5+ letters to the one lexicon word within one edit, or two edits
   for a word of 7+ letters of the same length and first letter (``канешно`` -> ``конечно``);
   a tie between two candidates leaves the word alone.
2. **Split** a leading particle off (``да|нет|не|ну|...`` + a known or correctable word),
   repeatedly (``дадада``, ``дапотверждаю``).

Pure and language-neutral: the language pack passes its lexicon test, particles and
canonical words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Levenshtein distance, or ``limit + 1`` as soon as it is certain to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def correct(word: str, canonical: Iterable[str]) -> str | None:
    """The single canonical word ``word`` is a misspelling of, if any (see module notes)."""
    if len(word) < 5:
        return None
    if isinstance(canonical, tuple | frozenset):
        return _correct_cached(word, canonical)
    return _correct(word, canonical)


@lru_cache(maxsize=8192)
def _correct_cached(word: str, canonical: tuple[str, ...] | frozenset[str]) -> str | None:
    return _correct(word, canonical)


def _correct(word: str, canonical: Iterable[str]) -> str | None:
    best: list[str] = []
    best_d = 3
    for c in canonical:
        d = edit_distance(word, c, 2)
        if d == 2 and not (len(word) >= 7 and len(c) == len(word) and c[0] == word[0]):
            continue
        if d < best_d:
            best, best_d = [c], d
        elif d == best_d and c not in best:
            best.append(c)
    return best[0] if best_d <= 2 and len(best) == 1 else None


def split_glued(word: str, known: Callable[[str], bool], particles: Sequence[str]) -> list[str]:
    """``word`` as particles + a known word, or ``[word]`` when it does not split so."""
    if known(word):
        return [word]
    for p in sorted(particles, key=len, reverse=True):
        rest = word[len(p) :]
        if word.startswith(p) and len(rest) >= 2:
            tail = split_glued(rest, known, particles)
            if known(tail[0]) or rest in particles:
                return [p, *tail]
    return [word]


def repair(
    tokens: Sequence[str],
    known: Callable[[str], bool],
    particles: Sequence[str],
    canonical: Sequence[str],
) -> list[str]:
    """Tokens with glued particles split off and misspelt lexicon words corrected."""

    def fixed(word: str) -> str:
        return word if known(word) else correct(word, canonical) or word

    def usable(word: str) -> bool:
        return known(word) or correct(word, canonical) is not None

    out: list[str] = []
    for tok in tokens:
        if known(tok):
            out.append(tok)
            continue
        fix = correct(tok, canonical)
        parts = [fix] if fix else split_glued(tok, usable, particles)
        out.extend(fixed(p) for p in parts)
    return out
