"""Where results may be POSTed: the syntax of a ``callback_url`` and the webhook host policy.

Pure (no DNS, no sockets): the intake checks the URL text and the host as written; the
deliverer asks the same :class:`WebhookHostPolicy` again about every address a name resolves
to, at connect time (see ``robot.adapters.webhook_target``), so a name that later resolves to
an internal address (DNS rebinding) is refused too.

Facts relied on:
- RFC 1035 / 1123 host names: labels of 1-63 letters, digits and hyphens (not at either end),
  at most 253 characters in all; one trailing dot is the root (``crm.example.``).
- Internationalized names are checked by IDNA 2008 with UTS 46 mapping (the ``idna`` package,
  what ``yarl``/aiohttp use) and kept in their ASCII form (``xn--...``).
- Ports are 1-65535. IPv6 literals are bracketed (``http://[::1]:8080/``).
- "Private" is Python's ``ipaddress`` view: loopback, RFC 1918 / unique-local, link-local
  (cloud metadata at 169.254.169.254), CGNAT, multicast, reserved and unspecified addresses
  are all internal. IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import idna

MAX_URL_LENGTH = 2048
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class CallbackUrlError(ValueError):
    """A callback URL that cannot or may not be used; the text says why."""


@dataclass(frozen=True)
class CallbackTarget:
    """A checked callback URL: the host in ASCII (no brackets, no trailing dot)."""

    url: str
    scheme: str
    host: str
    port: int
    ip: IPAddress | None  # the host is an IP literal

    @property
    def origin(self) -> tuple[str, int]:
        return (self.host, self.port)


def ascii_host(host: str) -> str:
    """A host name in its ASCII (IDNA) form, lower case, checked label by label."""
    name = host[:-1] if host.endswith(".") else host
    if not name:
        raise CallbackUrlError("has no host")
    try:
        name = idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as e:
        raise CallbackUrlError(f"has an invalid host name: {e}") from None
    if len(name) > 253:
        raise CallbackUrlError("host name is longer than 253 characters")
    for label in name.split("."):
        if not label:
            raise CallbackUrlError("host name has an empty label")
        if len(label) > 63:
            raise CallbackUrlError("host name has a label longer than 63 characters")
        if not _LABEL.match(label):
            raise CallbackUrlError(f"host name label {label!r} is not letters, digits, hyphens")
    return name


def parse_ip(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def parse_callback_url(url: str) -> CallbackTarget:
    """Check the syntax of an http(s) URL a delivery can be made to; raise
    :class:`CallbackUrlError` with the reason."""
    if len(url) > MAX_URL_LENGTH:
        raise CallbackUrlError(f"is longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(url):
        raise CallbackUrlError("contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise CallbackUrlError(f"is not a valid URL: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise CallbackUrlError("must be an http(s) URL")
    host = parts.hostname or ""
    if not host:
        raise CallbackUrlError("has no host")
    if port == 0:
        raise CallbackUrlError("port must be 1-65535")
    if "[" in parts.netloc:
        ip = parse_ip(host)
        if ip is None or not isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            raise CallbackUrlError("has an invalid IPv6 address")
        name = str(ip)
    else:
        ip = parse_ip(host) if re.fullmatch(r"[0-9.]+", host) else None
        if re.fullmatch(r"[0-9.]+", host) and ip is None:
            raise CallbackUrlError("has an invalid IPv4 address")
        name = str(ip) if ip is not None else ascii_host(host)
    return CallbackTarget(url, scheme, name, port or (443 if scheme == "https" else 80), ip)


def is_internal(ip: IPAddress) -> bool:
    """Loopback, private, link-local, shared, multicast, reserved or unspecified."""
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    ip = mapped or ip
    return not ip.is_global or ip.is_multicast


@dataclass(frozen=True)
class HostRule:
    """One allowlist entry: a host name (``*.`` for its subdomains), an address or a network,
    optionally with ``:port``."""

    host: str | None = None  # ASCII name; with ``wildcard`` the parent domain
    wildcard: bool = False
    network: IPNetwork | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostRule:
        entry = text.strip().lower()
        port: int | None = None
        m = re.fullmatch(r"\[([0-9a-f:.]+)\](?::(\d{1,5}))?", entry)
        if m:
            entry, port = m.group(1), int(m.group(2)) if m.group(2) else None
        elif entry.count(":") == 1:
            entry, _, p = entry.partition(":")
            if not p.isdigit():
                raise ValueError(f"bad port in webhook host rule {text!r}")
            port = int(p)
        if port is not None and not 1 <= port <= 65535:
            raise ValueError(f"bad port in webhook host rule {text!r}")
        try:
            net = ipaddress.ip_network(entry, strict=False)
            return cls(network=net, port=port)
        except ValueError:
            pass
        wildcard = entry.startswith("*.")
        try:
            name = ascii_host(entry[2:] if wildcard else entry)
        except CallbackUrlError as e:
            raise ValueError(f"webhook host rule {text!r}: {e}") from None
        return cls(host=name, wildcard=wildcard, port=port)

    def _port_ok(self, port: int) -> bool:
        return self.port is None or self.port == port

    def matches_name(self, host: str, port: int) -> bool:
        if self.host is None or not self._port_ok(port):
            return False
        return host.endswith("." + self.host) if self.wildcard else host == self.host

    def matches_ip(self, ip: IPAddress, port: int) -> bool:
        return self.network is not None and self._port_ok(port) and ip in self.network


@dataclass(frozen=True)
class WebhookHostPolicy:
    """Which hosts callbacks may go to.

    - With no rules, any host with public addresses; internal addresses are refused.
    - With rules, only hosts matching one; a name on the list may resolve to internal
      addresses, and a network on the list allows its addresses (``127.0.0.1:8001``).
    - The operator's own ``webhook_url`` is always allowed (its exact host and port), since
      it is configured by the same hand as the rules.
    """

    rules: tuple[HostRule, ...] = ()
    trusted_origins: frozenset[tuple[str, int]] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, allowed_hosts: list[str], webhook_url: str | None) -> WebhookHostPolicy:
        rules = tuple(HostRule.parse(h) for h in allowed_hosts if h.strip())
        origins: set[tuple[str, int]] = set()
        if webhook_url:
            try:
                origins.add(parse_callback_url(webhook_url).origin)
            except CallbackUrlError:
                pass  # a bad configured URL fails at delivery, with its reason
        return cls(rules, frozenset(origins))

    def trusting(self, *urls: str | None) -> WebhookHostPolicy:
        """This policy with the origins of more configured URLs trusted (shops' webhooks)."""
        origins = set(self.trusted_origins)
        for url in urls:
            if url:
                try:
                    origins.add(parse_callback_url(url).origin)
                except CallbackUrlError:
                    pass  # a bad configured URL fails at delivery, with its reason
        return WebhookHostPolicy(self.rules, frozenset(origins))

    def _name_listed(self, host: str, port: int) -> bool:
        return any(r.matches_name(host, port) for r in self.rules)

    def check_target(self, target: CallbackTarget) -> None:
        """The URL's host as written (before DNS); raises :class:`CallbackUrlError`."""
        if target.origin in self.trusted_origins:
            return
        if target.ip is not None:
            self.check_address(target, target.ip)
            return
        if self.rules and not self._name_listed(target.host, target.port):
            raise CallbackUrlError(f"host {target.host} is not in DOZVON_WEBHOOK_ALLOWED_HOSTS")
        if target.host == "localhost" or target.host.endswith(".localhost"):
            if not self._name_listed(target.host, target.port):
                raise CallbackUrlError("points at this machine (localhost)")

    def check_address(self, target: CallbackTarget, ip: IPAddress) -> None:
        """One address the host resolved to (or the literal); raises
        :class:`CallbackUrlError` if deliveries may not connect to it."""
        self.check_resolved(target.host, target.port, ip, literal=target.ip is not None)

    def check_resolved(self, host: str, port: int, ip: IPAddress, *, literal: bool) -> None:
        """Whether a connection to ``ip`` for ``host:port`` is allowed (see the class)."""
        if (host, port) in self.trusted_origins:
            return
        ip = parse_ip(str(ip)) or ip
        if any(r.matches_ip(ip, port) for r in self.rules):
            return
        if not literal and self._name_listed(host, port):
            return
        if literal and self.rules:
            raise CallbackUrlError(f"address {ip} is not in DOZVON_WEBHOOK_ALLOWED_HOSTS")
        if is_internal(ip):
            raise CallbackUrlError(f"address {ip} is internal (loopback, private or link-local)")

    def check_url(self, url: str) -> CallbackTarget:
        target = parse_callback_url(url)
        self.check_target(target)
        return target


OPEN_POLICY = WebhookHostPolicy()
