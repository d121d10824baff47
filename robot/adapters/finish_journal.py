"""The finish journal: call results kept in local files while Redis cannot take them.

Implements ``robot.ports.FinishJournal``. Why files: an answer the customer gave must survive
both a Redis outage and a worker restart during it; memory alone survives only the first.

File facts this module relies on:

- One directory (``Settings.finish_journal_dir``, default ``var/journal``), one file per
  running process, ``<worker id>.jsonl``, held with ``flock(LOCK_EX)`` while the process
  lives (the lock goes with the process, also on kill -9). Several workers may share the
  directory; none reads a live worker's file.
- JSON Lines, append-only: ``{"op": "pending", "finish": {...}}`` when a result is kept,
  ``{"op": "applied", "call_id": ...}`` when the store has it. The state is the fold of the
  lines: a call id is pending when its last line is ``pending``; a later ``pending`` line of
  the same call replaces the earlier one (the answer at the goodbye, then the whole result).
- Every write is ``os.write`` + ``os.fsync`` before it returns, and the directory is fsynced
  when a file is created or removed, so what was written survives a power cut.
- A process killed mid-write leaves a torn last line: lines that do not parse are skipped
  (with a warning), never fatal.
- ``pending()`` also adopts the files of dead workers (those whose lock can be taken): their
  pending lines are copied into this process's file (synced) and their file is removed. A
  crash between the two leaves a line in both: replaying it twice is harmless, as the store's
  ``finish_call`` is idempotent per call id.
- The own file is truncated to empty whenever nothing is pending (the normal state: one
  pending and one applied line per answered call, then empty) and removed at ``close``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from robot.core.models import CallAttempt, OrderStatus
from robot.ports import PendingFinish

log = logging.getLogger(__name__)


class JournalError(OSError):
    """The journal directory cannot be used."""


def _encode(finish: PendingFinish) -> dict[str, Any]:
    return {
        "call": finish.call.model_dump(mode="json"),
        "status": finish.status.value,
        "at": finish.at.isoformat(),
        "reason": str(finish.reason),
        "due_at": finish.due_at.isoformat() if finish.due_at else None,
    }


def _decode(data: dict[str, Any]) -> PendingFinish:
    return PendingFinish(
        call=CallAttempt.model_validate(data["call"]),
        status=OrderStatus(data["status"]),
        at=datetime.fromisoformat(data["at"]),
        reason=data.get("reason") or "",
        due_at=datetime.fromisoformat(data["due_at"]) if data.get("due_at") else None,
    )


def fold(data: bytes, source: str = "journal") -> dict[str, PendingFinish]:
    """The pending results a journal's bytes describe, oldest first."""
    pending: dict[str, PendingFinish] = {}
    for n, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
            if entry["op"] == "pending":
                finish = _decode(entry["finish"])
                pending.pop(finish.call.call_id, None)  # the newer one goes last
                pending[finish.call.call_id] = finish
            elif entry["op"] == "applied":
                pending.pop(str(entry["call_id"]), None)
        except (ValueError, KeyError, TypeError) as e:
            log.warning("finish journal %s: line %d unreadable, skipped: %s", source, n, e)
    return pending


def _line(entry: dict[str, Any]) -> bytes:
    return (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class FileFinishJournal:
    def __init__(self, directory: Path, name: str) -> None:
        self.directory = Path(directory)
        self.name = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "worker"
        self.path = self.directory / f"{self.name}.jsonl"
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pending: dict[str, PendingFinish] = {}  # what this file holds, folded

    # -- FinishJournal -------------------------------------------------------------------------

    def record(self, finish: PendingFinish) -> None:
        with self._lock:
            self._write(_line({"op": "pending", "finish": _encode(finish)}))
            self._pending.pop(finish.call.call_id, None)
            self._pending[finish.call.call_id] = finish

    def applied(self, call_id: str) -> None:
        with self._lock:
            if call_id not in self._pending:
                return
            del self._pending[call_id]
            fd = self._open()
            if self._pending:
                self._write(_line({"op": "applied", "call_id": call_id}))
            else:  # nothing left: the empty file says so, no line needed
                os.ftruncate(fd, 0)
                os.fsync(fd)

    def pending(self) -> list[PendingFinish]:
        with self._lock:
            self._open()
            self._adopt_orphans()
            return list(self._pending.values())

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Release this process's file (removed when nothing is pending)."""
        with self._lock:
            if self._fd is None:
                return
            if not self._pending:
                with contextlib.suppress(OSError):
                    self.path.unlink()
                    self._sync_dir()
            os.close(self._fd)  # releases the lock
            self._fd = None

    # -- internals -----------------------------------------------------------------------------

    def _open(self) -> int:
        if self._fd is not None:
            return self._fd
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as e:
            raise JournalError(f"finish journal {self.path}: {e}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            raise JournalError(f"finish journal {self.path} is in use by another process") from e
        self._fd = fd
        self._sync_dir()
        size = os.fstat(fd).st_size
        if size:  # our own name from an earlier life (a fixed worker id): take it over
            self._pending = fold(os.pread(fd, size, 0), str(self.path))
        return fd

    def _write(self, data: bytes) -> None:
        fd = self._open()
        os.write(fd, data)
        os.fsync(fd)

    def _adopt_orphans(self) -> None:
        for other in sorted(self.directory.glob("*.jsonl")):
            if other == self.path:
                continue
            try:
                fd = os.open(other, os.O_RDWR)
            except OSError:
                continue  # removed meanwhile
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live worker's
                size = os.fstat(fd).st_size
                found = fold(os.pread(fd, size, 0), str(other)) if size else {}
                for finish in found.values():
                    if finish.call.call_id not in self._pending:
                        self._write(_line({"op": "pending", "finish": _encode(finish)}))
                        self._pending[finish.call.call_id] = finish
                if found:
                    log.warning("finish journal: adopted %d result(s) of %s", len(found), other)
                other.unlink()
                self._sync_dir()
            finally:
                os.close(fd)

    def _sync_dir(self) -> None:
        dfd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
