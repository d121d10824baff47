"""Supervisor sessions: a signed cookie naming a server-side session in Redis.

The cookie holds ``<session id>.<HMAC-SHA256 of the id>``; the session itself (user, CSRF
token, language) lives in Redis under ``web:session:{id}`` with a sliding expiry, so logging out
or removing an account ends it everywhere at once. The signing key is ``session_secret`` from
the settings, or else one random key shared by every process through Redis (``web:secret``).

CSRF: every session has its own random token; the dashboard sends it in the ``X-CSRF-Token``
header (or a ``csrf`` form field) with each state-changing request. The login form, which has
no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from robot.adapters.redis_keys import PREFIX, RedisKeys

COOKIE = "dozvon_session"
LOGIN_CSRF_COOKIE = "dozvon_login_csrf"


@dataclass(frozen=True)
class Session:
    sid: str
    user: str
    csrf: str
    lang: str
    created_at: str


def _sign(key: bytes, value: str) -> str:
    mac = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


class SessionStore:
    def __init__(
        self,
        redis: Redis,
        *,
        secret: str | None = None,
        ttl_s: float = 12 * 3600,
        prefix: str = PREFIX,
    ) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self.prefix = prefix
        self.keys = RedisKeys(prefix)
        self._key: bytes | None = secret.encode() if secret else None

    async def signing_key(self) -> bytes:
        if self._key is None:
            await self.redis.set(self.keys.web_secret, secrets.token_urlsafe(32), nx=True)
            self._key = str(await self.redis.get(self.keys.web_secret)).encode()
        return self._key

    async def cookie_for(self, session: Session) -> str:
        return f"{session.sid}.{_sign(await self.signing_key(), session.sid)}"

    async def create(self, user: str, lang: str, now: datetime | None = None) -> Session:
        session = Session(
            sid=secrets.token_urlsafe(32),
            user=user,
            csrf=secrets.token_urlsafe(32),
            lang=lang,
            created_at=(now or datetime.now(UTC)).isoformat(),
        )
        key = self.keys.web_session(session.sid)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "user": session.user,
                    "csrf": session.csrf,
                    "lang": session.lang,
                    "created_at": session.created_at,
                },
            )
            pipe.expire(key, int(self.ttl_s))
            await pipe.execute()
        return session

    async def load(self, cookie: str | None) -> Session | None:
        """The session a cookie names, if its signature holds and it has not expired; each
        use extends it by ``ttl_s``."""
        if not cookie or "." not in cookie:
            return None
        sid, _, sig = cookie.rpartition(".")
        if not hmac.compare_digest(sig.encode(), _sign(await self.signing_key(), sid).encode()):
            return None
        key = self.keys.web_session(sid)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            pipe.expire(key, int(self.ttl_s))
            h, _ = await pipe.execute()
        if not h or "user" not in h:
            return None
        return Session(sid, h["user"], h["csrf"], h.get("lang", "ru"), h.get("created_at", ""))

    async def set_lang(self, session: Session, lang: str) -> None:
        await self.redis.hset(self.keys.web_session(session.sid), "lang", lang)

    async def delete(self, session: Session) -> None:
        await self.redis.delete(self.keys.web_session(session.sid))


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
