"""The login page's words in Russian (default) and English; the dashboard itself is translated
in the browser (static/i18n.js)."""

from __future__ import annotations

LANGS = ("ru", "en")

_LOGIN = {
    "ru": {
        "title": "Вход — Дозвон",
        "heading": "Дозвон: панель супервизора",
        "user": "Имя пользователя",
        "password": "Пароль",
        "submit": "Войти",
        "bad": "Неверное имя пользователя или пароль.",
        "locked": "Слишком много неудачных попыток входа. Следующая попытка — через {wait}.",
        "expired": "Форма устарела. Попробуйте ещё раз.",
        "no_accounts": "Учётные записи не настроены: задайте DOZVON_SUPERVISORS "
        "(хеш пароля печатает команда robot passwd).",
    },
    "en": {
        "title": "Sign in — Dozvon",
        "heading": "Dozvon supervisor dashboard",
        "user": "User name",
        "password": "Password",
        "submit": "Sign in",
        "bad": "Wrong user name or password.",
        "locked": "Too many failed sign-in attempts. Try again in {wait}.",
        "expired": "The form expired. Please try again.",
        "no_accounts": "No accounts are configured: set DOZVON_SUPERVISORS "
        "('robot passwd' prints a password hash).",
    },
}


def pick_lang(*candidates: str | None) -> str:
    for c in candidates:
        if c in LANGS:
            return c
    return LANGS[0]


def login_text(lang: str) -> dict[str, str]:
    return _LOGIN[pick_lang(lang)]
