"""Call purposes as data: what a call says, which answers it takes and what each one gives, how
it is retried and when it may ring. Validated here (pydantic, unknown keys are errors naming the
key); the wording is planned by ``robot.core.purpose_prompts``, the dialog is chosen by
``Order.purpose`` (``robot.core.dialog``), and the policy applies a purpose's retry rules and
hours to its calls (:meth:`Purpose.policy`).

A purpose file is JSON or YAML: one purpose (an object with ``name``) or ``{"purposes": [...]}``.
The built-in ones are ``robot/core/purpose_files/*.yaml`` (confirm, pickup_ready, courier_slot,
storage_ending). A shop's file (``ShopConfig.purpose_files``) adds purposes or rewords one: a
purpose with the name of an existing one is merged over it key by key (``say`` prompt by prompt
and language by language), so a shop that only rewords the pickup message writes just that::

    name: pickup_ready
    say:
      intro:
        ru:
          - "{greeting}"
          - "Ваш заказ {order_id} можно забрать в пункте выдачи {pickup_point}."

Keys of a purpose:

- ``name`` (a-z, 0-9, _), ``kind``: ``confirm`` (a question: yes / no / change) or ``inform``
  (a message; outcome ``informed`` once it was heard to its end or the confirming key pressed),
  ``description``.
- ``say``: prompt (``robot.core.prompt_pieces.Prompt`` values: intro, repeat_order, reprompt,
  goodbye_informed, goodbye_confirmed, ...) -> language -> lines. A line is a template with the
  order's fields in braces (``robot.core.purpose_prompts.FIELDS``), or a list of templates of
  which the first whose fields the order has is said. A prompt the purpose does not say is the
  built-in one (an inform purpose's reprompt and repeat fall back to its own intro).
- ``answers``: intent (``robot.core.models.Intent``: yes, no, dnc, operator, later, repeat,
  change, question, wrong_number, not_ordered, unknown) -> an outcome (``Outcome`` value), or
  ``repeat`` (say the message again), ``question`` (answer from the order, then ask again),
  ``change`` (read the requested day and time back, as ``confirm`` does). An intent not listed
  is an answer the robot cannot use (reprompt; for an inform purpose whose message was heard,
  ``informed``). A machine is always handled as a machine.
- ``keys``: digit -> intent, for key presses.
- ``day``: the order's field that holds the day the call is about (``delivery_date``,
  ``slot_from``, ``storage_until``): a "change" to that day and nothing else is a yes.
- ``hours``, ``weekdays``, ``max_attempts``, ``retry``: the call policy's keys
  (``robot.core.policy_config``), replacing the installation's for this purpose's calls.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from robot.core.models import PURPOSE_NAME, SUPPORTED_LANGUAGES, Intent, Order, Outcome
from robot.core.phones import phone_timezones
from robot.core.policy_config import PolicyConfig, RetryOutcome
from robot.core.prompt_pieces import Prompt

BUILTIN_DIR = Path(__file__).with_name("purpose_files")
CONFIRM = "confirm"
# What an answer may do besides ending the call with an outcome.
ACTIONS = ("repeat", "question", "change")
# Outcomes a dialog can end with (the carrier's outcomes come from the network, not a reply).
_ANSWER_OUTCOMES = frozenset(
    {
        Outcome.CONFIRMED, Outcome.REJECTED, Outcome.DNC, Outcome.LATER, Outcome.OPERATOR,
        Outcome.CHANGED, Outcome.WRONG_NUMBER, Outcome.NOT_ORDERED, Outcome.UNCLEAR,
        Outcome.INFORMED,
    }
)  # fmt: skip
_POLICY_KEYS = ("hours", "weekdays", "max_attempts", "retry")
Line = str | list[str]
# The order's fields a line may say (robot.core.purpose_prompts says them).
FIELDS = {
    "greeting": "hello, the customer's name and who is calling",
    "customer_name": "the customer's name",
    "shop_name": "the shop's name",
    "order_id": "the order number, read in groups",
    "amount": "the order's sum with its currency",
    "items": "what was ordered (items_summary)",
    "delivery_date": "the delivery day: завтра, двенадцатого декабря",
    "pickup_point": "the pickup point's address",
    "storage_until": "the last day of storage",
    "slot": "the courier's day and time: завтра, с десяти до четырнадцати часов",
    "slot_day": "the courier's day",
    "slot_from": "the slot's start: десяти",
    "slot_to": "the slot's end with its unit: четырнадцати часов",
}
TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")


def check_template(template: str) -> None:
    """ValueError naming an unknown field or a stray brace."""
    for name in TEMPLATE_FIELD.findall(template):
        if name not in FIELDS:
            raise ValueError(f"unknown field {{{name}}}; the fields are {', '.join(FIELDS)}")
    rest = TEMPLATE_FIELD.sub("{}", template)
    if "{" in rest.replace("{}", "") or "}" in rest.replace("{}", ""):
        raise ValueError("a brace without its pair: fields are written {name}")
    depth = 0
    for ch in rest:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if depth not in (0, 1):
            raise ValueError("brackets do not nest and close what they open: [ ... {field} ]")
    if depth:
        raise ValueError("a bracket without its pair: an optional part is [ ... {field} ]")
    for group in re.findall(r"\[([^\[\]]*)\]", rest):
        if "{}" not in group:
            raise ValueError("an optional part [ ... ] must hold a field")


class PurposeError(ValueError):
    """A purpose file failed validation; ``where`` names the file, purpose and key."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class UnknownPurpose(KeyError):
    """An order names a purpose that neither the built-in ones nor its shop's files define."""


def customer_time(order: Order, moment: datetime) -> datetime:
    """``moment`` on the customer's clock: the order's zone, else the phone number's (when it
    has exactly one), else as the CRM wrote it."""
    if order.timezone:
        return moment.astimezone(ZoneInfo(order.timezone))
    zones = phone_timezones(order.phone)
    return moment.astimezone(ZoneInfo(zones[0])) if len(zones) == 1 else moment


class Purpose(BaseModel):
    """One call purpose (see the module docstring for its keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["confirm", "inform"]
    description: str = ""
    say: dict[Prompt, dict[str, list[Line]]] = Field(default_factory=dict)
    answers: dict[Intent, str]
    keys: dict[str, Intent] = Field(default_factory=dict)
    day: Literal["delivery_date", "slot_from", "storage_until"] = "delivery_date"
    hours: str | None = None
    weekdays: dict[str, str | None] | None = None
    max_attempts: int | None = Field(default=None, ge=1)
    retry: dict[str, Any] = Field(default_factory=dict)
    _policy: PolicyConfig = PrivateAttr()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not PURPOSE_NAME.match(v):
            raise ValueError("must be a purpose name: a-z, 0-9, _ (e.g. pickup_ready)")
        return v

    @field_validator("say")
    @classmethod
    def _say(cls, v: dict[Prompt, dict[str, list[Line]]]) -> dict[Prompt, dict[str, list[Line]]]:
        for prompt, by_lang in v.items():
            for lang, lines in by_lang.items():
                if lang not in SUPPORTED_LANGUAGES:
                    raise ValueError(
                        f"{prompt.value}.{lang}: unknown language, use one of "
                        + ", ".join(SUPPORTED_LANGUAGES)
                    )
                for i, line in enumerate(lines):
                    for template in [line] if isinstance(line, str) else line:
                        try:
                            check_template(template)
                        except ValueError as e:
                            raise ValueError(f"{prompt.value}.{lang}[{i}]: {e}") from None
        return v

    @field_validator("answers", "keys", mode="before")
    @classmethod
    def _yaml_booleans(cls, v: Any) -> Any:
        """YAML 1.1 reads a bare yes / no as true / false: take them as the intents."""
        if not isinstance(v, dict):
            return v
        word = {True: "yes", False: "no"}
        return {
            word[k] if isinstance(k, bool) else k: word[x] if isinstance(x, bool) else x
            for k, x in v.items()
        }

    @field_validator("answers")
    @classmethod
    def _answers(cls, v: dict[Intent, str]) -> dict[Intent, str]:
        allowed = sorted(o.value for o in _ANSWER_OUTCOMES) + list(ACTIONS)
        for intent, answer in v.items():
            if intent is Intent.MACHINE:
                raise ValueError("machine: a machine is always handled as a machine")
            if answer not in allowed:
                raise ValueError(f"{intent.value}: {answer!r} is not one of {', '.join(allowed)}")
        return v

    @field_validator("keys")
    @classmethod
    def _keys(cls, v: dict[str, Intent]) -> dict[str, Intent]:
        for digit in v:
            if digit not in "0123456789*#" or len(digit) != 1:
                raise ValueError(f"{digit!r}: a key is one of 0-9, * and #")
        return v

    def model_post_init(self, context: Any, /) -> None:
        doc = {k: getattr(self, k) for k in _POLICY_KEYS if getattr(self, k)}
        try:
            self._policy = PolicyConfig.model_validate(doc)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ())) or "policy"
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            raise ValueError(f"{where}: {msg}") from None
        if self.kind == "inform" and Prompt.INTRO not in self.say:
            raise ValueError("say.intro: an inform purpose must say its message")

    @property
    def informing(self) -> bool:
        return self.kind == "inform"

    def day_of(self, order: Order) -> date | None:
        """The day the call is about (``day``), on the customer's calendar."""
        if self.day == "slot_from":
            return customer_time(order, order.slot_from).date() if order.slot_from else None
        return order.storage_until if self.day == "storage_until" else order.delivery_date

    def answer(self, intent: Intent) -> str | None:
        """What ``intent`` does here: an outcome value, one of :data:`ACTIONS`, or None."""
        return self.answers.get(intent)

    def wording(self, prompt: Prompt, lang: str) -> tuple[Prompt, list[Line]] | None:
        """The purpose's own lines for ``prompt`` in ``lang`` and the prompt they are written
        under (an inform purpose's reprompt is its repeat, else its intro), or None: the
        built-in wording."""
        chain = [prompt]
        if self.informing:  # an inform purpose says nothing of the confirm call's question
            chain += {
                Prompt.REPROMPT: [Prompt.REPEAT_ORDER, Prompt.INTRO],
                Prompt.REPROMPT_2: [Prompt.REPROMPT, Prompt.REPEAT_ORDER, Prompt.INTRO],
                Prompt.REPEAT_ORDER: [Prompt.INTRO],
            }.get(prompt, [])
        for name in chain:
            if name in self.say and lang in self.say[name]:
                return name, self.say[name][lang]
        return None

    def policy(self, base: PolicyConfig) -> PolicyConfig:
        """``base`` with this purpose's calling hours, attempts and retry rules. Its ``hours``
        apply to every day (``weekdays`` then only as given here); holidays stay."""
        ov, update = self._policy, dict[str, Any]()
        if self.hours is not None:
            update["hours"] = ov.hours
            update["weekdays"] = ov.weekdays if self.weekdays is not None else {}
        elif self.weekdays is not None:
            update["weekdays"] = ov.weekdays
        if self.max_attempts is not None:
            update["max_attempts"] = ov.max_attempts
        if self.retry:
            given = {RetryOutcome(k): ov.retry[RetryOutcome(k)] for k in self.retry}
            update["retry"] = {**base.retry, **given}
        return base.model_copy(update=update) if update else base


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """A shop's purpose over an existing one: keys replace, ``say`` merges prompt by prompt and
    language by language."""
    out = {**base, **over}
    if isinstance(base.get("say"), dict) and isinstance(over.get("say"), dict):
        say = {k: dict(v) if isinstance(v, dict) else v for k, v in base["say"].items()}
        for prompt, by_lang in over["say"].items():
            if isinstance(by_lang, dict) and isinstance(say.get(prompt), dict):
                say[prompt] = {**say[prompt], **by_lang}
            else:
                say[prompt] = by_lang
        out["say"] = say
    return out


def _documents(doc: Any, source: str) -> list[dict[str, Any]]:
    if isinstance(doc, dict) and "purposes" in doc:
        if set(doc) != {"purposes"} or not isinstance(doc["purposes"], list):
            raise PurposeError(source, 'a file is one purpose or {"purposes": [...]} only')
        items = doc["purposes"]
    else:
        items = [doc]
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise PurposeError(f"{source}: [{i}]", "a purpose must be an object")
        if not isinstance(item.get("name"), str):
            raise PurposeError(f"{source}: [{i}].name", "is required")
    return items


def parse_purposes(
    doc: Any, *, source: str = "purposes", base: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """The purpose documents of one file, each merged over ``base``'s document of the same name
    and validated; PurposeError naming the file, purpose and key on the first bad one. Returns
    name -> merged document (what :func:`build` turns into a :class:`Purpose`)."""
    out: dict[str, dict[str, Any]] = {}
    for raw in _documents(doc, source):
        name = raw["name"]
        if name in out:
            raise PurposeError(f"{source}: {name}", "defined twice")
        merged = _merge(base[name], raw) if base and name in base else dict(raw)
        build(merged, source=source)
        out[name] = merged
    return out


def build(doc: Mapping[str, Any], *, source: str = "purposes") -> Purpose:
    """One validated purpose; PurposeError naming ``source``, the purpose and the key."""
    name = doc.get("name", "?")
    try:
        return Purpose.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "[key]")
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = "unknown key"
        elif err.get("type") == "missing":
            msg = "is required"
        raise PurposeError(f"{source}: {name}" + (f".{loc}" if loc else ""), msg) from None


def read_document(path: Path) -> Any:
    """A JSON or YAML file's document (by its suffix; YAML is a superset of JSON)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


def _load_docs(
    paths: Iterable[str | Path], base: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    docs = {k: dict(v) for k, v in base.items()}
    for path in paths:
        path = Path(path)
        try:
            doc = read_document(path)
        except OSError as e:
            raise PurposeError(str(path), f"cannot read: {e.strerror or e}") from None
        except Exception as e:  # json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError
            raise PurposeError(str(path), f"not valid JSON or YAML{_where(e)}") from None
        docs.update(parse_purposes(doc, source=str(path), base=docs))
    return docs


def _where(error: Exception) -> str:
    """Where a parser stopped, without quoting the file (it may not be a purpose file at all)."""
    if isinstance(error, json.JSONDecodeError):
        return f" (line {error.lineno}, column {error.colno}): {error.msg}"
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        return f" (line {mark.line + 1}, column {mark.column + 1}): {getattr(error, 'problem', '')}"
    return ""


@functools.cache
def _builtin_docs() -> dict[str, dict[str, Any]]:
    return _load_docs(sorted(BUILTIN_DIR.glob("*.yaml")), {})


@functools.cache
def builtin_purposes() -> dict[str, Purpose]:
    """The purposes shipped with Dozvon: confirm, pickup_ready, courier_slot, storage_ending."""
    return {name: build(doc, source="builtin") for name, doc in _builtin_docs().items()}


def load_purposes(paths: Iterable[str | Path]) -> dict[str, Purpose]:
    """The built-in purposes with these files' purposes added or merged over them, in order."""
    docs = _load_docs(paths, _builtin_docs())
    return {name: build(doc, source=name) for name, doc in docs.items()}


def confirm_purpose() -> Purpose:
    return builtin_purposes()[CONFIRM]


def purpose_policy(
    order: Order, base: PolicyConfig, catalog: Mapping[str, Purpose] | None = None
) -> PolicyConfig:
    """``base`` with the rules of the order's purpose (unchanged for a purpose not defined)."""
    found = (catalog if catalog is not None else builtin_purposes()).get(order.purpose)
    return found.policy(base) if found is not None else base


def purpose_for(order: Order, catalog: Mapping[str, Purpose] | None = None) -> Purpose:
    """The purpose an order's call is about, from ``catalog`` (default: the built-in ones)."""
    found = (catalog if catalog is not None else builtin_purposes()).get(order.purpose)
    if found is None:
        raise UnknownPurpose(f"order {order.order_id}: no purpose {order.purpose!r}")
    return found
