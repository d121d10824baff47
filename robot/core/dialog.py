"""The conversation as a pure state machine: events in, commands out.

No clock, no I/O: the call session turns audio, key presses and timers into events and
carries out the commands (play a prompt, listen, hang up). Every path ends in exactly one
:class:`Finish` with an :class:`Outcome`.

Flow: INTRO -> listen -> (yes | no | dnc | later | operator) -> goodbye -> hang up.
Silence or an answer we cannot use gets a reprompt in other words (``max_reprompts``), then
the call ends as ``unclear``. Speech over a question (barge-in) stops it and is listened to;
the goodbye is never interrupted. "Repeat" replays the order without using up a reprompt (at most
``max_repeats`` times). A key press counts at any moment, even over a prompt.

Replies beyond yes and no:

- **change** with a day or time: the robot reads it back (``CONFIRM_CHANGE``) and asks yes or
  no. Yes ends the call as ``changed``; no says sorry and asks the order's question again (a
  second wrong read-back hands over as below); a new change is read back instead (at most
  ``max_readbacks`` read-backs). A "change" to the order's own day and nothing else ("да,
  привозите завтра" for tomorrow's delivery) is a yes. An address change, or a change with no
  day or time the pack could read, is handed over: to the operator when one is configured,
  else noted for the shop; either way the outcome is ``changed`` with the customer's words.
- **question**: answered from the order when it can be (delivery day, amount, items, who calls;
  ``robot.core.question_topic``), else the operator is offered; then the question again. Not an
  answer, so no reprompt is used up, up to ``max_questions``; beyond that it counts as unclear.
- **wrong_number** / **not_ordered**: a short goodbye, outcome of the same name.
- **machine**, heard at any point (its greeting usually talks over the intro): the order's
  question is never put to it. An assistant gets one sentence (``MACHINE_MESSAGE``), a voicemail
  a hangup (``machine_message`` setting); outcome ``machine``, retried like no answer.

The call's purpose (``robot.core.purposes``, chosen by ``Order.purpose``; ``confirm`` when not
given) says which keys mean what and what each reply does: end the call with an outcome, repeat,
answer a question, or read a change back. The ``confirm`` purpose is the call described above.
An **inform** purpose (pickup_ready, storage_ending) says a message instead of asking: once the
message (the intro, the repeat or a reprompt, which says it again) has played to its end, the
call is ``informed`` whatever follows (silence, an answer it cannot use, a hangup), unless the
reply ends it otherwise (operator, dnc, ...) or asks to hear it again; the confirming key
(``keys``) is ``informed`` at any moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from robot.core.langpack import RequestedChange
from robot.core.machine_kind import MachineMessage, leaves_message, machine_kind
from robot.core.models import Intent, Outcome
from robot.core.prompts import Prompt
from robot.core.purposes import Purpose, confirm_purpose
from robot.core.question_topic import Topic, question_topic

# The goodbye (or hand-over) each outcome of a reply is closed with.
_GOODBYE = {
    Outcome.CONFIRMED: Prompt.GOODBYE_CONFIRMED,
    Outcome.REJECTED: Prompt.GOODBYE_REJECTED,
    Outcome.DNC: Prompt.GOODBYE_DNC,
    Outcome.LATER: Prompt.GOODBYE_LATER,
    Outcome.OPERATOR: Prompt.TRANSFER,
    Outcome.WRONG_NUMBER: Prompt.GOODBYE_WRONG_NUMBER,
    Outcome.NOT_ORDERED: Prompt.GOODBYE_NOT_ORDERED,
    Outcome.INFORMED: Prompt.GOODBYE_INFORMED,
    Outcome.CHANGED: Prompt.GOODBYE_CHANGED,
    Outcome.UNCLEAR: Prompt.GOODBYE_UNCLEAR,
}
# What an inform purpose's message is said in: heard to its end, the customer is informed.
_MESSAGE = (Prompt.INTRO, Prompt.INTRO_RECORDED, Prompt.REPEAT_ORDER, Prompt.REPROMPT,
            Prompt.REPROMPT_2)  # fmt: skip
_ANSWERS = {
    Topic.DELIVERY: Prompt.ANSWER_DELIVERY,
    Topic.AMOUNT: Prompt.ANSWER_AMOUNT,
    Topic.ITEMS: Prompt.ANSWER_ITEMS,
    Topic.SHOP: Prompt.ANSWER_SHOP,
}
_REPROMPTS = (Prompt.REPROMPT, Prompt.REPROMPT_2)
_OUTCOMES = frozenset(o.value for o in _GOODBYE)


# Events ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Started:
    pass


@dataclass(frozen=True)
class PromptDone:
    pass


@dataclass(frozen=True)
class Heard:
    intent: Intent
    text: str
    change: RequestedChange | None = None  # for Intent.CHANGE: what the customer asked for


@dataclass(frozen=True)
class KeyPressed:
    digit: str


@dataclass(frozen=True)
class ListenTimeout:
    pass


@dataclass(frozen=True)
class BargeIn:
    """The customer started talking over a question: stop it and listen."""


@dataclass(frozen=True)
class CallerHungUp:
    pass


@dataclass(frozen=True)
class MediaLost:
    pass


Event = (
    Started | PromptDone | Heard | KeyPressed | ListenTimeout | BargeIn | CallerHungUp | MediaLost
)


# Commands -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Play:
    prompt: Prompt
    change: RequestedChange | None = None  # what CONFIRM_CHANGE reads back


@dataclass(frozen=True)
class Listen:
    timeout_s: float
    barge_in: bool = False  # the customer is already talking: keep what was heard so far


@dataclass(frozen=True)
class StopPrompt:
    pass


@dataclass(frozen=True)
class Transfer:
    pass


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Finish:
    outcome: Outcome
    intent: Intent | None
    reason: str
    change: RequestedChange | None = None  # outcome CHANGED: what the shop is asked to change
    transfer: bool = False  # hand the call to the operator (OPERATOR, or a change to take down)


Command = Play | Listen | StopPrompt | Transfer | Hangup | Finish


class Phase(str, Enum):
    IDLE = "idle"  # not started
    ASKING = "asking"  # playing the intro, a reprompt or the repeat
    LISTENING = "listening"  # waiting for an answer
    CLOSING = "closing"  # decided; playing the goodbye
    DONE = "done"  # finished


@dataclass
class Dialog:
    listen_timeout_s: float = 6.0
    max_reprompts: int = 2
    announce_recording: bool = False  # open with "the call is recorded" (Prompt.INTRO_RECORDED)
    max_repeats: int = 2
    operator_available: bool = False  # an operator target is configured (hand-overs, offers)
    machine_message: MachineMessage = MachineMessage.ASSISTANT
    max_questions: int = 3  # questions answered before one more counts as an unclear answer
    max_readbacks: int = 2  # change read-backs before the change is handed over as words
    delivery_date: date | None = None  # the order's: "да, привозите завтра" then is a yes
    purpose: Purpose = field(default_factory=confirm_purpose)  # what the call is about
    phase: Phase = Phase.IDLE
    asking: Prompt | None = None  # the prompt playing or last played before listening
    heard: bool = False  # an inform purpose's message has played to its end
    reprompts: int = 0
    repeats: int = 0
    questions: int = 0
    readbacks: int = 0
    confirming: RequestedChange | None = None  # a change read back, waiting for yes or no
    decided: tuple[Outcome, Intent | None, str] | None = None
    change: RequestedChange | None = None  # with a CHANGED decision: what to change
    transfer: bool = False  # with the decision: hand the call to the operator
    log: list[str] = field(default_factory=list)  # what was heard, for the transcript

    def handle(self, event: Event) -> list[Command]:
        if self.phase is Phase.DONE:
            return []
        match event:
            case Started():
                return self._ask(Prompt.INTRO_RECORDED if self.announce_recording else Prompt.INTRO)
            case PromptDone():
                return self._prompt_done()
            case KeyPressed(digit=digit):
                self.log.append(f"dtmf {digit}")
                intent = self.purpose.keys.get(digit)
                if intent is None or self.phase is Phase.CLOSING:
                    return []
                stop: list[Command] = [StopPrompt()] if self.phase is Phase.ASKING else []
                return stop + self._reply(intent, f"dtmf {digit}", "", None)
            case Heard(intent=intent, text=text, change=change):
                self.log.append(text)
                if self.phase is not Phase.LISTENING:
                    return []
                reason = f"said: {text}" if text else "said nothing usable"
                return self._reply(intent, reason, text, change)
            case BargeIn():
                if self.phase is not Phase.ASKING:
                    return []
                self.phase = Phase.LISTENING
                return [StopPrompt(), Listen(self.listen_timeout_s, barge_in=True)]
            case ListenTimeout():
                if self.phase is not Phase.LISTENING:
                    return []
                return self._unusable("silence")
            case CallerHungUp():
                return self._end("caller hung up")
            case MediaLost():
                return self._end("media connection lost", lost=True)
        return []

    # Internals ------------------------------------------------------------------------------
    def _ask(self, prompt: Prompt) -> list[Command]:
        self.phase = Phase.ASKING
        self.asking = prompt
        return [Play(prompt)]

    def _prompt_done(self) -> list[Command]:
        if self.phase is Phase.ASKING:
            if self.purpose.informing and self.asking in _MESSAGE:
                self.heard = True
            self.phase = Phase.LISTENING
            return [Listen(self.listen_timeout_s)]
        if self.phase is Phase.CLOSING:
            assert self.decided is not None
            self.phase = Phase.DONE
            last: Command = Transfer() if self.transfer else Hangup()
            return [last, self._finish()]
        return []

    def _finish(self) -> Finish:
        assert self.decided is not None
        outcome, intent, reason = self.decided
        return Finish(outcome, intent, reason, self.change, self.transfer)

    def _decide(
        self,
        outcome: Outcome,
        intent: Intent | None,
        reason: str,
        prompt: Prompt,
        change: RequestedChange | None = None,
    ) -> list[Command]:
        self.decided = (outcome, intent, reason)
        self.change = change
        self.transfer = outcome is Outcome.OPERATOR or prompt is Prompt.CHANGE_TRANSFER
        self.phase = Phase.CLOSING
        return [Play(prompt)]

    def _reply(
        self, intent: Intent, reason: str, text: str, change: RequestedChange | None
    ) -> list[Command]:
        """A spoken reply: the replies beyond yes and no, then the read-back's yes or no."""
        if intent is Intent.MACHINE:
            return self._machine(reason, text)
        action = self.purpose.answer(intent)
        if intent is Intent.CHANGE and action == "change":
            return self._change(change or RequestedChange(text=text), reason)
        if action == "question" and self.questions < self.max_questions:
            self.questions += 1
            topic = question_topic(text)
            if topic is not None:
                return self._ask(_ANSWERS[topic])
            return self._ask(
                Prompt.ANSWER_OPERATOR if self.operator_available else Prompt.ANSWER_SHOP_LATER
            )
        if self.confirming is not None and intent in (Intent.YES, Intent.NO):
            change, self.confirming = self.confirming, None
            if intent is Intent.YES:
                return self._decide(
                    Outcome.CHANGED, Intent.CHANGE, reason, Prompt.GOODBYE_CHANGED, change
                )
            if self.readbacks >= self.max_readbacks:
                return self._hand_over(change, f"{reason} (read-back declined)")
            return self._ask(Prompt.CHANGE_DECLINED)
        return self._answer(intent, reason)

    def _change(self, change: RequestedChange, reason: str) -> list[Command]:
        same_day = change.date is not None and change.date == self.delivery_date
        if same_day and not (change.address or change.after or change.before):
            return self._reply(Intent.YES, reason, "", None)  # the day the order already has
        readable = change.date is not None or change.after is not None or change.before is not None
        if change.address or not readable or self.readbacks >= self.max_readbacks:
            return self._hand_over(change, reason)
        self.readbacks += 1
        self.confirming = change
        self.phase = Phase.ASKING
        return [Play(Prompt.CONFIRM_CHANGE, change)]

    def _hand_over(self, change: RequestedChange, reason: str) -> list[Command]:
        """A change the robot cannot read back: to the operator if there is one, else noted
        for the shop (the customer's words are in the change and the transcript)."""
        prompt = Prompt.CHANGE_TRANSFER if self.operator_available else Prompt.CHANGE_HANDOVER
        return self._decide(Outcome.CHANGED, Intent.CHANGE, reason, prompt, change)

    def _machine(self, reason: str, text: str) -> list[Command]:
        kind = machine_kind(text)
        reason = f"{kind.value}: {reason}"
        if leaves_message(kind, self.machine_message):
            return self._decide(Outcome.MACHINE, Intent.MACHINE, reason, Prompt.MACHINE_MESSAGE)
        self.decided = (Outcome.MACHINE, Intent.MACHINE, reason)
        self.phase = Phase.DONE
        return [Hangup(), self._finish()]

    def _answer(self, intent: Intent, reason: str) -> list[Command]:
        action = self.purpose.answer(intent)
        if action is not None and action in _OUTCOMES:
            self.confirming = None
            outcome = Outcome(action)
            return self._decide(outcome, intent, reason, _GOODBYE[outcome])
        if action == "repeat" and self.repeats < self.max_repeats:
            self.repeats += 1
            if self.confirming is not None:
                return self._ask_confirm()
            return self._ask(Prompt.REPEAT_ORDER)
        return self._unusable(reason)

    def _ask_confirm(self) -> list[Command]:
        self.phase = Phase.ASKING
        return [Play(Prompt.CONFIRM_CHANGE, self.confirming)]

    def _unusable(self, reason: str) -> list[Command]:
        if self.heard and self.confirming is None:
            return self._informed(reason)
        if self.reprompts < self.max_reprompts:
            self.reprompts += 1
            if self.confirming is not None:  # the read-back again, word for word
                return self._ask_confirm()
            prompt = _REPROMPTS[min(self.reprompts - 1, len(_REPROMPTS) - 1)]
            return self._ask(prompt)
        if self.confirming is not None:  # a change was asked for, just not confirmed
            change, self.confirming = self.confirming, None
            return self._hand_over(change, f"{reason} (read-back not confirmed)")
        return self._decide(Outcome.UNCLEAR, Intent.UNKNOWN, reason, Prompt.GOODBYE_UNCLEAR)

    def _informed(self, reason: str) -> list[Command]:
        why = f"heard the message to its end, then {reason}"
        return self._decide(Outcome.INFORMED, None, why, Prompt.GOODBYE_INFORMED)

    def _end(self, why: str, *, lost: bool = False) -> list[Command]:
        self.phase = Phase.DONE
        if self.decided is not None:
            # The answer was given; the goodbye was cut short, which changes nothing.
            return [self._finish()]
        if self.heard:
            return [Finish(Outcome.INFORMED, None, f"heard the message to its end, then {why}")]
        if lost:
            return [Finish(Outcome.FAILED, None, why)]
        return [Finish(Outcome.UNCLEAR, None, why)]
