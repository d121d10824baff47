"""What happens around a conversation besides the dialog: recording, the hand-over to an
operator, and the callback time of a "call me later".

The dialer calls ``wrap`` on an answered call's media before the session starts and
``finish`` when the session has ended (before the AudioSocket is hung up, which a transfer
must precede). Each part is optional: no recordings directory, no recording; no transfer
function, an "operator" call simply ends (its outcome still says the customer asked for one).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from robot.core.callback_hint import callback_hint
from robot.core.dialog import Finish
from robot.core.models import CallAttempt, Outcome
from robot.engine.recording import RecordingMedia
from robot.ports import MediaSession

log = logging.getLogger(__name__)

Transfer = Callable[[str, str], Awaitable[bool]]  # (call id, Asterisk server) -> done


@dataclass
class CallFeatures:
    recordings_dir: Path | None = None  # <var_dir>/recordings; None: calls are not recorded
    transfer: Transfer | None = None  # hands the call's channel to the operator target

    def wrap(self, media: MediaSession) -> MediaSession:
        return RecordingMedia(media) if self.recordings_dir is not None else media

    async def finish(
        self, call: CallAttempt, media: MediaSession, finish: Finish, now: datetime
    ) -> str:
        """Transfer, save the recording, note a callback time; the call's reason."""
        reason = finish.reason
        if finish.outcome is Outcome.OPERATOR or finish.transfer:
            if self.transfer is None:
                reason += "; no operator target configured, call ended"
            elif await self.transfer(call.call_id, call.asterisk):
                reason += "; transferred"
            else:
                reason += "; transfer failed, call ended"
        if finish.outcome is Outcome.LATER:
            said = finish.reason.removeprefix("said: ")
            call.callback_hint = callback_hint(said, call.language) if said else None
        if isinstance(media, RecordingMedia) and self.recordings_dir is not None:
            path = await media.save(self.recordings_dir, now)
            call.recording = str(path) if path else None
        return reason
