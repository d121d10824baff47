"""Log lines that cannot be forged and do not leak phone numbers.

- Anything from the wire (paths, names, error texts) may carry CR/LF or other control
  characters; written raw they start a fake log line. :func:`clean` escapes them
  (``\\r`` -> ``\\x0d``) and bounds the length; :class:`SafeFormatter` does the same to every
  message as the last line of defence (tracebacks stay multi-line: they are ours).
- Phone numbers are masked outside DEBUG (house rule 6). E.164 numbers (``+`` and 8-15
  digits) are masked in every message by the formatter; :func:`safe_path` also masks the
  national forms a path may carry (``/api/v1/dnc/89161234567``).
"""

from __future__ import annotations

import logging
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_E164 = re.compile(r"(?<![\w+])\+\d{8,15}(?!\d)")
_DIGIT_RUN = re.compile(r"(?<!\d)(?:%2[bB]|\+)?\d[\d\-.()%20 ]{5,20}\d(?!\d)")


def _escape(m: re.Match[str]) -> str:
    return f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"


def clean(text: object, limit: int = 300) -> str:
    """``text`` with control characters escaped, cut to ``limit`` characters."""
    s = _CONTROL.sub(_escape, str(text))
    return s if len(s) <= limit else s[:limit] + "..."


def _mask(digits: str) -> str:
    return digits[:4] + "***" + digits[-2:] if len(digits) > 6 else "***"


def mask_phones(text: str) -> str:
    """E.164 numbers in ``text`` masked: ``+79161234567`` -> ``+791***67``."""
    return _E164.sub(lambda m: _mask(m.group()), text)


def safe_path(path: str, limit: int = 200) -> str:
    """A request path for a log line: runs of seven or more digits (phones in any format)
    masked, control characters escaped."""
    masked = _DIGIT_RUN.sub(
        lambda m: _mask(m.group()) if sum(c.isdigit() for c in m.group()) >= 7 else m.group(),
        path,
    )
    return clean(masked, limit)


class SafeFormatter(logging.Formatter):
    """Escapes control characters in every message; masks E.164 numbers unless the record
    is DEBUG."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        message = _CONTROL.sub(_escape, record.message)
        if record.levelno > logging.DEBUG:
            message = mask_phones(message)
        record.message = message
        return super().formatMessage(record)


def install(level: int) -> None:
    """Root logging to stderr through :class:`SafeFormatter` (the CLI's setup)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
