"""The language packs by code. The one module that knows every pack: ``langpack`` holds the
types the packs are made of and ``lang_ru`` / ``lang_ko`` build on it, so none of them imports
another's side (no import circle); a new language is one more entry here."""

from __future__ import annotations

from robot.core import lang_ko, lang_ru
from robot.core.langpack import LanguagePack

PACKS: dict[str, LanguagePack] = {"ru": lang_ru.PACK, "ko": lang_ko.PACK}


def get_pack(code: str) -> LanguagePack:
    try:
        return PACKS[code]
    except KeyError:
        raise KeyError(f"no language pack for {code!r}; have {', '.join(PACKS)}") from None
