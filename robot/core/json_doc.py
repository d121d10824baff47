"""JSON documents from the outside (HTTP bodies, stream entries), parsed with limits.

Pure. What ``json.loads`` alone lets through and why each is refused here:
- nesting deeper than the C decoder's recursion guard raises ``RecursionError`` (not a
  ``ValueError``), which handlers did not expect; deep but legal nesting then recursed again in
  validation. Orders are flat, so more than ``MAX_DEPTH`` levels is refused up front;
- ``NaN``, ``Infinity`` and numbers that overflow to infinity (``1e400``) are not JSON numbers
  any field can hold (``int(inf)`` raises ``OverflowError``);
- integers of more than 4 300 digits raise ``ValueError`` (CPython's int limit): reported as
  invalid JSON like any other syntax error.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32


class InvalidJson(ValueError):
    """A document that is not JSON we accept; ``field`` names where (``body`` for the whole)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _offender(doc: Any, max_depth: int) -> tuple[str, str] | None:
    """(top-level key or ``body``, what is wrong) for the first part of ``doc`` that nests
    deeper than ``max_depth`` or holds a non-finite number; iterative, so it cannot itself
    run out of stack."""
    stack: list[tuple[Any, int, str]] = [(doc, 1, "body")]
    while stack:
        node, depth, top = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return top, "number out of range (NaN, Infinity or beyond 1.8e308)"
        if isinstance(node, dict):
            children: Any = node.items()
        elif isinstance(node, list):
            children = ((top, v) for v in node)
        else:
            continue
        if depth > max_depth:
            return top, f"nested more than {max_depth} levels deep"
        for key, value in children:
            stack.append((value, depth + 1, str(key) if depth == 1 else top))
    return None


def loads(raw: bytes | str, *, field: str = "body", max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``raw``; raise :class:`InvalidJson` naming ``field`` (or the top-level key that
    nests too deeply) for anything we do not accept."""
    try:
        doc = json.loads(raw)
    except RecursionError:
        raise InvalidJson(field, f"nested more than {max_depth} levels deep") from None
    except (ValueError, UnicodeDecodeError, TypeError) as e:
        raise InvalidJson(field, f"not valid JSON: {str(e)[:200]}") from None
    offender = _offender(doc, max_depth)
    if offender is not None:
        where, what = offender
        raise InvalidJson(field if where == "body" else where, what)
    return doc
