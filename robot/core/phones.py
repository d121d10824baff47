"""Phone number normalization to E.164 and masking for logs."""

from __future__ import annotations

import phonenumbers


class PhoneError(ValueError):
    """A phone number that cannot be dialed."""


def normalize_phone(raw: str, default_region: str = "RU") -> str:
    """Return ``raw`` as E.164 (``+79161234567``) or raise :class:`PhoneError`.

    Numbers without a country code are read in ``default_region``; a Russian trunk prefix 8
    (``8 916 ...``) is understood by phonenumbers itself.
    """
    text = raw.strip()
    if not text:
        raise PhoneError("is empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        num = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as e:
        raise PhoneError(f"not a phone number ({e})") from None
    if not phonenumbers.is_possible_number(num):
        raise PhoneError("not a possible phone number")
    if not phonenumbers.is_valid_number(num):
        raise PhoneError("not a valid phone number")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """``+79161234567`` -> ``+7916***4567``: enough to tell calls apart, not to dial."""
    if len(e164) <= 8:
        return e164[:2] + "***"
    return e164[:5] + "***" + e164[-4:]


def phone_timezones(e164: str) -> list[str]:
    """Time zones phonenumbers associates with the number (may be several or unknown)."""
    from phonenumbers import timezone as pn_tz

    try:
        num = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return []
    return [z for z in pn_tz.time_zones_for_number(num) if z != "Etc/Unknown"]
