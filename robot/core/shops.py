"""Shops as tenants: what one shop's configuration says (pure: no I/O).

One installation serves many shops. Each has its API token (which sees and changes only its own
orders), webhook URL and secret, caller ID, calling hours and time zone, call purposes and clips,
limits and pause, and a map from the statuses its CRM sends to what the robot does about them:
call with a purpose (robot.core.purposes) or stop every pending call of the order.

Loading, validation of the files, hot reload and the shops API are in the registry adapter; this
module only says what a valid configuration is and how a status is mapped.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from robot.core.models import PURPOSE_NAME, STATUS_NAME, check_zone
from robot.core.policy_config import PolicyConfig
from robot.core.purposes import PurposeError, load_purposes

# A status mapped to this ends the need for any call: pending calls are dropped and a call that
# is ringing or talking is hung up (picked up, delivered, cancelled, returned).
STOP = "stop"
SHOP_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")

# What a shop gets when its configuration does not map statuses itself. Status names follow the
# common CRM vocabulary (RetailCRM, InSales, Bitrix24 style), lower case.
DEFAULT_STATUSES: dict[str, str] = {
    "new": "confirm",
    "accepted": STOP,
    "confirmed": STOP,
    "courier_assigned": "courier_slot",
    "ready_for_pickup": "pickup_ready",
    "storage_ending": "storage_ending",
    "picked_up": STOP,
    "delivered": STOP,
    "completed": STOP,
    "cancelled": STOP,
    "canceled": STOP,
    "returned": STOP,
    "returning": STOP,
}


class ShopConfig(BaseModel):
    """One shop's settings. Unknown keys are errors: a typo must not silently do nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)  # the orders' shop_name
    # Bearer token of the shop's CRM: it sees and changes only this shop's orders.
    api_token: SecretStr | None = None
    # Where this shop's results go and the secret they are signed with; None: the
    # installation's (an order's own callback_url still wins, within the host policy).
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    caller_id: str | None = None  # From / P-Asserted-Identity; None: the trunk's
    announce_recording: bool | None = None  # the recording notice; None: the installation's
    timezone: str | None = None  # the customer's zone when order and phone don't say
    # Calling hours override, as in the policy file: "09:00-21:00", or per weekday.
    hours: str | None = None
    weekdays: dict[str, str | None] | None = None
    # status -> purpose name or "stop"; merged over DEFAULT_STATUSES.
    statuses: dict[str, str] = Field(default_factory=dict)
    # The shop's own purposes (files, JSON or YAML: robot.core.purposes) and recorded clips.
    purpose_files: list[str] = Field(default_factory=list)
    clips_dir: str | None = None
    # Admission limits across all workers; None: only the installation's limits apply.
    max_calls: int | None = Field(default=None, ge=0)
    cps: float | None = Field(default=None, ge=0)
    paused: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not SHOP_NAME.match(v):
            raise ValueError("must be 1-100 printable characters")
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        return None if v in (None, "") else check_zone(v)

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        _check_policy({"hours": v})  # "09:00-21:00", "00:00-24:00"
        return v

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: dict[str, str | None] | None) -> dict[str, str | None] | None:
        if v:
            _check_policy({"weekdays": v})  # mon..sun -> hours or null
        return v or None

    @field_validator("purpose_files")
    @classmethod
    def _purpose_files(cls, v: list[str]) -> list[str]:
        """Every file loads (robot.core.purposes): a bad one is refused naming the file, the
        purpose and the key."""
        if v:
            try:
                load_purposes(v)
            except PurposeError as e:
                raise ValueError(str(e)) from None
        return v

    @model_validator(mode="after")
    def _statuses_name_purposes(self) -> ShopConfig:
        """A status maps to a purpose that exists: built in or in the shop's files."""
        wanted = {s: a for s, a in self.statuses.items() if a != STOP}
        if wanted:
            known = load_purposes(self.purpose_files)
            for status, action in wanted.items():
                if action not in known:
                    raise ValueError(
                        f"statuses.{status}: no purpose {action!r} (built in: "
                        f"{', '.join(sorted(known))}; or add it in purpose_files)"
                    )
        return self

    @field_validator("statuses")
    @classmethod
    def _statuses(cls, v: dict[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for status, action in v.items():
            key = str(status).strip().lower()
            if not STATUS_NAME.match(key):
                raise ValueError(f"status {status!r}: must be a-z, 0-9, _ . -")
            if action != STOP and not PURPOSE_NAME.match(str(action)):
                raise ValueError(f"status {status!r}: must map to a purpose name or {STOP!r}")
            out[key] = action
        return out

    def status_map(self) -> dict[str, str]:
        return {**DEFAULT_STATUSES, **self.statuses}


def _check_policy(doc: dict[str, Any]) -> None:
    """Calling hours are read the way the policy file reads them, with its error messages."""
    from pydantic import ValidationError

    try:
        PolicyConfig.model_validate(doc)
    except ValidationError as e:
        msg = str(e.errors()[0].get("msg", "invalid")).removeprefix("Value error, ")
        raise ValueError(msg) from None


def policy_overrides(shop: ShopConfig | None) -> dict[str, Any]:
    """The shop's part of the call policy: its calling hours, weekdays and default zone."""
    if shop is None:
        return {}
    out: dict[str, Any] = {}
    if shop.hours:
        out["hours"] = shop.hours
    if shop.weekdays:
        out["weekdays"] = dict(shop.weekdays)
    if shop.timezone:
        out["default_timezone"] = shop.timezone
    return out


def shop_policy(base: PolicyConfig, shop: ShopConfig | None) -> PolicyConfig:
    """The policy a shop's calls are decided by: the installation's, with the shop's calling
    hours (its weekdays replace the installation's) and default time zone over it. Retry
    rules, attempts, holidays and the per-phone limits stay the installation's."""
    over = policy_overrides(shop)
    if not over:
        return base
    if "hours" in over and "weekdays" not in over:
        over["weekdays"] = {}  # the shop's one window holds every day
    return PolicyConfig.model_validate({**base.model_dump(), **over})


def action_for_status(shop: ShopConfig | None, status: str) -> str | None:
    """What a CRM status means for this shop: a purpose name to call about, :data:`STOP`, or
    None (a status the shop does not act on: it is recorded and changes nothing else)."""
    table = shop.status_map() if shop is not None else DEFAULT_STATUSES
    return table.get(status.strip().lower())


def parse_shops(data: Any) -> dict[str, ShopConfig]:
    """A shops document: ``{"shops": [{...}, ...]}`` or ``{name: {...}}``; ValueError naming
    the shop and field on the first bad one."""
    from pydantic import ValidationError

    if isinstance(data, dict) and isinstance(data.get("shops"), list):
        items = [(str(s.get("name", "")) if isinstance(s, dict) else "", s) for s in data["shops"]]
    elif isinstance(data, dict):
        items = [(str(k), {"name": k, **v} if isinstance(v, dict) else v) for k, v in data.items()]
    else:
        raise ValueError('shops: must be an object {name: settings} or {"shops": [...]}')
    out: dict[str, ShopConfig] = {}
    for name, raw in items:
        if not isinstance(raw, dict):
            raise ValueError(f"shops.{name}: must be an object")
        try:
            shop = ShopConfig.model_validate(raw)
        except ValidationError as e:
            err = e.errors()[0]
            where = "".join(f".{p}" for p in err.get("loc", ()))  # none: the message names it
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            raise ValueError(f"shops.{name or '?'}{where}: {msg}") from None
        if shop.name in out:
            raise ValueError(f"shops.{shop.name}: defined twice")
        out[shop.name] = shop
    return out
