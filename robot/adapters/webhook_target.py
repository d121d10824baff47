"""Where a webhook may connect: the host policy applied at connect time (SSRF guard).

aiohttp facts relied on (3.9+):
- The connector asks its resolver for every host name and connects only to the addresses it
  returns, so a resolver that drops refused addresses decides what is connected to: a name
  checked at intake that now resolves to 127.0.0.1 (DNS rebinding) gets no connection.
- IP literals skip the resolver; :meth:`TargetGuard.check_url` checks them before the request.
- An ``OSError`` from the resolver reaches the caller as ``ClientConnectorDNSError`` with the
  original in ``os_error``; that is how a refusal is told from a DNS failure (permanent vs
  transient).
- ``trust_env`` stays off (no proxy from the environment) and redirects are not followed, so
  nothing but the checked address is ever contacted.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from robot.core.callback_url import (
    CallbackTarget,
    CallbackUrlError,
    WebhookHostPolicy,
    ascii_host,
    parse_ip,
)


class TargetRefused(OSError):
    """The policy forbids connecting to any address this host resolves to."""


class GuardedResolver(AbstractResolver):
    """Resolves with ``inner`` and keeps only the addresses the policy allows."""

    def __init__(
        self,
        policy: WebhookHostPolicy,
        inner: AbstractResolver | None = None,
        *,
        current: Callable[[], WebhookHostPolicy] | None = None,
    ) -> None:
        """``current``: where the policy in force is read at each lookup (shops' webhooks
        change at run time); else ``policy`` holds."""
        self.policy = policy
        self.current = current
        self.inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        try:
            name = ascii_host(host)
        except CallbackUrlError as e:
            raise TargetRefused(str(e)) from None
        policy = self.current() if self.current is not None else self.policy
        allowed, reasons = [], []
        for r in results:
            ip = parse_ip(r["host"])
            if ip is None:
                continue
            try:
                policy.check_resolved(name, port, ip, literal=False)
            except CallbackUrlError as e:
                reasons.append(str(e))
                continue
            allowed.append(r)
        if not allowed:
            raise TargetRefused(f"{name} resolves to no allowed address: "
                                f"{'; '.join(reasons) or 'no address'}")  # fmt: skip
        return allowed

    async def close(self) -> None:
        await self.inner.close()


class TargetGuard:
    """The policy at both ends: the URL as written, and the addresses it resolves to."""

    def __init__(self, policy: WebhookHostPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner

    def check_url(self, url: str) -> CallbackTarget:
        """Raises :class:`CallbackUrlError` for a URL no delivery may go to."""
        return self.policy.check_url(url)

    def connector(self, *, limit: int, limit_per_host: int) -> aiohttp.TCPConnector:
        return aiohttp.TCPConnector(
            resolver=GuardedResolver(self.policy, self.inner, current=lambda: self.policy),
            limit=limit,
            limit_per_host=limit_per_host,
            ttl_dns_cache=10,
        )


def refusal(error: BaseException) -> str | None:
    """The policy's reason if ``error`` is a connect-time refusal, else None."""
    if isinstance(error, TargetRefused):
        return str(error)
    os_error: Any = getattr(error, "os_error", None)
    if isinstance(os_error, TargetRefused):
        return str(os_error)
    cause = error.__cause__ or error.__context__
    return str(cause) if isinstance(cause, TargetRefused) else None
