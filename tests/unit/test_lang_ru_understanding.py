"""Russian understanding beyond yes/no (robot.core.nlu): intents by structure, the change a
customer asks for, and the development / held-out sets scored the way ``robot eval`` does."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from robot.cli import main
from robot.core.lang_ru import PACK, understand
from robot.core.models import Intent

DATA = Path(__file__).resolve().parents[1] / "data"
TUESDAY = date(2026, 12, 1)

INTENTS = [
    # "yes, but ...": the condition wins
    ("да, только можно не завтра, а в четверг", Intent.CHANGE),
    ("ага, но адрес поменялся", Intent.CHANGE),
    ("да, но я ещё подумаю", Intent.UNKNOWN),
    ("да, а когда привезут?", Intent.QUESTION),
    ("занят, но подтверждаю", Intent.YES),
    # phone answering and fillers do not make or change an answer
    ("алло, да, слушаю, да, всё верно", Intent.YES),
    ("да, слушаю", Intent.UNKNOWN),
    ("да, я вас слушаю", Intent.UNKNOWN),
    ("да, это я", Intent.UNKNOWN),
    ("да, подождите", Intent.UNKNOWN),
    ("ну слушайте короче да привозите", Intent.YES),
    ("да?", Intent.REPEAT),
    # machines
    ("здравствуйте, вы дозвонились до Ивана, оставьте сообщение после гудка", Intent.MACHINE),
    ("я виртуальный помощник, скажите, по какому вопросу вы звоните", Intent.MACHINE),
    ("секретарь слушает, кто звонит?", Intent.MACHINE),
    ("абонент не может ответить", Intent.MACHINE),
    ("да да оставьте сообщение после сигнала", Intent.MACHINE),
    # wrong number, not ordered
    ("вы не туда попали", Intent.WRONG_NUMBER),
    ("здесь такого нет", Intent.WRONG_NUMBER),
    ("я не Иван", Intent.WRONG_NUMBER),
    ("это не мой номер", Intent.WRONG_NUMBER),
    ("я ничего не покупал", Intent.NOT_ORDERED),
    ("заказывала не я", Intent.NOT_ORDERED),
    ("не хочу заказывать", Intent.NO),  # not a past order: a refusal
    # questions: about the delivery; about anything else they are unknown
    ("а курьер заранее позвонит?", Intent.QUESTION),
    ("курьер позвонит перед приездом", Intent.QUESTION),
    ("сколько стоит доставка", Intent.QUESTION),
    ("можно оплатить картой", Intent.QUESTION),
    ("какая погода завтра", Intent.UNKNOWN),
    ("какой заказ?", Intent.REPEAT),
    # a time for a call is later, a time for the delivery is change
    ("перезвоните вечером", Intent.LATER),
    ("позвоните завтра", Intent.LATER),
    ("привезите вечером", Intent.CHANGE),
    ("через час", Intent.LATER),
    ("через три дня", Intent.CHANGE),
    # recognizer style: glued, misspelt, no punctuation
    ("навторник можно", Intent.CHANGE),
    ("дапотверждаю", Intent.YES),
    ("вы ошиблиись номером", Intent.WRONG_NUMBER),
]


@pytest.mark.parametrize(("text", "intent"), INTENTS)
def test_intent(text: str, intent: Intent) -> None:
    assert PACK.understand(text, TUESDAY).intent is intent


def _t(s: str | None) -> time | None:
    return time.fromisoformat(s) if s else None


CHANGES = [
    # text, date, after, before, address
    ("в воскресенье", "2026-12-06", None, None, False),
    ("на вторник", "2026-12-08", None, None, False),  # today is Tuesday: a week later
    ("в следующий вторник", "2026-12-08", None, None, False),
    ("через три дня", "2026-12-04", None, None, False),
    ("через неделю", "2026-12-08", None, None, False),
    ("двадцатого декабря", "2026-12-20", None, None, False),
    ("пятого января", "2027-01-05", None, None, False),  # next year
    ("5 января", "2027-01-05", None, None, False),
    ("на 25-го", "2026-12-25", None, None, False),
    ("после восьми вечера", None, "20:00", None, False),
    ("с девяти до часу", None, "09:00", "13:00", False),
    ("с шести до девяти", None, "18:00", "21:00", False),
    ("до одиннадцати", None, None, "11:00", False),
    ("ближе к вечеру", None, "17:00", None, False),
    ("давайте утром", None, "09:00", "12:00", False),
    ("в субботу вечером после восьми", "2026-12-05", "20:00", None, False),
    ("после 18:30", None, "18:30", None, False),
    ("в полвосьмого вечера", None, "19:30", "19:30", False),
    ("новый адрес", None, None, None, True),
    ("к маме, а не ко мне", None, None, None, True),
    ("не завтра, а послезавтра", "2026-12-03", None, None, False),
    ("завтра меня не будет, давайте в пятницу", "2026-12-04", None, None, False),
    ("можно перенести на другой день", None, None, None, False),
]


@pytest.mark.parametrize(("text", "day", "after", "before", "address"), CHANGES)
def test_change(text: str, day: str | None, after: str | None, before: str | None, address: bool):
    reply = understand(text, TUESDAY)
    assert reply.intent is Intent.CHANGE
    assert reply.change is not None
    got = (reply.change.date, reply.change.after, reply.change.before, reply.change.address)
    want = (date.fromisoformat(day) if day else None, _t(after), _t(before), address)
    assert got == want
    assert reply.change.text == text


def test_without_today_days_stay_unresolved() -> None:
    reply = understand("да, только в субботу после шести")
    assert reply.intent is Intent.CHANGE and reply.change is not None
    assert reply.change.date is None and reply.change.after == time(18)


def test_year_rolls_over_from_late_december() -> None:
    assert understand("в четверг", date(2026, 12, 28)).change.date == date(2026, 12, 31)  # type: ignore[union-attr]
    assert understand("на третье", date(2026, 12, 28)).change.date == date(2027, 1, 3)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "accuracy", "false_yes", "change_exact"),
    [
        # The development set (scripts/gen_intents_ru.py) is what the rules were tuned on;
        # the held-out set was written before and not tuned on.
        ("intents_ru_dev.tsv", 0.98, 0.005, 0.97),
        ("intents_ru_dev_written.tsv", 0.97, 0.01, 0.9),  # hand-written, tuned on
        ("intents_ru_heldout.tsv", 0.95, 0.01, 0.9),
    ],
)
def test_sets(capsys, name: str, accuracy: float, false_yes: float, change_exact: float) -> None:
    import json

    assert main(["eval", "--json", "--details", "--text", str(DATA / name), "--lang", "ru"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accuracy"] >= accuracy, out["errors"]
    assert out["false_yes_rate"] <= false_yes, out["errors"]
    assert out["confusion"]["machine"]["yes"] == 0
    assert out["change_exact"] >= change_exact, out["errors"]
    assert out["n"] >= (1500 if name == "intents_ru_dev.tsv" else 140)


def test_dev_set_covers_every_intent() -> None:
    labels = [
        line.split("\t")[1] for line in (DATA / "intents_ru_dev.tsv").read_text().splitlines()
    ]
    assert {i.value for i in Intent} <= set(labels[1:])
