"""Call results on their way to the store: written at once, or kept until the store is back.

A customer's answer is never lost to a store outage, and never leads to a second call:

- When the dialog decides a conclusive answer (yes, no, do-not-call, operator), the result is
  written to the finish journal (``ports.FinishJournal``, a synced local file) before the
  goodbye plays (``record``). When the call ends, ``finish`` writes it to the store; if the
  store is unreachable, the complete result is kept in memory and in the journal instead.
- Kept results are written again, oldest first (``flush``), before the dialer claims anything
  and before its lease reaper runs: an order whose lease ran out while Redis was away is
  settled by its answer, not requeued and dialed again. ``finish_call`` is idempotent per call
  id, so writing a result twice (a retry, a replay after a restart) applies it once.
- At start the service replays the journal (``restore``) before the first dial.
"""

from __future__ import annotations

import asyncio
import logging

from robot.ports import FinishJournal, OrderStore, PendingFinish

log = logging.getLogger(__name__)


class KeptResults:
    def __init__(self, store: OrderStore, journal: FinishJournal | None) -> None:
        self.store = store
        self.journal = journal  # None: results the store refuses are kept in memory only
        self._unsaved: dict[str, PendingFinish] = {}  # call id -> result not in the store yet
        self._journaled: set[str] = set()  # call ids with a pending line in the journal
        self._flush_lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._unsaved)

    async def restore(self) -> int:
        """Load the journal's pending results (a restart during a store outage) and write
        them; call before the first dial. Returns how many were pending."""
        if self.journal is None:
            return 0
        pending = await asyncio.to_thread(self.journal.pending)
        for finish in pending:
            self._unsaved[finish.call.call_id] = finish
            self._journaled.add(finish.call.call_id)
        if pending:
            log.warning("finish journal: %d result(s) from before the restart", len(pending))
            await self.flush()
        return len(pending)

    async def flush(self) -> bool:
        """Write kept results to the store, oldest first; True when none is left."""
        async with self._flush_lock:
            for call_id, finish in list(self._unsaved.items()):
                if self._unsaved.get(call_id) is not finish:
                    continue  # written meanwhile
                try:
                    await self._apply(finish)
                except LookupError as e:  # the order is gone from the store: nothing to settle
                    log.error("call %s: result dropped, order unknown: %r", call_id, e)
                    await self._forget(call_id)
                except Exception as e:
                    log.warning("%d call result(s) still not in the store: %r",
                                len(self._unsaved), e)  # fmt: skip
                    return False
                else:
                    log.info("order %s call %s: kept result written (%s)",
                             finish.call.order_id, call_id, finish.status.value)  # fmt: skip
            return not self._unsaved

    async def finish(self, finish: PendingFinish) -> None:
        """Write a call's result; if the store is unreachable, keep it (memory + journal)."""
        try:
            await self._apply(finish)
            return
        except LookupError as e:
            log.error("call %s: result dropped, order unknown: %r", finish.call.call_id, e)
            await self._forget(finish.call.call_id)
            return
        except Exception as e:
            log.error("order %s call %s: result not stored (%r); kept until the store is back",
                      finish.call.order_id, finish.call.call_id, e)  # fmt: skip
        self._unsaved[finish.call.call_id] = finish
        await self.record(finish)

    async def record(self, finish: PendingFinish) -> None:
        """Keep ``finish`` in the journal (a conclusive answer at the goodbye, or a result the
        store refused); the store's confirmation removes it."""
        if self.journal is None:
            return
        try:
            await asyncio.to_thread(self.journal.record, finish)
            self._journaled.add(finish.call.call_id)
        except OSError as e:
            log.critical("call %s: result not journaled (%r): only in memory now",
                         finish.call.call_id, e)  # fmt: skip

    async def _apply(self, finish: PendingFinish) -> None:
        await self.store.finish_call(
            finish.call, finish.status, finish.at, reason=finish.reason, due_at=finish.due_at
        )
        await self._forget(finish.call.call_id)

    async def _forget(self, call_id: str) -> None:
        self._unsaved.pop(call_id, None)
        if self.journal is not None and call_id in self._journaled:
            try:
                await asyncio.to_thread(self.journal.applied, call_id)
                self._journaled.discard(call_id)
            except OSError as e:  # replayed once more at the next start: harmless
                log.warning("finish journal: could not mark call %s applied: %r", call_id, e)
