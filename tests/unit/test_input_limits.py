"""Issue 12: callback URLs and the webhook host policy, JSON limits, zones, safe log lines.
All addresses here are loopback (the test rule): internal targets are proven refused with
127.0.0.1, ::1 and names that mean this machine."""

from __future__ import annotations

import ipaddress
import logging

import pytest

from robot.core.callback_url import (
    CallbackUrlError,
    HostRule,
    WebhookHostPolicy,
    parse_callback_url,
)
from robot.core.json_doc import InvalidJson, loads
from robot.core.models import OrderError, check_zone, parse_order
from robot.core.policy_config import PolicyConfig
from robot.logsafe import SafeFormatter, clean, mask_phones, safe_path

BASE = {"order_id": "1", "phone": "+79161234567", "amount": "10", "shop_name": "Shop"}


@pytest.mark.parametrize(
    "url",
    [
        "http://a..b/",  # the poison of issue 12: an empty label
        "http://" + "a" * 64 + ".example/",  # a label over 63 characters
        "http://" + ("a" * 60 + ".") * 5 + "example/",  # a name over 253 characters
        "http://crm.example:99999/",  # port out of range
        "http://crm.example:0/",
        "http://crm.example:port/",
        "http://crm.example/\r\nX-Injected: 1",
        "http:// crm.example/",
        "ftp://crm.example/",
        "http:///path-only",
        "http://-crm.example/",
        "http://crm_example.test/",
        "http://[::zz]/",
        "http://127.1/",  # short IPv4 forms are ambiguous between resolvers
        "http://2130706433/",
        "https://" + "x" * 2100 + ".example/",
    ],
)
def test_undeliverable_callback_urls_are_422_naming_the_field(url):
    with pytest.raises(OrderError) as e:
        parse_order({**BASE, "callback_url": url})
    assert e.value.field == "callback_url"


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example/dozvon",
        "https://crm.example:8443/a?b=c",
        "http://пример.рф/hook",  # internationalized, sent as xn--
        "https://user:secret@crm.example/x",
        "https://crm.example./x",
    ],
)
def test_good_public_callback_urls_pass(url):
    assert parse_order({**BASE, "callback_url": url}).callback_url == url


def test_idna_host_is_kept_in_ascii_form():
    assert parse_callback_url("http://пример.рф/").host == "xn--e1afmkfd.xn--p1ai"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",  # Redis's port on this machine
        "http://127.0.0.1/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "http://localhost:8080/",
        "http://api.localhost/",
        "http://localhost./",
    ],
)
def test_internal_targets_are_refused_without_an_allowlist(url):
    with pytest.raises(OrderError) as e:
        parse_order({**BASE, "callback_url": url})
    assert e.value.field == "callback_url"


def test_allowlist_admits_exactly_what_it_lists():
    policy = WebhookHostPolicy.from_settings(["127.0.0.1:8001", "localhost", "*.crm.example"],
                                             None)  # fmt: skip
    ok = ["http://127.0.0.1:8001/h", "http://localhost:9/", "https://a.crm.example/"]
    for url in ok:
        assert parse_order({**BASE, "callback_url": url}, webhook_hosts=policy).callback_url
    refused = ["http://127.0.0.1:6379/", "https://crm.example/", "https://other.example/",
               "http://[::1]:8001/"]  # fmt: skip
    for url in refused:
        with pytest.raises(OrderError):
            parse_order({**BASE, "callback_url": url}, webhook_hosts=policy)


def test_the_configured_webhook_origin_is_trusted_and_only_it():
    policy = WebhookHostPolicy.from_settings([], "http://127.0.0.1:8001/crm")
    policy.check_url("http://127.0.0.1:8001/other-path")
    with pytest.raises(CallbackUrlError):
        policy.check_url("http://127.0.0.1:6379/")


def test_resolved_addresses_are_judged_again():
    """What the deliverer asks at connect time: a public-looking name resolving to loopback."""
    open_policy = WebhookHostPolicy()
    loopback = ipaddress.ip_address("127.0.0.1")
    with pytest.raises(CallbackUrlError):
        open_policy.check_resolved("crm.example", 443, loopback, literal=False)
    listed = WebhookHostPolicy.from_settings(["crm.example"], None)
    listed.check_resolved("crm.example", 443, loopback, literal=False)
    by_net = WebhookHostPolicy.from_settings(["127.0.0.0/8"], None)
    by_net.check_resolved("other.example", 80, loopback, literal=False)


@pytest.mark.parametrize("bad", ["a..b", "crm.example:x", "10.0.0.0/33", "[::1]:99999"])
def test_bad_allowlist_rules_fail_early(bad):
    with pytest.raises(ValueError):
        HostRule.parse(bad)


def test_stored_orders_are_read_back_without_the_intake_checks():
    """An order stored before the URL check existed must still load (the deliverer refuses
    its URL instead of every read of the order failing)."""
    import json

    from robot.core.models import Order

    stored = json.dumps({**BASE, "callback_url": "http://a..b/"})
    assert Order.model_validate_json(stored).callback_url == "http://a..b/"


@pytest.mark.parametrize("zone", ["Europe", "Europe/", "x" * 256, "../../etc/passwd",
                                  "Europe/Moscow/Extra", ""])  # fmt: skip
def test_bad_time_zones_are_rejected_not_os_errors(zone):
    with pytest.raises(ValueError):
        check_zone(zone)
    if zone:
        with pytest.raises(OrderError) as e:
            parse_order({**BASE, "timezone": zone})
        assert e.value.field == "timezone"
    with pytest.raises(ValueError):
        PolicyConfig(default_timezone=zone or "Europe")


@pytest.mark.parametrize("zone", ["Europe/Moscow", "UTC", "Etc/GMT+3", "America/Argentina/Salta"])
def test_real_zones_pass(zone):
    assert check_zone(zone) == zone


def test_lone_surrogates_are_named():
    with pytest.raises(OrderError) as e:
        parse_order({**BASE, "customer_name": "\ud800"})
    assert e.value.field == "customer_name"


def test_json_nested_100000_deep_is_refused_naming_the_field():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidJson) as e:
        loads(deep, field="order")
    assert e.value.field == "order"
    with pytest.raises(InvalidJson) as e:
        loads('{"items_summary": ' + "[" * 500 + "]" * 500 + "}")
    assert e.value.field == "items_summary"


@pytest.mark.parametrize("raw", ['{"a": 1e400}', '{"a": -1e400}', '{"a": NaN}', "[Infinity]",
                                 '{"a": ' + "9" * 5000 + "}", "{", b"\xff"])  # fmt: skip
def test_json_numbers_and_syntax_out_of_range(raw):
    with pytest.raises(InvalidJson):
        loads(raw)


def test_ordinary_json_passes():
    assert loads('{"a": [1, 2.5, {"b": null}], "c": "\\u0434"}') == {
        "a": [1, 2.5, {"b": None}], "c": "д"}  # fmt: skip


def test_log_text_cannot_forge_lines_or_show_phones():
    assert "\n" not in clean("/x\r\nINFO fake line") and "\\x0a" in clean("a\nb")
    assert mask_phones("call to +79161234567 ended") == "call to +791***67 ended"
    assert "9161234567" not in safe_path("/api/v1/dnc/89161234567")
    assert "9161234567" not in safe_path("/api/v1/dnc/%2B79161234567")
    assert safe_path("/api/v1/orders/A-1/explain") == "/api/v1/orders/A-1/explain"
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "GET %s from +79161234567",
                               ("/a\r\n2026 INFO forged",), None)  # fmt: skip
    line = SafeFormatter("%(message)s").format(record)
    assert "\n" not in line and "\r" not in line and "9161234567" not in line
