"""The dialog chosen by the order's purpose (robot.core.dialog with robot.core.purposes): an
inform purpose is ``informed`` once its message was heard to its end or the confirming key was
pressed; repeat, operator and do-not-call work as in the confirm call; the courier's slot is
confirmed, rejected or changed like an order."""

from __future__ import annotations

from datetime import date, time

from robot.core.dialog import (
    BargeIn,
    CallerHungUp,
    Dialog,
    Finish,
    Hangup,
    Heard,
    KeyPressed,
    Listen,
    ListenTimeout,
    MediaLost,
    Play,
    PromptDone,
    Started,
    StopPrompt,
    Transfer,
)
from robot.core.langpack import RequestedChange
from robot.core.models import Intent, Outcome
from robot.core.prompts import Prompt
from robot.core.purposes import build, builtin_purposes

PICKUP = builtin_purposes()["pickup_ready"]
COURIER = builtin_purposes()["courier_slot"]
SLOT_DAY = date(2026, 12, 2)


def run(dialog: Dialog, *events) -> list:
    out: list = []
    for e in events:
        out += dialog.handle(e)
    return out


def finish_of(cmds: list) -> Finish:
    [f] = [c for c in cmds if isinstance(c, Finish)]
    return f


def heard_message(**kw) -> Dialog:
    d = Dialog(purpose=PICKUP, listen_timeout_s=4, **kw)
    assert run(d, Started(), PromptDone()) == [Play(Prompt.INTRO), Listen(4)]
    assert d.heard
    return d


def test_silence_after_the_message_is_informed_with_thanks() -> None:
    d = heard_message()
    assert run(d, ListenTimeout()) == [Play(Prompt.GOODBYE_INFORMED)]
    f = finish_of(run(d, PromptDone()))
    assert f.outcome is Outcome.INFORMED and f.reason.startswith("heard the message to its end")
    assert d.reprompts == 0  # a message heard is not asked again


def test_hanging_up_after_the_message_is_informed() -> None:
    d = heard_message()
    f = finish_of(run(d, CallerHungUp()))
    assert f.outcome is Outcome.INFORMED and "caller hung up" in f.reason


def test_hanging_up_during_the_message_is_not_informed() -> None:
    d = Dialog(purpose=PICKUP)
    f = finish_of(run(d, Started(), CallerHungUp()))
    assert f.outcome is Outcome.UNCLEAR
    d = Dialog(purpose=PICKUP)
    assert finish_of(run(d, Started(), MediaLost())).outcome is Outcome.FAILED


def test_the_confirming_key_informs_even_over_the_message() -> None:
    d = Dialog(purpose=PICKUP)
    cmds = run(d, Started(), KeyPressed("1"))
    assert cmds == [Play(Prompt.INTRO), StopPrompt(), Play(Prompt.GOODBYE_INFORMED)]
    f = finish_of(run(d, PromptDone()))
    assert f.outcome is Outcome.INFORMED and f.intent is Intent.YES and f.reason == "dtmf 1"


def test_repeat_replays_the_message_by_voice_and_key() -> None:
    d = heard_message()
    assert run(d, Heard(Intent.REPEAT, "повторите")) == [Play(Prompt.REPEAT_ORDER)]
    assert run(d, PromptDone()) == [Listen(4)]
    assert run(d, KeyPressed("3")) == [Play(Prompt.REPEAT_ORDER)]
    assert d.repeats == 2
    # Beyond max_repeats a repeat is an answer the robot cannot use: the message was heard.
    assert run(d, PromptDone(), Heard(Intent.REPEAT, "ещё раз")) == [
        Listen(4),
        Play(Prompt.GOODBYE_INFORMED),
    ]


def test_operator_transfers_and_dnc_says_goodbye() -> None:
    d = heard_message()
    assert run(d, Heard(Intent.OPERATOR, "оператора")) == [Play(Prompt.TRANSFER)]
    cmds = run(d, PromptDone())
    assert cmds[0] == Transfer() and finish_of(cmds).outcome is Outcome.OPERATOR
    d = heard_message()
    assert run(d, KeyPressed("9")) == [Play(Prompt.GOODBYE_DNC)]
    cmds = run(d, PromptDone())
    assert cmds[0] == Hangup() and finish_of(cmds).outcome is Outcome.DNC


def test_interrupted_message_is_said_again_before_it_counts() -> None:
    d = Dialog(purpose=PICKUP, listen_timeout_s=4)
    assert run(d, Started(), BargeIn()) == [Play(Prompt.INTRO), StopPrompt(), Listen(4, True)]
    assert not d.heard
    assert run(d, Heard(Intent.UNKNOWN, "что?")) == [Play(Prompt.REPROMPT)]
    assert run(d, PromptDone()) == [Listen(4)] and d.heard  # the reprompt is the message
    assert finish_of(run(d, ListenTimeout(), PromptDone())).outcome is Outcome.INFORMED


def test_a_machine_is_never_informed() -> None:
    d = Dialog(purpose=PICKUP)
    cmds = run(d, Started(), BargeIn(), Heard(Intent.MACHINE, "оставьте сообщение после сигнала"))
    assert finish_of(cmds).outcome is Outcome.MACHINE


def test_keys_a_purpose_does_not_list_do_nothing() -> None:
    d = heard_message()
    assert run(d, KeyPressed("2")) == []  # pickup_ready has no "no" key


def test_courier_slot_yes_no_and_keys() -> None:
    d = Dialog(purpose=COURIER, delivery_date=SLOT_DAY)
    run(d, Started(), PromptDone())
    assert run(d, Heard(Intent.YES, "да, удобно")) == [Play(Prompt.GOODBYE_CONFIRMED)]
    assert finish_of(run(d, PromptDone())).outcome is Outcome.CONFIRMED
    d = Dialog(purpose=COURIER, delivery_date=SLOT_DAY)
    run(d, Started(), PromptDone())
    assert run(d, KeyPressed("2")) == [Play(Prompt.GOODBYE_REJECTED)]
    assert finish_of(run(d, PromptDone())).outcome is Outcome.REJECTED


def test_courier_slot_change_is_read_back_then_changed() -> None:
    d = Dialog(purpose=COURIER, delivery_date=SLOT_DAY)
    run(d, Started(), PromptDone())
    want = RequestedChange(date(2026, 12, 3), after=time(12), before=time(16), text="послезавтра")
    assert run(d, Heard(Intent.CHANGE, want.text, want)) == [Play(Prompt.CONFIRM_CHANGE, want)]
    assert run(d, PromptDone(), Heard(Intent.YES, "да")) == [
        Listen(6.0),
        Play(Prompt.GOODBYE_CHANGED),
    ]
    f = finish_of(run(d, PromptDone()))
    assert f.outcome is Outcome.CHANGED and f.change == want


def test_courier_slot_same_day_is_a_yes_and_question_repeats() -> None:
    d = Dialog(purpose=COURIER, delivery_date=SLOT_DAY)
    run(d, Started(), PromptDone())
    assert run(d, Heard(Intent.QUESTION, "а во сколько?")) == [Play(Prompt.REPEAT_ORDER)]
    same = RequestedChange(SLOT_DAY, text="да, завтра")
    assert run(d, PromptDone(), Heard(Intent.CHANGE, same.text, same))[-1] == Play(
        Prompt.GOODBYE_CONFIRMED
    )


def test_a_shops_purpose_maps_answers_its_own_way() -> None:
    strict = build(
        {"name": "survey", "kind": "confirm", "answers": {"yes": "confirmed", "later": "rejected",
         "change": "operator"}, "keys": {"5": "yes"}}
    )  # fmt: skip
    d = Dialog(purpose=strict)
    run(d, Started(), PromptDone())
    assert run(d, Heard(Intent.LATER, "потом")) == [Play(Prompt.GOODBYE_REJECTED)]
    d = Dialog(purpose=strict)
    run(d, Started(), PromptDone())
    change = RequestedChange(SLOT_DAY, text="завтра")
    assert run(d, Heard(Intent.CHANGE, "завтра", change)) == [Play(Prompt.TRANSFER)]
    d = Dialog(purpose=strict)
    assert run(d, Started(), KeyPressed("5"))[-1] == Play(Prompt.GOODBYE_CONFIRMED)
    d = Dialog(purpose=strict)
    run(d, Started(), PromptDone())
    assert run(d, Heard(Intent.NO, "нет")) == [Play(Prompt.REPROMPT)]  # not an answer here
