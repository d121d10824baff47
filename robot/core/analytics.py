"""What the analytics count, per shop and purpose (pure: the reports page and ``/metrics``).

- **calls**: ended calls (each counted under the purpose it was placed with);
- **reached**: a person answered (an outcome in :data:`REACHED`);
- **confirmed** / **informed**: the call did what its purpose is for: the customer confirmed
  (``confirm``, ``courier_slot``) or heard the message (``pickup_ready``, ``storage_ending``);
  **success** is either of them.

Label cardinality stays bounded: a shop the registry does not know is counted as
:data:`OTHER`, and so is a purpose name that is not well formed.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import Any

from robot.core.models import PURPOSE_NAME, Outcome

REACHED = frozenset({
    Outcome.CONFIRMED, Outcome.REJECTED, Outcome.UNCLEAR, Outcome.DNC, Outcome.LATER,
    Outcome.OPERATOR, Outcome.CHANGED, Outcome.WRONG_NUMBER, Outcome.NOT_ORDERED,
    Outcome.INFORMED,
})  # fmt: skip
REACHED_VALUES = frozenset(o.value for o in REACHED)
SUCCESS_VALUES = frozenset({Outcome.CONFIRMED.value, Outcome.INFORMED.value})
OTHER = "other"
SEP = "\t"  # never in a shop name (no control characters) nor in a purpose name


def shop_label(shop: str | None, known: Container[str]) -> str:
    """The ``shop`` label: a registry shop's name, else :data:`OTHER`."""
    return shop if shop and shop in known else OTHER


def purpose_label(purpose: str | None) -> str:
    return purpose if purpose and PURPOSE_NAME.match(purpose) else OTHER


def counter_field(shop: str, purpose: str, outcome: str) -> str:
    """One counter's field in the per-shop statistics hash."""
    return SEP.join((shop, purpose, outcome))


def parse_counter_field(text: str) -> tuple[str, str, str] | None:
    parts = text.split(SEP)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


@dataclass
class CallTally:
    """Calls, reached, confirmed and informed of one group."""

    calls: int = 0
    reached: int = 0
    confirmed: int = 0
    informed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str | None, n: int = 1) -> None:
        value = outcome or "in_progress"
        self.calls += n
        self.reached += n if value in REACHED_VALUES else 0
        self.confirmed += n if value == Outcome.CONFIRMED.value else 0
        self.informed += n if value == Outcome.INFORMED.value else 0
        self.outcomes[value] = self.outcomes.get(value, 0) + n

    def to_json(self) -> dict[str, Any]:
        success = self.confirmed + self.informed
        return {
            "calls": self.calls,
            "reached": self.reached,
            "confirmed": self.confirmed,
            "informed": self.informed,
            "reach_rate": self.reached / self.calls if self.calls else None,
            "success_rate": success / self.calls if self.calls else None,
            "success_of_reached": success / self.reached if self.reached else None,
        }


def fold_counters(
    counters: Iterable[tuple[str, float]], known_shops: Container[str]
) -> dict[tuple[str, str], CallTally]:
    """Per-shop statistics fields (:func:`counter_field`) -> tallies by (shop, purpose) label,
    unknown shops folded into :data:`OTHER`."""
    out: dict[tuple[str, str], CallTally] = {}
    for raw, value in counters:
        parsed = parse_counter_field(raw)
        if parsed is None:
            continue
        shop, purpose, outcome = parsed
        key = (shop_label(shop, known_shops), purpose_label(purpose))
        out.setdefault(key, CallTally()).add(outcome, int(value))
    return out
