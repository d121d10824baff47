"""Supervisor accounts and password hashes (standard library scrypt).

Accounts come from ``Settings.supervisors``: a JSON list, or the path of a file holding one::

    [{"name": "anna", "role": "admin", "password": "scrypt$16384$8$1$<salt>$<hash>"},
     {"name": "boris", "role": "viewer", "password": "scrypt$...", "shops": ["Ромашка"]}]

``shops`` (optional) limits the account to those shops' orders (see ``robot.web.access``);
without it the account sees every shop.

``robot passwd`` prints such a hash. With no accounts configured and the HTTP server bound to
a loopback address, a development account ``admin`` / ``admin`` exists (logged loudly); bound
to any other address there is none, and nobody can log in until accounts are configured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from robot.web.access import Role

log = logging.getLogger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
DEV_ACCOUNT = ("admin", "admin")


class AccountsError(ValueError):
    """The supervisors setting cannot be read."""


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    password_hash: str
    shops: frozenset[str] | None = None  # None: every shop


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check; False (never an exception) for a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        got = hashlib.scrypt(
            password.encode(),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def parse_accounts(raw: str) -> dict[str, Account]:
    """Accounts from a JSON list, or from the file that ``raw`` names."""
    text = raw.strip()
    if not text.startswith("["):
        path = Path(text).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise AccountsError(f"cannot read supervisors file {path}: {e}") from None
    try:
        items = json.loads(text)
    except ValueError as e:
        raise AccountsError(f"supervisors is not valid JSON: {e}") from None
    if not isinstance(items, list):
        raise AccountsError("supervisors must be a JSON list of accounts")
    accounts: dict[str, Account] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise AccountsError(f"supervisors[{i}] must be an object")
        name = str(item.get("name", "")).strip()
        pw = str(item.get("password") or item.get("password_hash") or "")
        if not name or not pw.startswith("scrypt$"):
            raise AccountsError(
                f"supervisors[{i}] needs a name and a password hash from 'robot passwd'"
            )
        try:
            role = Role(str(item.get("role", "viewer")))
        except ValueError:
            raise AccountsError(f"supervisors[{i}].role must be viewer or admin") from None
        if role not in (Role.VIEWER, Role.ADMIN):
            raise AccountsError(f"supervisors[{i}].role must be viewer or admin")
        accounts[name] = Account(name, role, pw, _shops(item.get("shops"), i))
    return accounts


def _shops(raw: object, i: int) -> frozenset[str] | None:
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(s, str) and s.strip() for s in raw)
    ):
        raise AccountsError(f"supervisors[{i}].shops must be a non-empty list of shop names")
    return frozenset(s.strip() for s in raw)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Accounts:
    """Looks supervisors up by name."""

    def __init__(self, accounts: dict[str, Account]) -> None:
        self._accounts = accounts

    @classmethod
    def from_settings(cls, supervisors: str | None, http_host: str) -> Accounts:
        if supervisors:
            accounts = parse_accounts(supervisors)
            log.info("dashboard: %d supervisor account(s) configured", len(accounts))
            return cls(accounts)
        if is_loopback(http_host):
            log.warning(
                "dashboard: no supervisors configured; development account %r / %r is enabled "
                "because HTTP listens on %s only (set DOZVON_SUPERVISORS for real accounts)",
                DEV_ACCOUNT[0],
                DEV_ACCOUNT[1],
                http_host,
            )
            name, pw = DEV_ACCOUNT
            return cls({name: Account(name, Role.ADMIN, hash_password(pw))})
        log.warning("dashboard: no supervisors configured: nobody can log in")
        return cls({})

    def __len__(self) -> int:
        return len(self._accounts)

    def get(self, name: str) -> Account | None:
        return self._accounts.get(name)

    def check(self, name: str, password: str) -> Account | None:
        """The account if the password is right. Always spends one hash, even for an unknown
        name, so response time does not tell which names exist."""
        account = self._accounts.get(name)
        if account is None:
            verify_password(password, _DUMMY_HASH)
            return None
        return account if verify_password(password, account.password_hash) else None


_DUMMY_HASH = hash_password("not a password", salt=b"\0" * 16)
