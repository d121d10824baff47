"""A clock the test moves: for the components that take ``clock=`` (token buckets, the
admission gate, recordings), so time-dependent behaviour is checked without waiting."""

from __future__ import annotations


class ManualClock:
    """Calling it returns ``t`` (seconds); the test sets or advances ``t``."""

    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t
