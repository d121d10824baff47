"""Settings come in groups, each handed alone to its component, from the same flat DOZVON_*
variables; the engine's configurations are built from the groups; the shipped placeholder
secrets are refused unless every listener and target is on loopback."""

from __future__ import annotations

import pytest

from robot.config import (
    GROUPS,
    AsteriskServerConfig,
    DefaultSecretError,
    Settings,
    WebhookSettings,
    exposed_endpoints,
    is_loopback,
    refuse_default_secrets,
)
from robot.core.machine_kind import MachineMessage
from robot.service import Service, dialer_config, limit_settings

OWN = {"api_token": "t0ken", "webhook_secret": "s3cret", "ami_secret": "am1"}


def test_every_setting_is_in_exactly_one_group() -> None:
    owners: dict[str, list[str]] = {}
    for group, model in GROUPS.items():
        for name in model.model_fields:
            owners.setdefault(name, []).append(group)
    assert {n: g for n, g in owners.items() if len(g) > 1} == {}
    assert set(Settings.model_fields) - set(owners) == {"log_level"}  # the process's own
    for group in GROUPS:
        assert group not in Settings.model_fields  # group names never hide a setting


def test_the_variables_keep_their_flat_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOZVON_REDIS_URL", "redis://127.0.0.1:6390/2")
    monkeypatch.setenv("DOZVON_AMI_SECRET", "from-env")
    monkeypatch.setenv("DOZVON_WEBHOOK_ALLOWED_HOSTS", "crm.example, 10.1.2.0/24")
    monkeypatch.setenv("DOZVON_ASR_PROCESSES", "3")
    monkeypatch.setenv("DOZVON_CALLS_PER_SECOND", "2.5")
    s = Settings()
    assert s.redis.redis_url == "redis://127.0.0.1:6390/2"
    assert s.ami.ami_secret == "from-env"
    assert s.ami.asterisk_server_list()[0].secret == "from-env"
    assert s.webhook.webhook_allowed_hosts == ["crm.example", "10.1.2.0/24"]
    assert s.asr.asr_processes == 3
    assert s.limits.calls_per_second == 2.5


def test_a_group_holds_its_own_settings_only() -> None:
    s = Settings(webhook_url="http://127.0.0.1:9/crm", api_token="not-for-webhooks")
    hook = s.webhook
    assert type(hook) is WebhookSettings
    assert hook.webhook_url == "http://127.0.0.1:9/crm"
    assert not hasattr(hook, "api_token") and not hasattr(hook, "redis_url")
    assert set(type(hook).model_fields) == set(WebhookSettings.model_fields)


def test_engine_configs_are_built_from_the_groups() -> None:
    s = Settings(
        dial_template="Local/{digits}@x", caller_id="<+71>", ring_timeout_s=7,
        max_concurrent_calls=3, lease_s=40, amd=True, max_reprompts=1, announce_recording=True,
        machine_message="never", operator_target="Local/100@ops", listen_timeout_s=2.5,
        max_call_s=50, worker_id="w-7", global_max_calls=9, calls_per_second=1.5, cps_burst=2,
        call_slot_ttl_s=12, trunk_backoff_min_cps=0.5, trunk_backoff_hold_s=5,
        shops={"Ромашка": {"caller_id": "<+74951>", "announce_recording": False}},
    )  # fmt: skip
    cfg = dialer_config(s.dialer, s.shops)
    assert (cfg.worker_id, cfg.dial_template, cfg.caller_id) == ("w-7", "Local/{digits}@x", "<+71>")
    assert (cfg.ring_timeout_s, cfg.max_concurrent_calls, cfg.lease_s) == (7, 3, 40)
    assert (cfg.amd, cfg.max_reprompts, cfg.announce_recording) == (True, 1, True)
    assert cfg.machine_message is MachineMessage.NEVER
    assert cfg.operator_target == "Local/100@ops"
    assert (cfg.timing.listen_timeout_s, cfg.timing.max_call_s) == (2.5, 50)
    assert cfg.caller_id_for("Ромашка") == "<+74951>"
    lim = limit_settings(s.limits)
    assert (lim.max_calls, lim.cps, lim.burst, lim.slot_ttl_s) == (9, 1.5, 2, 12)
    assert (lim.backoff_min_cps, lim.backoff_hold_s) == (0.5, 5)


def test_the_default_configs_are_the_settings_defaults() -> None:
    s = Settings()
    cfg, lim = dialer_config(s.dialer, s.shops), limit_settings(s.limits)
    for name in ("dial_template", "caller_id", "ring_timeout_s", "max_concurrent_calls",
                 "lease_s", "amd", "max_reprompts", "announce_recording", "machine_message",
                 "operator_target"):  # fmt: skip
        assert getattr(cfg, name) == Settings.model_fields[name].default, name
    assert cfg.timing.listen_timeout_s == Settings.model_fields["listen_timeout_s"].default
    assert lim.cps == Settings.model_fields["calls_per_second"].default


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "10.0.0.5", "asterisk-a", "crm.example"])
def test_hosts_that_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_placeholder_secrets_are_fine_when_everything_is_on_loopback() -> None:
    refuse_default_secrets(Settings())
    refuse_default_secrets(Settings(webhook_url="http://localhost:8000/crm"))
    assert exposed_endpoints(Settings()) == []


def test_a_public_listener_with_a_placeholder_secret_is_refused_naming_both() -> None:
    with pytest.raises(DefaultSecretError) as e:
        refuse_default_secrets(Settings(http_host="0.0.0.0", **{**OWN, "api_token": "change-me"}))
    assert "DOZVON_API_TOKEN" in str(e.value) and "DOZVON_HTTP_HOST=0.0.0.0" in str(e.value)
    assert "DOZVON_WEBHOOK_SECRET" not in str(e.value)  # set to a secret of its own
    with pytest.raises(DefaultSecretError, match=r"DOZVON_WEBHOOK_SECRET.*DOZVON_AMI_SECRET"):
        refuse_default_secrets(Settings(audiosocket_host="", api_token="t0ken"))
    with pytest.raises(DefaultSecretError, match="DOZVON_AUDIOSOCKET_HOST=\\(all interfaces\\)"):
        refuse_default_secrets(Settings(audiosocket_host=""))
    with pytest.raises(DefaultSecretError, match=r"DOZVON_WEBHOOK_URL=crm\.example"):
        refuse_default_secrets(Settings(webhook_url="https://crm.example/hook"))
    refuse_default_secrets(Settings(http_host="0.0.0.0", audiosocket_host="0.0.0.0", **OWN))


def test_each_asterisk_servers_secret_and_host_are_checked() -> None:
    servers = [
        AsteriskServerConfig(name="a", host="127.0.0.1", secret="own"),
        AsteriskServerConfig(name="b", host="asterisk-b"),  # the placeholder secret
    ]
    with pytest.raises(DefaultSecretError) as e:
        refuse_default_secrets(Settings(asterisk_servers=servers, **OWN))
    assert 'DOZVON_ASTERISK_SERVERS ("b" secret)' in str(e.value)
    assert 'DOZVON_ASTERISK_SERVERS ("b" host)=asterisk-b' in str(e.value)
    assert '"a" secret' not in str(e.value) and "DOZVON_AMI_SECRET" not in str(e.value)


def test_a_shops_placeholder_token_is_refused() -> None:
    shops = {"Ромашка": {"api_token": "change-me"}}
    with pytest.raises(DefaultSecretError, match='DOZVON_SHOPS \\("Ромашка" api_token\\)'):
        refuse_default_secrets(Settings(http_host="0.0.0.0", shops=shops, **OWN))


def test_a_worker_without_http_does_not_count_the_http_host() -> None:
    s = Settings(http_host="0.0.0.0")
    refuse_default_secrets(s, http=False)
    Service.build(s, with_http=False)  # builds (nothing connects before start)
    with pytest.raises(DefaultSecretError, match="DOZVON_HTTP_HOST"):
        Service.build(s)
    with pytest.raises(DefaultSecretError, match="DOZVON_AMI_SECRET"):
        Service.build(Settings(audiosocket_host="0.0.0.0", api_token="x1", webhook_secret="y1"))


async def test_serve_refuses_before_it_listens() -> None:
    from robot.commands.serve import serve

    with pytest.raises(DefaultSecretError, match="DOZVON_API_TOKEN"):
        await serve(Settings(http_host="0.0.0.0"))
    # serve opens no AudioSocket and no AMI: those do not count for it
    s = Settings(http_host="127.0.0.1", audiosocket_host="0.0.0.0")
    assert exposed_endpoints(s, dialing=False) == []


def test_the_cli_says_which_setting_and_exits(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from robot.cli import main

    monkeypatch.setenv("DOZVON_HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("DOZVON_API_TOKEN", "change-me")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "DOZVON_API_TOKEN" in err and "loopback" in err
