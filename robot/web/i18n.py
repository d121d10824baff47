"""Every word the dashboard shows, server text included, in Russian (default) and English.

How server text reaches a supervisor in their language (one mechanism for all of it):

- Every sentence the server writes (policy reasons, call reasons, status reasons, validation
  errors) has a stable **message key** with an English template: the core's are in
  ``robot.core.messages.EN``, the adapters' and the web layer's in :data:`SERVER_EN` below.
  The CRM keeps reading the English; ``explain`` also carries ``reason_code``/``reason_params``.
- :data:`RU` holds the Russian template of every key (a unit test checks that none is
  missing and that the placeholders agree).
- For supervisors (a session, not a CRM token) :func:`translate_middleware` adds, beside each
  ``reason``, ``status_reason`` and ``message`` string of a JSON answer, ``<field>_i18n``:
  ``{"key", "ru", "en"}``, found by parsing the English back with the catalog (stored texts are
  strings; parsing needs no change to how they are written). The browser shows ``ru`` or
  ``en``; a text no key matches (a reason a shop typed) is shown as it is.
- Words of the pages themselves are in ``static/i18n.js``; the status and outcome names, which
  both sides need, are here and reach the browser through ``/dashboard/i18n.js``.

Adding a server text: give it a key and English template here (or in ``core.messages``) and a
Russian one in :data:`RU`; tests fail until both exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.typedefs import Handler

from robot.core.carrier_outcomes import CARRIER_TABLE
from robot.core.messages import EN, Catalog, Formats, Text, describe_local
from robot.core.models import OrderStatus, Outcome
from robot.web.sessions import COOKIE

LANGS = ("ru", "en")
I18N_FIELDS = ("reason", "status_reason", "message")

# Texts written by adapters, the engine and the web layer (the core's are in core.messages).
SERVER_EN: dict[str, str] = {
    # order store, order control, dialer
    "store.dnc_flag": "do_not_call flag on the order",
    "store.dnc_listed": "phone on the do-not-call list",
    "store.lease_lost": "lease expired: worker lost",
    "order.updated": "order updated",
    "order.retry_by": "retry now by {user}",
    "order.cancelled_shop": "cancelled by the shop",
    "order.cancelled_by": "cancelled by supervisor {user}",
    "order.hangup_requested": "hangup requested",
    "order.final_status": "order {status:status}",
    "order.final_status_why": "order {status:status}: {why:msg}",
    "order.already_final": "order {id} is already {status:status}",
    # how a call ended (AMI mapping, dialog, session, dialer)
    "call.not_started": "not started",
    "call.answered": "answered",
    "call.busy": "busy",
    "call.no_answer": "no answer",
    "call.rang_out": "rang out, no answer",
    "call.declined": "declined before answer",
    "call.congestion": "congestion",
    "call.originate_failed": "originate failed (reason {code})",
    "call.amd": "answering machine (AMD: {cause})",
    "call.asterisk_lost": "lost connection to Asterisk {server}",
    "call.dtmf": "dtmf {digit}",
    "call.said": "said: {text}",
    "call.said_nothing": "said nothing usable",
    "call.silence": "silence",
    "call.hung_up": "caller hung up",
    "call.too_long": "call exceeded its maximum length",
    "call.internal": "internal error: {error}",
    "call.hung_up_because": "{reason:msg}; hung up: {why:msg}",
    "call.media_lost": "media connection lost",
    "call.carrier": "{meaning:msg}: {said}",  # + carrier.<outcome> below, from CARRIER_TABLE
    # the do-not-call list
    "dnc.asked_in_call": "asked during call {call_id} (order {order_id})",
    "dnc.by_supervisor": "supervisor {user}",
    "dnc.not_listed": "{phone} is not on the do-not-call list",
    # errors the dashboard can show in a toast
    "err.no_order": "no order '{id}'",
    "err.not_retryable": (
        "order is {status:status}; only queued or exhausted orders can be called again"
    ),
    "err.limit_number": "limit must be a number",
    "err.offset_limit": "offset and limit must be integers",
    "err.unknown_status": "unknown status",
    "err.number_or_null": "{name} must be a number or null",
    "err.max_range": "must be between 0 and 10000",
    "err.cps_range": "must be above 0 and at most 1000",
    "err.not_json": "body is not JSON",
    "err.not_json_object": "body must be a JSON object",
    "err.csrf": "missing or wrong CSRF token; reload the page",
    "err.admin_only": "this needs the admin role",
    "err.no_recording": "no recording for this call",
    "err.csv_utf8": "the CSV must be UTF-8",
    "err.store_down": "order store is unreachable, retry later",
    "err.unauthorized": "log in, or send Authorization: Bearer <api token>",
    "err.bad_date": "{name} must be a date (YYYY-MM-DD)",
    "err.bad_range": "the range must end after it starts and span at most {days} days",
    "err.unknown_value": "unknown {name}: {value}",
    # reopening a final order, the follow-up queue (robot.core.reopen, robot.web.followups)
    "err.not_reopenable": "order is {status:status} and cannot be called again: {why:msg}",
    "err.reopen_attempts": "attempts must be a whole number from 1 to {max}",
    "reopen.confirmed": "the customer already confirmed it",
    "reopen.cancelled": "the shop cancelled it",
    "reopen.dnc": "calls to this customer are barred",
    "reopen.dnc_listed": "the phone is on the do-not-call list",
    "reopen.invalid_number": "the number does not exist",
    "reopen.not_final": "it is not final",
    "order.reopened_by": "reopened by {user}: {n} more attempt(s)",
    "err.call_in_flight": "a call of order {id} is in flight",
    "err.name_or_address": "give a name or an address",
    "err.followup_taken": "order {id} is being handled by {user}",
    "err.followup_not_needed": "order {id} needs no follow-up",
    "err.note_length": "the note must have 1 to {max} characters",
    "err.attempts_form": "attempts must be N, N-M or N+",
    "err.not_a_number": "{name} must be a number",
    "err.csv_too_large": "the CSV is larger than 8 MB",
    "phone.empty": "is empty",
    "phone.not_a_number": "not a phone number ({detail})",
    "phone.not_possible": "not a possible phone number",
    "phone.not_valid": "not a valid phone number",
}

# What the carrier's answer meant (robot.core.carrier_outcomes), keyed by outcome, so that a
# rewording there still parses; "call.carrier" adds the SIP/Q.850 code as the carrier said it.
SERVER_EN.update({f"carrier.{row.outcome.value}": row.meaning for row in CARRIER_TABLE})

# Order statuses and call outcomes by name: one term per meaning. In Russian the three
# "do not call" meanings have three words: the shop's flag on the order ("запрет звонков в
# заказе"), the global list ("стоп-лист") and the customer's answer ("просил не звонить");
# the final status says which applied in its reason.
STATUS_WORDS: dict[str, dict[str, str]] = {
    "ru": {
        "queued": "в очереди", "calling": "звоним", "confirmed": "подтверждён",
        "rejected": "отклонён", "exhausted": "попытки исчерпаны", "cancelled": "отменён",
        "dnc": "звонки запрещены", "operator": "передан оператору",
        "changed": "изменение доставки", "wrong_number": "чужой номер",
        "not_ordered": "не заказывал", "invalid_number": "номер не существует",
        "informed": "клиент уведомлён", "stopped": "звонки не нужны",
    },
    "en": {
        "queued": "queued", "calling": "calling", "confirmed": "confirmed",
        "rejected": "rejected", "exhausted": "attempts exhausted", "cancelled": "cancelled",
        "dnc": "calls barred", "operator": "with operator", "changed": "delivery change",
        "wrong_number": "wrong number", "not_ordered": "not ordered",
        "invalid_number": "invalid number", "informed": "informed",
        "stopped": "no longer needed",
    },
}  # fmt: skip
OUTCOME_WORDS: dict[str, dict[str, str]] = {
    "ru": {
        "confirmed": "подтвердил", "rejected": "отказался", "no_answer": "не ответил",
        "busy": "занято", "failed": "сбой звонка", "unclear": "ответ неясен",
        "dnc": "просил не звонить", "later": "просил перезвонить", "operator": "к оператору",
        "machine": "автоответчик", "changed": "просит изменить доставку",
        "wrong_number": "чужой номер", "not_ordered": "не заказывал",
        "unreachable": "абонент недоступен", "invalid_number": "номер не существует",
        "call_rejected": "сбросил вызов", "trunk_limit": "линия перегружена",
        "informed": "выслушал сообщение",
    },
    "en": {
        "confirmed": "confirmed", "rejected": "rejected", "no_answer": "no answer",
        "busy": "busy", "failed": "failed", "unclear": "unclear",
        "dnc": "asked not to be called", "later": "call back later", "operator": "to operator",
        "machine": "answering machine", "changed": "delivery change",
        "wrong_number": "wrong number", "not_ordered": "not ordered",
        "unreachable": "unreachable", "invalid_number": "invalid number",
        "call_rejected": "call rejected", "trunk_limit": "trunk at its limit",
        "informed": "heard the message",
    },
}  # fmt: skip

# Call purposes shipped with the robot (robot.core.purposes); a shop's own purpose is shown
# by its name.
PURPOSE_WORDS: dict[str, dict[str, str]] = {
    "ru": {
        "confirm": "подтверждение заказа", "pickup_ready": "заказ в пункте выдачи",
        "courier_slot": "время доставки курьером", "storage_ending": "срок хранения истекает",
        "other": "другие",
    },
    "en": {
        "confirm": "order confirmation", "pickup_ready": "ready for pickup",
        "courier_slot": "courier time slot", "storage_ending": "storage ending",
        "other": "other",
    },
}  # fmt: skip

RU: dict[str, str] = {
    # robot.core.policy
    "policy.final": "заказ уже в статусе «{status:status}»",
    "policy.final_why": "заказ уже в статусе «{status:status}» ({why:msg})",
    "policy.in_flight": "идёт звонок (попытка {n})",
    "policy.answered": "{answer:msg}: {at:time}",
    "policy.dnc_flag": "в заказе запрещены звонки (флаг do_not_call)",
    "policy.dnc_listed": "номер в стоп-листе",
    "policy.unknown_purpose": "для магазина заказа не задана цель звонка {purpose}",
    "policy.exhausted": "попытки исчерпаны: сделано {made} из {max}",
    "policy.exhausted_last": "попытки исчерпаны: сделано {made} из {max}, последний звонок: "
    "{last:msg}",
    "policy.exhausted_outcome": "попытки исчерпаны: {same} звонков с исходом «{outcome:outcome}»,"
    " допускается не больше {max}",
    "policy.retry_step": "{what:msg} ({at:time}): повтор через {delay:dur}",
    "policy.callback_step": "{what:msg} ({at:time}): перезвонить через {delay:dur}",
    "policy.gap_step": "последний звонок на этот номер был {at:time}: между звонками на один "
    "номер не меньше {gap:dur}",
    "policy.daily_cap": "на этот номер {day:day} уже {count} звонков, в день не больше {cap}",
    "policy.attempt": "попытка {n} из {max}",
    "policy.call_now": "можно звонить: у клиента {time} ({zone}, {source:msg}), в пределах часов "
    "звонков {hours}; {attempt:msg}",
    "policy.wait": "ждать до {at:time}, часовой пояс клиента {zone} ({source:msg}): "
    "{steps:list}; {attempt:msg}",
    "answer.confirmed": "клиент подтвердил",
    "answer.rejected": "клиент отказался",
    "answer.dnc": "клиент просил больше не звонить",
    "answer.operator": "клиента соединили с оператором",
    "answer.changed": "клиент просит изменить доставку",
    "answer.wrong_number": "ответил не клиент (чужой номер)",
    "answer.not_ordered": "клиент говорит, что не заказывал",
    "answer.invalid_number": "оператор связи: номер не существует",
    "retry.confirmed": "клиент подтвердил",
    "retry.rejected": "клиент отказался",
    "retry.no_answer": "не ответили",
    "retry.busy": "занято",
    "retry.failed": "звонок не удался",
    "retry.unclear": "ответ неясен",
    "retry.dnc": "клиент просил больше не звонить",
    "retry.later": "клиент просил перезвонить позже",
    "retry.operator": "передан оператору",
    "retry.machine": "автоответчик",
    "retry.changed": "клиент просит изменить доставку",
    "retry.wrong_number": "чужой номер",
    "retry.not_ordered": "клиент говорит, что не заказывал",
    "retry.unreachable": "телефон выключен или вне сети",
    "retry.invalid_number": "номер не существует",
    "retry.call_rejected": "клиент сбросил вызов",
    "retry.trunk_limit": "линия была перегружена",
    "retry.informed": "клиент выслушал сообщение",
    # robot.core.calling_hours
    "zone.order": "из заказа",
    "zone.phone": "по номеру телефона",
    "zone.default": "по умолчанию магазина",
    "hours.before": "там {now}, до начала часов звонков {hours}",
    "hours.after": "там {now}, после окончания часов звонков {hours}",
    "hours.holiday": "{day:day} праздник",
    "hours.closed": "по {wd:weekdays} не звоним",
    "hours.none": "в ближайший год нет времени для звонков: проверьте часы, дни недели и праздники",
    "hours.cap_none": "в ближайший год нет дня, где не превышен дневной лимит звонков",
    # SERVER_EN
    "store.dnc_flag": "в заказе запрещены звонки (флаг do_not_call)",
    "store.dnc_listed": "номер в стоп-листе",
    "store.lease_lost": "обработчик пропал, аренда истекла",
    "order.updated": "заказ изменён",
    "order.retry_by": "позвонить сейчас: {user}",
    "order.cancelled_shop": "отменён магазином",
    "order.cancelled_by": "отменил супервизор {user}",
    "order.hangup_requested": "запрошено завершение звонка",
    "order.final_status": "заказ в статусе «{status:status}»",
    "order.final_status_why": "заказ в статусе «{status:status}»: {why:msg}",
    "order.already_final": "заказ {id} уже в статусе «{status:status}»",
    "call.not_started": "звонок не начался",
    "call.answered": "ответили",
    "call.busy": "занято",
    "call.no_answer": "не ответили",
    "call.rang_out": "гудки без ответа",
    "call.declined": "сброшен до ответа",
    "call.congestion": "сеть перегружена",
    "call.originate_failed": "не удалось позвонить (код {code})",
    "call.amd": "автоответчик (AMD: {cause})",
    "call.asterisk_lost": "потеряна связь с Asterisk {server}",
    "call.dtmf": "нажата клавиша {digit}",
    "call.said": "сказал: {text}",
    "call.said_nothing": "ничего понятного не сказал",
    "call.silence": "молчание",
    "call.hung_up": "клиент положил трубку",
    "call.too_long": "звонок превысил максимальную длительность",
    "call.internal": "внутренняя ошибка: {error}",
    "call.hung_up_because": "{reason:msg}; звонок завершён: {why:msg}",
    "call.media_lost": "потеряно соединение с медиапотоком",
    "call.carrier": "{meaning:msg}: {said}",
    "carrier.busy": "линия занята",
    "carrier.unreachable": "телефон выключен или вне зоны сети",
    "carrier.invalid_number": "такого номера нет (не выделен, сменился или набран не полностью)",
    "carrier.call_rejected": "клиент отклонил вызов",
    "carrier.trunk_limit": "линия оператора отказала из-за нагрузки (лимит каналов, перегрузка)",
    "carrier.no_answer": "гудки без ответа",
    "carrier.failed": "сбой сети или кодека",
    "dnc.asked_in_call": "просил во время звонка {call_id} (заказ {order_id})",
    "dnc.by_supervisor": "супервизор {user}",
    "dnc.not_listed": "номера {phone} нет в стоп-листе",
    "err.no_order": "заказа «{id}» нет",
    "err.not_retryable": "заказ в статусе «{status:status}»; позвонить снова можно только "
    "заказу в очереди или с исчерпанными попытками",
    "err.limit_number": "лимит должен быть числом",
    "err.offset_limit": "смещение и лимит должны быть целыми числами",
    "err.unknown_status": "неизвестный статус",
    "err.number_or_null": "{name}: нужно число или пусто",
    "err.max_range": "должно быть от 0 до 10000",
    "err.cps_range": "должно быть больше 0 и не больше 1000",
    "err.not_json": "тело запроса не JSON",
    "err.not_json_object": "тело запроса должно быть JSON-объектом",
    "err.csrf": "нет или неверный CSRF-токен; обновите страницу",
    "err.admin_only": "нужна роль администратора",
    "err.no_recording": "у этого звонка нет записи",
    "err.csv_utf8": "CSV должен быть в кодировке UTF-8",
    "err.store_down": "хранилище заказов недоступно, повторите позже",
    "err.unauthorized": "войдите в систему",
    "err.bad_date": "{name}: нужна дата (ГГГГ-ММ-ДД)",
    "err.bad_range": "период должен заканчиваться после начала и быть не длиннее {days} дней",
    "err.unknown_value": "неизвестное значение {name}: {value}",
    "err.not_reopenable": "заказ в статусе «{status:status}», позвонить снова нельзя: {why:msg}",
    "err.reopen_attempts": "число попыток — целое от 1 до {max}",
    "reopen.confirmed": "клиент уже подтвердил заказ",
    "reopen.cancelled": "магазин отменил заказ",
    "reopen.dnc": "звонки этому клиенту запрещены",
    "reopen.dnc_listed": "телефон в стоп-листе",
    "reopen.invalid_number": "такого номера не существует",
    "reopen.not_final": "заказ ещё не завершён",
    "order.reopened_by": "{user} открыл заказ снова: ещё попыток — {n}",
    "err.call_in_flight": "по заказу {id} сейчас идёт звонок",
    "err.name_or_address": "укажите имя или адрес",
    "err.followup_taken": "заказом {id} уже занимается {user}",
    "err.followup_not_needed": "заказ {id} не требует работы человека",
    "err.note_length": "заметка — от 1 до {max} символов",
    "err.attempts_form": "попытки: число N, диапазон N-M или N+",
    "err.not_a_number": "{name}: нужно число",
    "err.csv_too_large": "CSV больше 8 МБ",
    "phone.empty": "пусто",
    "phone.not_a_number": "это не номер телефона ({detail})",
    "phone.not_possible": "такого номера быть не может",
    "phone.not_valid": "недействительный номер телефона",
}

_WD_ABBR_RU = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
_WEEKDAYS_RU = ("понедельникам", "вторникам", "средам", "четвергам", "пятницам", "субботам",
                "воскресеньям")  # fmt: skip


def _time_ru(t: datetime, zone: ZoneInfo) -> str:
    return describe_local(t, zone, _WD_ABBR_RU, "%d.%m.%Y")


def _dur_ru(d: timedelta) -> str:
    total = int(d.total_seconds())
    if total <= 0:
        return "0 с"
    out = []
    for unit, size in (("д", 86400), ("ч", 3600), ("мин", 60), ("с", 1)):
        n, total = divmod(total, size)
        if n:
            out.append(f"{n} {unit}")
    return " ".join(out)


def _day_ru(d: date) -> str:
    return f"{d:%d.%m.%Y}"


def _word(table: dict[str, dict[str, str]], lang: str) -> Any:
    return lambda v: table[lang].get(v, v)


ALL_EN: dict[str, str] = {**EN, **SERVER_EN}
CATALOG = Catalog(ALL_EN)
FORMATS: dict[str, Formats] = {
    "en": Formats(ALL_EN, outcome=_word(OUTCOME_WORDS, "en"), reparse=CATALOG.parse),
    "ru": Formats(
        RU,
        time=_time_ru,
        dur=_dur_ru,
        day=_day_ru,
        weekdays=_WEEKDAYS_RU.__getitem__,
        status=_word(STATUS_WORDS, "ru"),
        outcome=_word(OUTCOME_WORDS, "ru"),
        reparse=CATALOG.parse,
    ),
}


def message_keys() -> list[str]:
    """Every server message key (core, adapters, web)."""
    return sorted(ALL_EN)


def localize(text: str) -> dict[str, str] | None:
    """``{"key", "ru", "en"}`` for a server sentence, or None if no key matches it."""
    msg = text if isinstance(text, Text) else CATALOG.parse(text)
    if msg is None:
        return None
    return {"key": msg.key, **{lang: msg.render(FORMATS[lang]) for lang in LANGS}}


def annotate(doc: Any) -> Any:
    """Add ``<field>_i18n`` beside every translatable string field, at any depth (in place)."""
    for d in _dicts(doc):
        for name in I18N_FIELDS:
            value = d.get(name)
            if isinstance(value, str) and value and f"{name}_i18n" not in d:
                found = localize(value)
                if found is not None:
                    d[f"{name}_i18n"] = found
    return doc


def _dicts(doc: Any) -> Iterator[dict[str, Any]]:
    if isinstance(doc, dict):
        yield doc
        for v in doc.values():
            yield from _dicts(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _dicts(v)


@web.middleware
async def translate_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Supervisors' JSON answers get ``*_i18n`` texts (see the module docstring)."""
    resp = await handler(request)
    if (
        not isinstance(resp, web.Response)
        or resp.content_type != "application/json"
        or not request.path.startswith(("/dashboard/api/", "/api/v1/"))
        or COOKIE not in request.cookies
        or resp.body is None
    ):
        return resp
    try:
        doc = json.loads(resp.body)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return resp
    resp.body = json.dumps(annotate(doc), ensure_ascii=False).encode()
    return resp


def browser_catalog() -> dict[str, Any]:
    """What ``/dashboard/i18n.js`` gives the browser: status, outcome and purpose names."""
    out: dict[str, dict[str, str]] = {lang: {} for lang in LANGS}
    for lang in LANGS:
        out[lang].update({f"status.{k}": v for k, v in STATUS_WORDS[lang].items()})
        out[lang].update({f"outcome.{k}": v for k, v in OUTCOME_WORDS[lang].items()})
        out[lang].update({f"purpose.{k}": v for k, v in PURPOSE_WORDS[lang].items()})
    return out


async def i18n_script(request: web.Request) -> web.StreamResponse:
    body = "window.I18N_SERVER = " + json.dumps(browser_catalog(), ensure_ascii=False) + ";\n"
    return web.Response(
        text=body, content_type="application/javascript", headers={"Cache-Control": "no-cache"}
    )


def check_words() -> list[str]:
    """Statuses and outcomes without a word in some language (tests, and a startup check)."""
    missing = []
    for lang in LANGS:
        missing += [f"{lang}: status {s.value}" for s in OrderStatus
                    if s.value not in STATUS_WORDS[lang]]  # fmt: skip
        missing += [f"{lang}: outcome {o.value}" for o in Outcome
                    if o.value not in OUTCOME_WORDS[lang]]  # fmt: skip
    return missing


# -- the login page ----------------------------------------------------------------------------

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
