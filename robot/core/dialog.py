"""The conversation as a pure state machine: events in, commands out.

No clock, no I/O: the call session turns audio, key presses and timers into events and
carries out the commands (play a prompt, listen, hang up). Every path ends in exactly one
:class:`Finish` with an :class:`Outcome`.

Flow: INTRO -> listen -> (yes | no | dnc | later | operator) -> goodbye -> hang up.
Silence or an answer we cannot use gets a reprompt in other words (``max_reprompts``), then
the call ends as ``unclear``. Speech over a question (barge-in) stops it and is listened to;
the goodbye is never interrupted. "Repeat" replays the order without using up a reprompt (at most
``max_repeats`` times). A key press counts at any moment, even over a prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from robot.core.models import Intent, Outcome
from robot.core.prompts import Prompt

DTMF_INTENTS = {"1": Intent.YES, "2": Intent.NO, "0": Intent.OPERATOR, "9": Intent.DNC}

_GOODBYE = {
    Intent.YES: (Outcome.CONFIRMED, Prompt.GOODBYE_CONFIRMED),
    Intent.NO: (Outcome.REJECTED, Prompt.GOODBYE_REJECTED),
    Intent.DNC: (Outcome.DNC, Prompt.GOODBYE_DNC),
    Intent.LATER: (Outcome.LATER, Prompt.GOODBYE_LATER),
    Intent.OPERATOR: (Outcome.OPERATOR, Prompt.TRANSFER),
}
_REPROMPTS = (Prompt.REPROMPT, Prompt.REPROMPT_2)


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
    phase: Phase = Phase.IDLE
    reprompts: int = 0
    repeats: int = 0
    decided: tuple[Outcome, Intent | None, str] | None = None
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
                intent = DTMF_INTENTS.get(digit)
                if intent is None or self.phase is Phase.CLOSING:
                    return []
                stop: list[Command] = [StopPrompt()] if self.phase is Phase.ASKING else []
                return stop + self._answer(intent, f"dtmf {digit}")
            case Heard(intent=intent, text=text):
                self.log.append(text)
                if self.phase is not Phase.LISTENING:
                    return []
                return self._answer(intent, f"said: {text}" if text else "said nothing usable")
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
        return [Play(prompt)]

    def _prompt_done(self) -> list[Command]:
        if self.phase is Phase.ASKING:
            self.phase = Phase.LISTENING
            return [Listen(self.listen_timeout_s)]
        if self.phase is Phase.CLOSING:
            assert self.decided is not None
            outcome, intent, reason = self.decided
            self.phase = Phase.DONE
            last: Command = Transfer() if outcome is Outcome.OPERATOR else Hangup()
            return [last, Finish(outcome, intent, reason)]
        return []

    def _answer(self, intent: Intent, reason: str) -> list[Command]:
        if intent in _GOODBYE:
            outcome, prompt = _GOODBYE[intent]
            self.decided = (outcome, intent, reason)
            self.phase = Phase.CLOSING
            return [Play(prompt)]
        if intent is Intent.REPEAT and self.repeats < self.max_repeats:
            self.repeats += 1
            return self._ask(Prompt.REPEAT_ORDER)
        return self._unusable(reason)

    def _unusable(self, reason: str) -> list[Command]:
        if self.reprompts < self.max_reprompts:
            prompt = _REPROMPTS[min(self.reprompts, len(_REPROMPTS) - 1)]
            self.reprompts += 1
            return self._ask(prompt)
        self.decided = (Outcome.UNCLEAR, Intent.UNKNOWN, reason)
        self.phase = Phase.CLOSING
        return [Play(Prompt.GOODBYE_UNCLEAR)]

    def _end(self, why: str, *, lost: bool = False) -> list[Command]:
        self.phase = Phase.DONE
        if self.decided is not None:
            # The answer was given; the goodbye was cut short, which changes nothing.
            outcome, intent, reason = self.decided
            return [Finish(outcome, intent, reason)]
        if lost:
            return [Finish(Outcome.FAILED, None, why)]
        return [Finish(Outcome.UNCLEAR, None, why)]
