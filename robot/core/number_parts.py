"""Language-neutral pieces of spoken numbers, shared by the Russian (``robot.core.numerals``)
and the Korean (``robot.core.numerals_ko``) readings, so neither imports the other."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def split_amount(amount: Decimal | int | float | str) -> tuple[int, int]:
    """(whole units, hundredths), rounding half up to the hundredth."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value < 0:
        raise ValueError("negative amounts are not spoken here")
    whole = int(value)
    return whole, int((value - whole) * 100)


def digit_groups(digits: str) -> list[str]:
    """Split a digit string the way phone numbers are read: up to 3 digits stay whole,
    even lengths go in pairs, odd lengths start with a triple (``12345`` -> 123 45)."""
    if len(digits) <= 3:
        return [digits]
    head = 3 if len(digits) % 2 else 2
    return [digits[:head]] + [digits[i : i + 2] for i in range(head, len(digits), 2)]
