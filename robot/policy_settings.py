"""The call policy's configuration from Settings: defaults <- ``policy_file`` (JSON) <-
``policy_json`` <- ``calling_hours`` / ``shop_timezone``. Read once at start-up."""

from __future__ import annotations

import functools
import json
from typing import Any

from pydantic import ValidationError

from robot.config import PolicySettings, WebhookSettings
from robot.core.callback_url import WebhookHostPolicy
from robot.core.policy_config import PolicyConfig, merge_policy


class PolicyConfigError(ValueError):
    """The policy configuration cannot be read or is invalid; the message says where."""


def load_policy(settings: PolicySettings) -> PolicyConfig:
    docs: list[dict[str, Any]] = []
    if settings.policy_file is not None:
        try:
            docs.append(_object(json.loads(settings.policy_file.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as e:
            raise PolicyConfigError(f"policy file {settings.policy_file}: {e}") from None
    if settings.policy_json:
        try:
            docs.append(_object(json.loads(settings.policy_json)))
        except ValueError as e:
            raise PolicyConfigError(f"DOZVON_POLICY_JSON: {e}") from None
    single: dict[str, Any] = {}
    if settings.calling_hours:
        single["hours"] = settings.calling_hours
    if settings.shop_timezone:
        single["default_timezone"] = settings.shop_timezone
    docs.append(single)
    try:
        return PolicyConfig.model_validate(merge_policy({}, *docs))
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "policy"
        raise PolicyConfigError(f"call policy: {where}: {err.get('msg')}") from None


def _object(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ValueError("must be a JSON object")
    return doc


def webhook_hosts(settings: WebhookSettings) -> WebhookHostPolicy:
    """Where ``callback_url`` may point, from ``webhook_allowed_hosts`` (see callback_url)."""
    return _host_policy(tuple(settings.webhook_allowed_hosts), settings.webhook_url)


@functools.lru_cache(maxsize=16)
def _host_policy(allowed: tuple[str, ...], webhook_url: str | None) -> WebhookHostPolicy:
    return WebhookHostPolicy.from_settings(list(allowed), webhook_url)
