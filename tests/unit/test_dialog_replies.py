"""The dialog beyond yes and no: change read-backs, questions, wrong number, not ordered and
machines (robot.core.dialog), driven by Heard events as a language pack would produce them."""

from __future__ import annotations

from datetime import date, time

from robot.core.dialog import (
    BargeIn,
    Dialog,
    Finish,
    Hangup,
    Heard,
    KeyPressed,
    Listen,
    ListenTimeout,
    Play,
    PromptDone,
    Started,
    StopPrompt,
    Transfer,
)
from robot.core.langpack import RequestedChange
from robot.core.machine_kind import MachineKind, MachineMessage, machine_kind
from robot.core.models import Intent, Outcome
from robot.core.prompts import Prompt
from robot.core.question_topic import Topic, question_topic

SUNDAY = RequestedChange(date(2026, 12, 6), after=time(20), text="в воскресенье после восьми")
ADDRESS = RequestedChange(address=True, text="привезите к маме, а не ко мне")


def run(dialog: Dialog, *events) -> list:
    out: list = []
    for e in events:
        out += dialog.handle(e)
    return out


def listening(**kw) -> Dialog:
    d = Dialog(**kw)
    run(d, Started(), PromptDone())
    return d


def finish_of(cmds) -> Finish:
    [f] = [c for c in cmds if isinstance(c, Finish)]
    return f


def heard_change(change: RequestedChange) -> Heard:
    return Heard(Intent.CHANGE, change.text, change)


def test_change_is_read_back_and_yes_ends_changed() -> None:
    d = listening()
    assert run(d, heard_change(SUNDAY)) == [Play(Prompt.CONFIRM_CHANGE, SUNDAY)]
    assert run(d, PromptDone()) == [Listen(6.0)]
    assert run(d, Heard(Intent.YES, "да")) == [Play(Prompt.GOODBYE_CHANGED)]
    cmds = run(d, PromptDone())
    assert cmds[0] == Hangup()
    f = finish_of(cmds)
    assert (f.outcome, f.intent, f.change, f.transfer) == (
        Outcome.CHANGED, Intent.CHANGE, SUNDAY, False,
    )  # fmt: skip


def test_key_1_confirms_the_read_back_not_the_order() -> None:
    d = listening()
    run(d, heard_change(SUNDAY))
    cmds = run(d, KeyPressed("1"))
    assert cmds == [StopPrompt(), Play(Prompt.GOODBYE_CHANGED)]
    assert finish_of(run(d, PromptDone())).outcome is Outcome.CHANGED


def test_no_to_the_read_back_asks_the_question_again_then_yes_confirms_the_order() -> None:
    d = listening()
    run(d, heard_change(SUNDAY), PromptDone())
    assert run(d, Heard(Intent.NO, "нет")) == [Play(Prompt.CHANGE_DECLINED)]
    assert d.reprompts == 0  # a misunderstanding of ours costs the customer nothing
    run(d, PromptDone())
    assert run(d, Heard(Intent.YES, "да")) == [Play(Prompt.GOODBYE_CONFIRMED)]
    f = finish_of(run(d, PromptDone()))
    assert f.outcome is Outcome.CONFIRMED and f.change is None


def test_a_corrected_change_is_read_back_again_and_a_second_no_hands_it_over() -> None:
    d = listening(operator_available=True)
    run(d, heard_change(SUNDAY), PromptDone(), Heard(Intent.NO, "нет"), PromptDone())
    monday = RequestedChange(date(2026, 12, 7), text="в понедельник")
    assert run(d, heard_change(monday)) == [Play(Prompt.CONFIRM_CHANGE, monday)]
    run(d, PromptDone())
    assert run(d, Heard(Intent.NO, "нет")) == [Play(Prompt.CHANGE_TRANSFER)]
    cmds = run(d, PromptDone())
    assert cmds[0] == Transfer()
    f = finish_of(cmds)
    assert (f.outcome, f.change, f.transfer) == (Outcome.CHANGED, monday, True)


def test_address_change_goes_to_the_operator_when_there_is_one() -> None:
    d = listening(operator_available=True)
    assert run(d, heard_change(ADDRESS)) == [Play(Prompt.CHANGE_TRANSFER)]
    cmds = run(d, PromptDone())
    assert cmds[0] == Transfer()
    f = finish_of(cmds)
    assert (f.outcome, f.change, f.transfer) == (Outcome.CHANGED, ADDRESS, True)


def test_address_change_without_operator_is_noted_with_the_words() -> None:
    d = listening()
    assert run(d, heard_change(ADDRESS)) == [Play(Prompt.CHANGE_HANDOVER)]
    cmds = run(d, PromptDone())
    assert cmds[0] == Hangup()
    f = finish_of(cmds)
    assert f.outcome is Outcome.CHANGED and f.change == ADDRESS and not f.transfer
    assert f.reason == f"said: {ADDRESS.text}"


def test_change_without_a_readable_day_or_time_is_handed_over() -> None:
    words = RequestedChange(text="давайте как-нибудь потом, на другой день")
    d = listening()
    assert run(d, heard_change(words)) == [Play(Prompt.CHANGE_HANDOVER)]
    # A pack that gives no change object: the words are kept all the same.
    d = listening()
    run(d, Heard(Intent.CHANGE, "не сегодня"))
    assert finish_of(run(d, PromptDone())).change == RequestedChange(text="не сегодня")


def test_silence_after_the_read_back_repeats_it_then_hands_the_change_over() -> None:
    d = listening(max_reprompts=1)
    run(d, heard_change(SUNDAY), PromptDone())
    assert run(d, ListenTimeout()) == [Play(Prompt.CONFIRM_CHANGE, SUNDAY)]
    run(d, PromptDone())
    assert run(d, ListenTimeout()) == [Play(Prompt.CHANGE_HANDOVER)]
    f = finish_of(run(d, PromptDone()))
    assert f.outcome is Outcome.CHANGED and f.change == SUNDAY


def test_caller_hanging_up_during_the_goodbye_keeps_the_change() -> None:
    from robot.core.dialog import CallerHungUp

    d = listening()
    run(d, heard_change(SUNDAY), PromptDone(), Heard(Intent.YES, "да"))
    f = finish_of(run(d, CallerHungUp()))
    assert f.outcome is Outcome.CHANGED and f.change == SUNDAY


def test_question_is_answered_from_the_order_and_is_not_an_unclear_answer() -> None:
    d = listening(max_reprompts=1)
    assert run(d, Heard(Intent.QUESTION, "а когда привезут?")) == [Play(Prompt.ANSWER_DELIVERY)]
    run(d, PromptDone())
    assert run(d, Heard(Intent.QUESTION, "а сколько с меня?")) == [Play(Prompt.ANSWER_AMOUNT)]
    run(d, PromptDone())
    assert d.reprompts == 0
    assert run(d, Heard(Intent.YES, "да")) == [Play(Prompt.GOODBYE_CONFIRMED)]


def test_question_the_order_cannot_answer_offers_the_operator_if_there_is_one() -> None:
    d = listening(operator_available=True)
    cmds = run(d, Heard(Intent.QUESTION, "курьер заранее позвонит?"))
    assert cmds == [Play(Prompt.ANSWER_OPERATOR)]
    d = listening()
    cmds = run(d, Heard(Intent.QUESTION, "курьер заранее позвонит?"))
    assert cmds == [Play(Prompt.ANSWER_SHOP_LATER)]


def test_questions_are_bounded() -> None:
    d = listening(max_questions=2, max_reprompts=1)
    for _ in range(2):
        run(d, Heard(Intent.QUESTION, "а что я заказывал?"), PromptDone())
    assert run(d, Heard(Intent.QUESTION, "а что я заказывал?")) == [Play(Prompt.REPROMPT)]
    run(d, PromptDone())
    run(d, Heard(Intent.QUESTION, "а что я заказывал?"))
    assert finish_of(run(d, PromptDone())).outcome is Outcome.UNCLEAR


def test_wrong_number_and_not_ordered_end_with_their_outcomes() -> None:
    for intent, prompt, outcome in (
        (Intent.WRONG_NUMBER, Prompt.GOODBYE_WRONG_NUMBER, Outcome.WRONG_NUMBER),
        (Intent.NOT_ORDERED, Prompt.GOODBYE_NOT_ORDERED, Outcome.NOT_ORDERED),
    ):
        d = listening()
        assert run(d, Heard(intent, "...")) == [Play(prompt)]
        cmds = run(d, PromptDone())
        assert cmds[0] == Hangup() and finish_of(cmds).outcome is outcome


def test_voicemail_over_the_intro_is_hung_up_on_without_the_question() -> None:
    d = Dialog()
    assert run(d, Started()) == [Play(Prompt.INTRO)]
    assert run(d, BargeIn()) == [StopPrompt(), Listen(6.0, barge_in=True)]
    greeting = "вы позвонили Ивану, оставьте сообщение после сигнала"
    cmds = run(d, Heard(Intent.MACHINE, greeting))
    assert cmds[0] == Hangup()
    f = finish_of(cmds)
    assert f.outcome is Outcome.MACHINE and f.reason.startswith("voicemail: ")
    assert not [c for c in cmds if isinstance(c, Play)]


def test_assistant_gets_one_sentence_then_the_call_ends() -> None:
    d = Dialog()
    run(d, Started(), BargeIn())
    said = "я виртуальный помощник, скажите, по какому вы вопросу"
    assert run(d, Heard(Intent.MACHINE, said)) == [Play(Prompt.MACHINE_MESSAGE)]
    assert run(d, BargeIn()) == []  # the sentence is said to the end
    cmds = run(d, PromptDone())
    assert cmds[0] == Hangup()
    f = finish_of(cmds)
    assert f.outcome is Outcome.MACHINE and f.reason.startswith("assistant: ")


def test_machine_message_setting() -> None:
    voicemail = Heard(Intent.MACHINE, "оставьте сообщение после сигнала")
    d = listening(machine_message=MachineMessage.ALWAYS)
    assert run(d, voicemail) == [Play(Prompt.MACHINE_MESSAGE)]
    d = listening(machine_message=MachineMessage.NEVER)
    assistant = Heard(Intent.MACHINE, "секретарь слушает, кто звонит?")
    assert run(d, assistant)[0] == Hangup()


def test_machine_heard_after_a_reprompt_still_ends_as_machine() -> None:
    d = listening()
    run(d, Heard(Intent.UNKNOWN, "алло"), PromptDone())
    cmds = run(d, Heard(Intent.MACHINE, "абонент не может ответить, оставьте сообщение"))
    assert finish_of(cmds).outcome is Outcome.MACHINE


def test_question_topics_and_machine_kinds() -> None:
    assert question_topic("а когда привезут?") is Topic.DELIVERY
    assert question_topic("во сколько курьер приедет") is Topic.DELIVERY
    assert question_topic("а сколько с меня") is Topic.AMOUNT
    assert question_topic("что я заказывал?") is Topic.ITEMS
    assert question_topic("а вы кто вообще?") is Topic.SHOP
    assert question_topic("курьер заранее позвонит?") is None
    assert question_topic("언제 와요?") is Topic.DELIVERY
    assert question_topic("얼마예요?") is Topic.AMOUNT
    assert machine_kind("Здравствуйте, я Алиса, помощник Ивана. Что ему передать?") is (
        MachineKind.ASSISTANT
    )
    assert machine_kind("оставьте сообщение после звукового сигнала") is MachineKind.VOICEMAIL
    assert machine_kind("음성사서함으로 연결됩니다") is MachineKind.VOICEMAIL
    assert machine_kind("비서입니다. 용건을 말씀해 주세요") is MachineKind.ASSISTANT


def test_reply_outcomes_are_final_and_not_do_not_call() -> None:
    from robot.core.models import OrderStatus
    from robot.core.policy import FINAL_BY_OUTCOME

    assert FINAL_BY_OUTCOME[Outcome.CHANGED] is OrderStatus.CHANGED
    assert FINAL_BY_OUTCOME[Outcome.WRONG_NUMBER] is OrderStatus.WRONG_NUMBER
    assert FINAL_BY_OUTCOME[Outcome.NOT_ORDERED] is OrderStatus.NOT_ORDERED
    assert Outcome.MACHINE not in FINAL_BY_OUTCOME  # retried like no answer


async def test_session_understands_against_the_customers_today_and_reads_back() -> None:
    """The session hands the language pack the order's local date and passes the reply's
    change to the read-back prompt and to the finish."""
    import asyncio

    from robot.core.langpack import Reply
    from robot.core.models import parse_order
    from robot.engine.session import CallSession, SessionTiming
    from robot.testing import LOUD_FRAME, SILENT_FRAME, FakeMedia, FakePrompts, FakeRecognizerStream

    today = date(2026, 12, 1)
    seen: list[date] = []
    words = iter(["в воскресенье после восьми", "да"])

    def understand(text: str, day: date) -> Reply:
        seen.append(day)
        if text == "да":
            return Reply(Intent.YES)
        return Reply(Intent.CHANGE, RequestedChange(date(2026, 12, 6), time(20), text=text))

    class Stream(FakeRecognizerStream):
        async def finish(self):
            if self.fed >= self.after_bytes:
                self.text = next(words)
            return await super().finish()

    order = parse_order({"order_id": "7", "phone": "+79161234567", "amount": 10, "shop_name": "Р"})
    media, prompts = FakeMedia(), FakePrompts()
    session = CallSession(
        call_id=media.call_id,
        order=order,
        media=media,
        prompts=prompts,
        stream=Stream(""),
        understand=understand,
        is_speech=lambda frame: frame == LOUD_FRAME,
        today=today,
        timing=SessionTiming(listen_timeout_s=2, max_call_s=10),
    )
    task = asyncio.create_task(session.run())
    for _ in range(2):
        while session.dialog.phase.value != "listening":
            await asyncio.sleep(0.01)
        heard = len(session.transcript)
        await media.speak(10)
        while len(session.transcript) == heard:  # the line goes on: the stream's gate
            await media.speak(1, SILENT_FRAME)  # hears the silence that ends the answer
    result = await task
    assert seen == [today, today]
    assert prompts.rendered == [Prompt.INTRO, Prompt.CONFIRM_CHANGE, Prompt.GOODBYE_CHANGED]
    assert result.finish.outcome is Outcome.CHANGED
    assert result.finish.change is not None and result.finish.change.after == time(20)
    assert any('"date": "2026-12-06"' in line for line in result.transcript)


def test_a_change_to_the_orders_own_day_is_a_yes() -> None:
    tomorrow = date(2026, 12, 2)
    d = listening(delivery_date=tomorrow)
    same = RequestedChange(tomorrow, text="да, привозите завтра")
    assert run(d, heard_change(same)) == [Play(Prompt.GOODBYE_CONFIRMED)]
    d = listening(delivery_date=tomorrow)
    later = RequestedChange(tomorrow, after=time(18), text="да, завтра после шести")
    assert run(d, heard_change(later)) == [Play(Prompt.CONFIRM_CHANGE, later)]


async def test_a_change_handed_over_is_transferred_by_the_call_features() -> None:
    from datetime import UTC, datetime

    from robot.core.models import CallAttempt
    from robot.engine.call_features import CallFeatures
    from robot.testing import FakeMedia

    transfers: list[str] = []

    async def transfer(call_id: str, server: str) -> bool:
        transfers.append(call_id)
        return True

    call = CallAttempt(
        call_id="c1", order_id="o1", phone="+79161234567", language="ru",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    finish = Finish(Outcome.CHANGED, Intent.CHANGE, "said: к маме", ADDRESS, transfer=True)
    features = CallFeatures(transfer=transfer)
    reason = await features.finish(call, FakeMedia(), finish, call.created_at)
    assert transfers == ["c1"] and reason.endswith("; transferred")
