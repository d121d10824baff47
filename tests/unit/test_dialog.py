import pytest

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
from robot.core.models import Intent, Outcome
from robot.core.prompts import Prompt


def run(dialog, events):
    out = []
    for e in events:
        out += dialog.handle(e)
    return out


def finish_of(cmds):
    [f] = [c for c in cmds if isinstance(c, Finish)]
    return f


def test_yes_confirms_after_goodbye():
    d = Dialog(listen_timeout_s=5)
    cmds = run(d, [Started(), PromptDone()])
    assert cmds == [Play(Prompt.INTRO), Listen(5)]
    cmds = run(d, [Heard(Intent.YES, "да")])
    assert cmds == [Play(Prompt.GOODBYE_CONFIRMED)]
    cmds = run(d, [PromptDone()])
    assert cmds[0] == Hangup()
    assert finish_of(cmds).outcome is Outcome.CONFIRMED


def test_silence_reprompts_once_then_unclear():
    d = Dialog(max_reprompts=1)
    cmds = run(d, [Started(), PromptDone(), ListenTimeout()])
    assert cmds[-1] == Play(Prompt.REPROMPT)
    cmds = run(d, [PromptDone(), ListenTimeout()])
    assert cmds[-1] == Play(Prompt.GOODBYE_UNCLEAR)
    f = finish_of(run(d, [PromptDone()]))
    assert f.outcome is Outcome.UNCLEAR
    assert f.reason == "silence"


def test_unknown_then_no_rejects():
    d = Dialog()
    run(d, [Started(), PromptDone(), Heard(Intent.UNKNOWN, "погода"), PromptDone()])
    cmds = run(d, [Heard(Intent.NO, "нет"), PromptDone()])
    assert finish_of(cmds).outcome is Outcome.REJECTED


def test_key_press_during_intro_stops_prompt_and_decides():
    d = Dialog()
    cmds = run(d, [Started(), KeyPressed("2")])
    assert cmds[1:] == [StopPrompt(), Play(Prompt.GOODBYE_REJECTED)]
    assert finish_of(run(d, [PromptDone()])).reason == "dtmf 2"


@pytest.mark.parametrize(
    ("digit", "outcome"),
    [
        ("1", Outcome.CONFIRMED),
        ("2", Outcome.REJECTED),
        ("9", Outcome.DNC),
        ("0", Outcome.OPERATOR),
    ],
)
def test_dtmf_map(digit, outcome):
    d = Dialog()
    cmds = run(d, [Started(), PromptDone(), KeyPressed(digit), PromptDone()])
    assert finish_of(cmds).outcome is outcome


def test_operator_transfers_instead_of_hanging_up():
    d = Dialog()
    cmds = run(d, [Started(), PromptDone(), Heard(Intent.OPERATOR, "оператор"), PromptDone()])
    assert Transfer() in cmds and Hangup() not in cmds


def test_unknown_key_is_ignored():
    d = Dialog()
    assert run(d, [Started(), PromptDone(), KeyPressed("7")])[-1] == Listen(6.0)


def test_repeat_replays_order_without_using_reprompt():
    d = Dialog(max_reprompts=1)
    cmds = run(d, [Started(), PromptDone(), Heard(Intent.REPEAT, "что?")])
    assert cmds[-1] == Play(Prompt.REPEAT_ORDER)
    cmds = run(d, [PromptDone(), ListenTimeout()])
    assert cmds[-1] == Play(Prompt.REPROMPT)


def test_hangup_before_answer_is_unclear_and_after_answer_keeps_answer():
    d = Dialog()
    assert finish_of(run(d, [Started(), CallerHungUp()])).outcome is Outcome.UNCLEAR
    d = Dialog()
    cmds = run(d, [Started(), PromptDone(), Heard(Intent.YES, "да"), CallerHungUp()])
    assert finish_of(cmds).outcome is Outcome.CONFIRMED


def test_media_lost_is_failed_and_nothing_after_done():
    d = Dialog()
    assert finish_of(run(d, [Started(), MediaLost()])).outcome is Outcome.FAILED
    assert d.handle(PromptDone()) == []


def test_speech_while_robot_speaks_is_ignored_without_bargein():
    d = Dialog()
    assert run(d, [Started(), Heard(Intent.YES, "да")]) == [Play(Prompt.INTRO)]


def test_barge_in_stops_the_question_and_listens_keeping_the_audio():
    d = Dialog(listen_timeout_s=4)
    cmds = run(d, [Started(), BargeIn()])
    assert cmds[1:] == [StopPrompt(), Listen(4, barge_in=True)]
    cmds = run(d, [Heard(Intent.YES, "да"), PromptDone()])
    assert finish_of(cmds).outcome is Outcome.CONFIRMED


def test_no_barge_in_over_the_goodbye():
    d = Dialog()
    run(d, [Started(), PromptDone(), Heard(Intent.NO, "нет")])
    assert d.handle(BargeIn()) == []


def test_default_is_two_reprompts_in_other_words_then_unclear():
    d = Dialog()
    cmds = run(d, [Started(), PromptDone(), Heard(Intent.UNKNOWN, "погода")])
    assert cmds[-1] == Play(Prompt.REPROMPT)
    cmds = run(d, [PromptDone(), ListenTimeout()])
    assert cmds[-1] == Play(Prompt.REPROMPT_2)
    cmds = run(d, [PromptDone(), Heard(Intent.UNKNOWN, "что-то ещё")])
    assert cmds[-1] == Play(Prompt.GOODBYE_UNCLEAR)


def test_recording_announcement_opens_the_call():
    d = Dialog(announce_recording=True)
    assert run(d, [Started()]) == [Play(Prompt.INTRO_RECORDED)]
    # It is a question like the intro: keys and barge-in work over it.
    assert run(d, [KeyPressed("1")])[0] == StopPrompt()
