"""Each shop's call purposes and recorded clips (``ShopConfig.purpose_files``, ``clips_dir``).

A shop's purposes are the built-in ones (``robot/core/purpose_files``) with its own files read
over them in order (``robot.core.purposes.load_purposes``: a new purpose is added, one with a
built-in name is reworded key by key). The files are read again when the shop's list of files
or one file's modification time changes, so a shop edits its wording without a restart; a file
that fails validation is logged once and the shop keeps its last good purposes (the built-in
ones until it has any). :meth:`PurposeBook.check` validates a shop's files for callers that
must refuse a bad one (the registry at start, the shops API).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from robot.core.models import Order
from robot.core.purposes import (
    Purpose,
    PurposeError,
    builtin_purposes,
    load_purposes,
    purpose_for,
)
from robot.core.shops import ShopConfig
from robot.ports import ShopLookup

log = logging.getLogger(__name__)

# A shop's files and their modification times (None: the file is missing).
_Stamp = tuple[tuple[str, float | None], ...]


def _stamp(files: list[str]) -> _Stamp:
    out: list[tuple[str, float | None]] = []
    for name in files:
        try:
            out.append((name, Path(name).stat().st_mtime))
        except OSError:
            out.append((name, None))
    return tuple(out)


class PurposeBook:
    """The purposes and clips directory of each shop, looked up by the order's shop name."""

    def __init__(self, shops: ShopLookup | None = None) -> None:
        self.shops = shops
        self._lock = threading.Lock()  # prompts are rendered in worker threads too
        self._cache: dict[str, tuple[_Stamp, Mapping[str, Purpose]]] = {}

    def _shop(self, shop_name: str) -> ShopConfig | None:
        return self.shops.get(shop_name) if self.shops is not None else None

    def catalog(self, shop_name: str) -> Mapping[str, Purpose]:
        """Every purpose an order of this shop may name."""
        shop = self._shop(shop_name)
        if shop is None or not shop.purpose_files:
            return builtin_purposes()
        stamp = _stamp(shop.purpose_files)
        with self._lock:
            cached = self._cache.get(shop.name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            purposes: Mapping[str, Purpose] = load_purposes(shop.purpose_files)
        except PurposeError as e:
            kept = cached[1] if cached is not None else builtin_purposes()
            log.error("shop %s: purpose files not loaded, keeping the last good ones: %s",
                      shop.name, e)  # fmt: skip
            purposes = kept
        with self._lock:
            self._cache[shop.name] = (stamp, purposes)
        return purposes

    def for_order(self, order: Order) -> Purpose:
        """The purpose of the order's call (``UnknownPurpose`` when its shop has none)."""
        return purpose_for(order, self.catalog(order.shop_name))

    def clips_dir(self, shop_name: str) -> Path | None:
        """Where the shop's own recordings are (``<dir>/<clip key>.wav``), if it has any."""
        shop = self._shop(shop_name)
        return Path(shop.clips_dir) if shop is not None and shop.clips_dir else None

    @staticmethod
    def check(shop: ShopConfig) -> None:
        """Raise ``PurposeError`` naming the file, purpose and key if the shop's files are bad."""
        if shop.purpose_files:
            load_purposes(shop.purpose_files)
