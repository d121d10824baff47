"""Which kind of machine answered: a voicemail that records, or an assistant that listens.

The language pack says a reply is a machine (``Intent.MACHINE``); what the robot does next
depends on the kind. An answering *assistant* (the mobile operators' and banks' call
screeners: "я виртуальный помощник, скажите, по какому вы вопросу", "секретарь слушает")
passes on what it is told, so the robot says one short sentence; a *voicemail* greeting
("оставьте сообщение после сигнала") records, and by default the robot hangs up rather than
leave an order number on a recording. A greeting with no cue of either is a voicemail: saying
nothing is the safe default. Russian and Korean cues share one table (different scripts). Pure.
"""

from __future__ import annotations

import re
from enum import Enum


class MachineKind(str, Enum):
    VOICEMAIL = "voicemail"  # records a message: hang up (unless configured otherwise)
    ASSISTANT = "assistant"  # screens the call and passes it on: one sentence, then hang up


class MachineMessage(str, Enum):
    """To which machines the robot leaves its one sentence (``DOZVON_MACHINE_MESSAGE``)."""

    ASSISTANT = "assistant"  # assistants only; voicemail: hang up (default)
    ALWAYS = "always"  # assistants and voicemail
    NEVER = "never"  # hang up on every machine


_ASSISTANT = re.compile(
    r"помощни|ассистент|секретар|по какому (вы )?вопрос|кто (вы|звонит|это)|представьтесь"
    r"|цель (вашего )?звонка|что передать|передам|слушаю вас"
    r"|비서|어시스턴트|용건|누구(세요|신가요|시죠)|전달해\s?드리|무슨 일"
)


def machine_kind(text: str) -> MachineKind:
    said = " ".join(text.lower().replace("ё", "е").split())
    return MachineKind.ASSISTANT if _ASSISTANT.search(said) else MachineKind.VOICEMAIL


def leaves_message(kind: MachineKind, setting: MachineMessage) -> bool:
    if setting is MachineMessage.ALWAYS:
        return True
    return setting is MachineMessage.ASSISTANT and kind is MachineKind.ASSISTANT
