"""Speech-safe text from order fields: what the robot may say aloud, and how order ids are read.

Order fields come from a shop's CRM and are shown, logged and spoken. Shown and logged they
are escaped elsewhere; spoken, they go to a synthesizer that reads whatever it gets: tags,
``&amp;``, ``**bold**``, emoji names, control characters. The rules here (pure, no I/O):

- ``speakable(text, lang)``: markup is removed (HTML/XML tags, with the contents of
  ``script``/``style``; entities decoded, also twice-escaped ones; Markdown emphasis, code
  marks, headings, list and quote markers, links reduced to their text; bare URLs and e-mail
  addresses dropped), then emoji, symbols, control and format characters (bidi overrides,
  zero-width joiners, variation selectors). Letters are kept only from scripts the language's
  voice can read (Russian: Cyrillic and Latin; Korean: Hangul, Latin and Hanja), with digits and
  sentence punctuation. What is left must look like words: at least one letter, no "word"
  longer than ``MAX_WORD`` letters, not a run of one repeated character; a name over its length
  limit is left out, a longer text (items) is cut at a word boundary. Returns ``None`` when
  nothing speakable is left: the prompt plan skips that part instead of spelling garbage.
- ``order_id_runs(order_id)``: an order id as the customer knows it, split into runs of
  letters and of digits (``ORD-2024-001234`` -> ``ord``, ``2024``, ``001234``); separators and
  marks (``#``, ``-``, ``/``, spaces) are not read. The number readers say digit runs in groups
  (``12 34 56``) and letter runs letter by letter. ``None`` for ids that cannot be read out
  usefully: non-ASCII, no digits and over ``MAX_ID_LETTERS`` letters, over ``MAX_ID_CHARS``
  characters to read, or chopped into more than ``MAX_ID_RUNS`` runs (UUIDs, hashes).
"""

from __future__ import annotations

import html
import re
import unicodedata

MAX_WORD = 30  # letters in one word; longer is not a word a voice can say
MAX_NAME_CHARS = 60  # a customer's or shop's name
MAX_TEXT_CHARS = 160  # free text (the items summary), cut at a word boundary
MAX_ID_CHARS = 16  # letters and digits read out of an order id
MAX_ID_RUNS = 4  # letter/digit runs in an order id
MAX_ID_LETTERS = 6  # an id of letters only: short codes are spelled, words are not ids

# Scripts (the first word of a letter's Unicode name) each voice reads.
_SCRIPTS = {
    "ru": ("CYRILLIC", "LATIN"),
    "ko": ("HANGUL", "LATIN", "CJK"),
}
_KEEP_PUNCT = set(".,!?;:-'\"()«»")
_SPACE_PUNCT = set("_*~`#|/\\[]{}<>=+^@$%&")

_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_DROP_ELEMENTS = re.compile(r"<(script|style)\b[^>]*>.*?(</\1\s*>|$)", re.I | re.S)
_TAG = re.compile(r"<!--.*?(-->|$)|<[!?/]?[A-Za-z][^<>]*(>|$)", re.S)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"\b(?:[a-z][a-z0-9+.-]*://|www\.)\S*", re.I)
_EMAIL = re.compile(r"\S+@\S+\.\S+")
_LINE_MARK = re.compile(r"^\s*(?:#{1,6}\s+|>+\s*|[-*+]\s+|\d+[.)]\s+)", re.M)
_MD_EMPHASIS = re.compile(r"(\*\*|__|~~|\*|_|`+)(?=\S)(.+?)(?<=\S)\1")


def strip_markup(text: str) -> str:
    """Tags, entities and Markdown removed, the words they wrapped kept."""
    text = _ANSI.sub(" ", text)
    for _ in range(3):  # "&amp;lt;b&amp;gt;" is markup too, one level at a time
        before = text
        text = _DROP_ELEMENTS.sub(" ", text)
        text = _TAG.sub(" ", text)
        text = html.unescape(text)
        if text == before:
            break
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _EMAIL.sub(" ", text)
    text = _LINE_MARK.sub(" ", text)
    for _ in range(3):  # nested emphasis: ***x***, **_x_**
        text = _MD_EMPHASIS.sub(r"\2", text)
    return text


def _script(ch: str) -> str:
    return unicodedata.name(ch, "").split(" ", 1)[0]


def speakable_chars(text: str, lang: str) -> str:
    """Letters of the voice's scripts, digits, spaces and sentence punctuation; everything
    else (emoji, symbols, control and format characters, other scripts) becomes a space."""
    scripts = _SCRIPTS.get(lang, ("LATIN",))
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        cat = unicodedata.category(ch)
        if cat[0] == "L":
            out.append(ch if _script(ch) in scripts else " ")
        elif cat == "Nd":
            out.append(ch if ch.isascii() else str(unicodedata.digit(ch)))
        elif cat in ("Mn", "Mc"):  # a mark that composes with its letter (и + ̆ = й) stays
            if out and out[-1] != " " and len(unicodedata.normalize("NFC", out[-1] + ch)) == 1:
                out[-1] = unicodedata.normalize("NFC", out[-1] + ch)
        elif ch in _KEEP_PUNCT:
            out.append(ch)
        else:  # Zs, Zl, Cc, Cf, So, Sk, Sm, Me, other punctuation
            out.append(" ")
    return "".join(out)


_PUNCT_RUN = re.compile(r"([.,!?;:\-'\"()«»])[.,!?;:\-'\"()«»\s]*")
_REPEATED = re.compile(r"^(.)\1*$")


def _tidy(text: str) -> str:
    text = " ".join(text.split())
    text = _PUNCT_RUN.sub(lambda m: m.group(1) + (" " if " " in m.group(0) else ""), text)
    text = re.sub(r"\s+([.,!?;:)»])", r"\1", text)
    return text.lstrip(" .,;:-)»!?").rstrip(" .,;:-(«!?")


def _looks_like_words(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters or (len(letters) > 3 and _REPEATED.match("".join(letters).lower())):
        return False
    return all(sum(c.isalpha() for c in w) <= MAX_WORD for w in text.split())


def speakable(text: str | None, lang: str, *, max_chars: int = MAX_NAME_CHARS,
              cut: bool = False) -> str | None:  # fmt: skip
    """The words of ``text`` a voice can say, or None (see the module notes). ``cut``: a
    text over ``max_chars`` is shortened at a word boundary instead of left out."""
    if not text:
        return None
    cleaned = text
    for _ in range(4):  # removing one thing can reveal another ("<i></i>0. A" -> "0. A")
        before, cleaned = cleaned, _tidy(speakable_chars(strip_markup(cleaned), lang))
        if cleaned == before:
            break
    if len(cleaned) > max_chars:
        if not cut:
            return None
        head = cleaned[: max_chars + 1].rsplit(" ", 1)[0]
        cleaned = _tidy(head if head != cleaned[: max_chars + 1] else cleaned[:max_chars])
    return cleaned if cleaned and _looks_like_words(cleaned) else None


def speakable_name(text: str | None, lang: str) -> str | None:
    """A customer's or shop's name as spoken, or None to leave it out."""
    return speakable(text, lang, max_chars=MAX_NAME_CHARS)


def speakable_summary(text: str | None, lang: str) -> str | None:
    """Free text (what was ordered) as spoken: cut at a word boundary when long."""
    return speakable(text, lang, max_chars=MAX_TEXT_CHARS, cut=True)


_ID_RUN = re.compile(r"[a-z]+|[0-9]+")


def order_id_runs(order_id: str) -> list[str] | None:
    """Runs of letters and digits to read (lower case), or None when the id cannot be read
    out usefully (see the module notes)."""
    text = unicodedata.normalize("NFKC", order_id or "").lower()
    if not text.isascii():
        return None
    runs = _ID_RUN.findall(text)
    chars = sum(len(r) for r in runs)
    if not runs or chars > MAX_ID_CHARS or len(runs) > MAX_ID_RUNS:
        return None
    if not any(r.isdigit() for r in runs) and chars > MAX_ID_LETTERS:
        return None
    return runs
