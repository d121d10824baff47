"""The DOZVON_REDIS_URL forms: plain Redis URLs pass through, the Sentinel form is parsed and
checked with errors that say what is wrong (and never echo a password)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from robot.adapters.redis_connect import (
    FailoverConnection,
    RedisUrlError,
    SentinelRedis,
    SentinelTarget,
    parse_redis_url,
    redis_client,
)
from robot.config import Settings


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://u:p@h:6380/1", "unix:///run/redis.sock"]
)
def test_plain_urls_are_left_to_redis_py(url):
    assert parse_redis_url(url) is None


def test_sentinel_form_with_password_default_port_and_db():
    t = parse_redis_url("redis+sentinel://:s%40cret@10.0.0.1:26380,10.0.0.2,[::1]:26381/dozvon/3")
    assert t == SentinelTarget(
        sentinels=(("10.0.0.1", 26380), ("10.0.0.2", 26379), ("::1", 26381)),
        service="dozvon", db=3, password="s@cret",
    )  # fmt: skip
    assert t.describe() == "redis+sentinel://10.0.0.1:26380,10.0.0.2:26379,::1:26381/dozvon/3"


def test_sentinel_form_user_and_sentinel_credentials():
    t = parse_redis_url(
        "redis+sentinel://app:pw@h1:1,h2:2/m?sentinel_password=sp&sentinel_username=su"
    )
    assert t is not None
    assert (t.username, t.password, t.db) == ("app", "pw", 0)
    assert (t.sentinel_username, t.sentinel_password) == ("su", "sp")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("redis+sentinel://h1:26379", "no service name"),
        ("redis+sentinel://h1:26379/", "no service name"),
        ("redis+sentinel://h1:26379/m/x", "database 'x' is not a number"),
        ("redis+sentinel://h1:26379/m/0/extra", "/<service>[/<db>]"),
        ("redis+sentinel://h1:nope/m", "'h1:nope' is not host[:port]"),
        ("redis+sentinel://h1,,h2/m", "'' is not host[:port]"),
        ("redis+sentinel://h1:70000/m", "out of range"),
        ("redis+sentinel://h1/m?timeout=3", "unknown query parameter(s) timeout"),
        ("sentinel://h1/m", "unknown scheme 'sentinel'"),
        ("127.0.0.1:6379", "no scheme"),
    ],
)
def test_bad_urls_say_what_is_wrong(url, why):
    with pytest.raises(RedisUrlError, match="Sentinel form: redis\\+sentinel://") as e:
        parse_redis_url(url)
    assert why in str(e.value)


def test_settings_refuse_a_bad_url_without_echoing_its_password():
    with pytest.raises(ValidationError) as e:
        Settings(redis_url="redis+sentinel://:hunter2@h1:bad/m")
    assert "is not host[:port]" in str(e.value)
    assert "hunter2" not in str(e.value)
    ok = "redis+sentinel://:pw@127.0.0.1:26379,127.0.0.1:26380/dozvon/0"
    assert Settings(redis_url=ok).redis_url == ok


async def test_sentinel_client_is_wired_for_failover():
    """No I/O: the client asks the sentinels before each connect and closes them with it."""
    r = redis_client("redis+sentinel://:pw@127.0.0.1:1,127.0.0.1:2/dozvon/2", retries=3)
    assert isinstance(r, SentinelRedis)
    pool = r.connection_pool
    assert pool.connection_class is FailoverConnection
    kw = pool.connection_kwargs
    assert (kw["db"], kw["password"], kw["decode_responses"]) == (2, "pw", True)
    assert kw["retry"].get_retries() == 3 and kw["socket_timeout"] > 1.0
    assert r.sentinel_manager is not None and len(r.sentinel_manager.sentinels) == 2
    await r.aclose()
    assert r.sentinel_manager is None
