"""Settings: the only module that reads the environment (prefix ``DOZVON_``, or a .env file).

The variables stay flat (``DOZVON_REDIS_URL``, ``DOZVON_AMI_SECRET``...; README's table lists
them), but each is declared once, in the group of the component that uses it: ``Settings``
is the union of the groups, and ``settings.redis``, ``settings.ami``... give a component its
group alone (a plain model holding only those fields), so nothing but the composition root
(robot/service.py) sees the whole of it.

Default secrets (``change-me``...) are fine for a laptop and dangerous anywhere else:
:func:`refuse_default_secrets` stops a process at startup when one is still set while a
listener or target is not on loopback.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from robot.core.machine_kind import MachineMessage
from robot.core.shops import ShopConfig, parse_shops

REPO_ROOT = Path(__file__).resolve().parent.parent

# The shipped placeholder secrets: refused at startup unless everything is on loopback.
DEFAULT_SECRETS = frozenset({"change-me", "change-me-too", "dozvon-secret"})


class AsteriskServerConfig(BaseModel):
    """One Asterisk server of several (``DOZVON_ASTERISK_SERVERS``, a JSON list of these)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
    host: str = "127.0.0.1"
    ami_port: int = 5038
    user: str = "dozvon"
    secret: str = "dozvon-secret"
    capacity: int | None = None  # concurrent calls it takes, across all workers; None: no cap
    cps: float = 0.0  # calls per second its trunk accepts; 0: no limit
    cps_burst: int = 1
    dial_template: str | None = None  # its trunk; None: Settings.dial_template
    caller_id: str | None = None  # its trunk's caller ID ('"Shop" <+7495...>'); None: caller_id


# ---- the groups: one per component; a field's comment is its line in README's table ----


class RedisSettings(BaseModel):
    """For the Redis store (robot/adapters/redis_store.py)."""

    # Redis: all durable state. redis://host:port/db, or a Sentinel set:
    # redis+sentinel://[:password@]host1:26379,host2:26379,host3:26379/<service>[/db]
    # (robot/adapters/redis_connect.py).
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Replicas that must have an order, a claim or a call result before it is acknowledged
    # (WAIT; robot/adapters/redis_replication.py). Unset: 1 for a Sentinel URL, else 0.
    redis_wait_replicas: int | None = Field(default=None, ge=0)
    redis_wait_timeout_ms: int = Field(default=500, gt=0)

    @field_validator("redis_url")
    @classmethod
    def _redis_url_form(cls, url: str) -> str:
        from robot.adapters.redis_connect import parse_redis_url

        parse_redis_url(url)  # RedisUrlError (a ValueError) says what is wrong
        return url


class WebSettings(BaseModel):
    """For the HTTP side: intake API, dashboard, /metrics (robot/web, the HTTP adapters)."""

    # HTTP API (intake, later the dashboard).
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    api_token: str = "change-me"
    # A connection must send complete request headers within this, and a request body must
    # arrive within the other; slower peers are cut off (they would hold sockets forever).
    http_header_timeout_s: float = 15.0
    http_body_timeout_s: float = 30.0

    # Supervisor dashboard (robot/web): accounts as a JSON list or the path of a JSON file,
    # [{"name": ..., "role": "viewer"|"admin", "password": <hash from 'robot passwd'>}].
    # Unset and HTTP on loopback: a development account admin/admin (see robot/web/auth.py).
    supervisors: str | None = None
    session_secret: str | None = None  # cookie signing key; unset: a random one kept in Redis
    session_ttl_s: float = 12 * 3600  # idle time before a supervisor must log in again
    cookie_secure: bool = False  # set when the dashboard is served over HTTPS
    dashboard_timezone: str = "Europe/Moscow"  # "today" and the hourly chart
    metrics_token: str | None = None  # bearer token for /metrics (the API token works too)


class AmiSettings(BaseModel):
    """For the Asterisk pool (robot/adapters/ami): where each Asterisk's AMI is."""

    # Asterisk Manager Interface.
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "dozvon"
    ami_secret: str = "dozvon-secret"
    ami_reconnect_max_s: float = 5.0
    # Several Asterisk servers (JSON list of AsteriskServerConfig); empty: the one above,
    # named "default".
    asterisk_servers: list[AsteriskServerConfig] = Field(default_factory=list)
    # The dialplan context answered calls enter (dialplans/extensions.conf).
    robot_context: str = "dozvon-robot"

    def asterisk_server_list(self) -> list[AsteriskServerConfig]:
        if self.asterisk_servers:
            return list(self.asterisk_servers)
        return [
            AsteriskServerConfig(
                name="default",
                host=self.ami_host,
                ami_port=self.ami_port,
                user=self.ami_user,
                secret=self.ami_secret,
            )
        ]


class MediaSettings(BaseModel):
    """For the AudioSocket server (robot/adapters/audiosocket)."""

    # AudioSocket server the dialplan connects to.
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = 9092
    # host:port Asterisk reaches this worker's AudioSocket at, sent with each call (Originate
    # variable DOZVON_AUDIOSOCKET); "auto": this host's address and the bound port (scaled
    # containers). Unset: audiosocket_host:port unless that is a wildcard address, in which
    # case the dialplan's global applies (one worker per Asterisk).
    audiosocket_advertise: str | None = None
    # Who may open an AudioSocket connection: "asterisk" (the addresses the configured Asterisk
    # servers' host names resolve to), "any", or a comma-separated list of IP addresses and
    # networks (Asterisk behind NAT, several interfaces). Each call's media must also present
    # its secret media key (robot/engine/calls.py), whoever connects.
    audiosocket_peers: str = "asterisk"


class DialerSettings(BaseModel):
    """For the dialer and its calls (robot/engine; robot/service.py builds DialerConfig)."""

    # How a phone number becomes an Asterisk channel. {number}: E.164 with '+', {digits}: without.
    dial_template: str = "PJSIP/{number}@trunk"
    caller_id: str = '"Dozvon" <+70000000000>'
    # How long the customer's phone rings before we give up (no_answer). Carriers and people
    # take rings shorter than ~25 s for missed-call spam; tests set it shorter.
    ring_timeout_s: float = 30.0

    # Dialog timing.
    listen_timeout_s: float = 6.0
    max_call_s: float = 180.0
    max_reprompts: int = 2  # questions again in other words after silence or an unclear answer

    # The conversation's extras (issue 4): say "the call is recorded" before the order,
    # where "operator" sends the call (an Asterisk Dial() string: Local/100@operators,
    # PJSIP/200, Local/support@queues for a queue), recordings and their retention.
    announce_recording: bool = False
    # Which answering machines hear one sentence (shop, order number, "we will call back")
    # before the robot hangs up: "assistant" (call screeners; voicemail is hung up on),
    # "always", "never". The order's question is never put to a machine.
    machine_message: MachineMessage = MachineMessage.ASSISTANT
    operator_target: str | None = None  # None: no transfer; the call ends as "operator"
    record_calls: bool = False  # stereo WAV (caller left, robot right) per answered call
    recordings_retention_days: int = 30  # 0: keep forever
    # Answering-machine detection before the robot speaks (Asterisk AMD, dialplans/amd.conf):
    # a machine ends the call as outcome "machine", retried like no answer.
    amd: bool = False

    # Dialing capacity for this worker.
    max_concurrent_calls: int = 10
    lease_s: float = 300.0
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    # Call results kept while Redis is unreachable, one synced file per worker process
    # (robot/adapters/finish_journal.py); unset: var_dir/journal. Keep it on local disk.
    finish_journal_dir: Path | None = None
    # An order whose call had been answered when its worker lost the lease (a crash, or Redis
    # away longer than the lease) is called again only after this long: the worker may be
    # restarting with the customer's answer in its journal. Shorter than the policy's retry
    # delay for a lost ("failed") call, it changes nothing else.
    answered_reap_grace_s: float = 60.0


class ShopsSettings(BaseModel):
    """For the shop registry (robot/adapters/shop_registry.py): the shops as tenants."""

    # Per shop, by the order's shop_name: {"Ромашка": {"caller_id": "\"Ромашка\" <+7495...>",
    # "announce_recording": true}}, any field of the shops file. Caller ID: the shop's, else
    # its trunk's, else caller_id.
    shops: dict[str, ShopConfig] = Field(default_factory=dict)
    # The shops file (JSON, or YAML by .yaml/.yml; README "Shops"): per shop its token, webhook,
    # caller ID, hours, statuses, limits; re-read when it changes, over DOZVON_SHOPS.
    shops_file: Path | None = None

    @field_validator("shops", mode="before")
    @classmethod
    def _shops_doc(cls, v: object) -> object:
        if isinstance(v, str):
            v = json.loads(v) if v.strip() else {}
        if isinstance(v, dict) and not all(isinstance(s, ShopConfig) for s in v.values()):
            return parse_shops(v)  # ValueError names the shop and field
        return v


class LimitsSettings(BaseModel):
    """For the admission gate shared by all workers (robot/adapters/redis_limits.py)."""

    # Limits across all workers sharing Redis (dozvon:control overrides them at run time).
    global_max_calls: int | None = None  # None: no global cap
    calls_per_second: float = 0.0  # 0: no limit
    cps_burst: int = 1  # calls that may leave back to back after a quiet spell
    call_slot_ttl_s: float = 30.0  # a dead worker's call slots come back after this
    # A trunk that refuses calls for capacity (SIP 503/403): its calls per second halve per
    # refusal, down to this, and come back this long after the last refusal.
    trunk_backoff_min_cps: float = 0.1
    trunk_backoff_hold_s: float = 60.0


class PolicySettings(BaseModel):
    """For the call policy and intake's reading of orders (robot/policy_settings.py)."""

    # Call policy (robot/core/policy_config.py): a JSON file and/or inline JSON (applied over
    # the file), then these two single overrides. Unset: 09:00-21:00 local, 5 attempts.
    policy_file: Path | None = None
    policy_json: str | None = None
    calling_hours: str | None = None  # e.g. "09:00-21:00"; "00:00-24:00": all day
    shop_timezone: str | None = None  # the customer's zone when order and phone don't say

    # Phone numbers without a country code are read in this region.
    default_region: str = "RU"


class WebhookSettings(BaseModel):
    """For the webhook deliverer (robot/adapters/webhook.py) and callback_url checks."""

    # Results to the CRM.
    webhook_url: str | None = None
    webhook_secret: str = "change-me-too"
    webhook_timeout_s: float = 10.0  # total per delivery attempt: DNS, connect, send, answer
    webhook_max_backoff_s: float = 300.0
    # After this many failed attempts a delivery moves to the failed list (dead letters,
    # GET /api/v1/webhooks/failed); 50 with the default backoff is about 3.5 hours.
    webhook_max_attempts: int = Field(default=50, ge=1)
    webhook_concurrency: int = Field(default=32, ge=1)  # deliveries in flight, all CRMs
    webhook_per_host: int = Field(default=4, ge=1)  # deliveries in flight to one CRM host
    # Where callback_url may point (robot/core/callback_url.py): host names ("crm.example",
    # "*.example.com"), addresses or networks ("10.1.2.0/24"), each optionally ":port"; a JSON
    # list or comma-separated. Empty: any public host. Internal addresses (loopback, private,
    # link-local) are refused unless listed here; webhook_url's own origin is always allowed.
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, v: object) -> object:
        if isinstance(v, str):
            text = v.strip()
            if text.startswith("["):
                return json.loads(text)
            return [h.strip() for h in text.split(",") if h.strip()]
        return v

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _host_rules(cls, v: list[str]) -> list[str]:
        from robot.core.callback_url import HostRule

        for rule in v:
            HostRule.parse(rule)  # a typo fails at startup, not at the first delivery
        return v


class AsrSettings(BaseModel):
    """For the speech recognizer (robot/adapters/vosk_asr.py, asr_pool.py)."""

    # Speech recognition: which language's model to load ("auto": every installed model);
    # an explicit model directory per language overrides the lookup in models_dir.
    asr_languages: str = "auto"
    model_ru: Path | None = None
    model_ko: Path | None = None
    # Decoding in this many recognizer processes (each loads the models once); 0: threads in
    # this process.
    asr_processes: int = 0
    models_dir: Path = REPO_ROOT / "models"  # where installed models are looked up


class FilesSettings(BaseModel):
    """Where the process keeps and finds its files."""

    # Files.
    audio_dir: Path = REPO_ROOT / "audio"
    var_dir: Path = REPO_ROOT / "var"
    asterisk_root: Path = Path("/var/cache/dozvon/asterisk-root")


# Group name -> its model, in README order; ``Settings.<name>`` gives the group's values.
GROUPS: dict[str, type[BaseModel]] = {
    "redis": RedisSettings,
    "web": WebSettings,
    "ami": AmiSettings,
    "media": MediaSettings,
    "dialer": DialerSettings,
    "tenants": ShopsSettings,
    "limits": LimitsSettings,
    "policy": PolicySettings,
    "webhook": WebhookSettings,
    "asr": AsrSettings,
    "files": FilesSettings,
}

_G = TypeVar("_G", bound=BaseModel)


# Bases are listed last group first: pydantic orders fields base by base from the end.
class Settings(
    FilesSettings,
    AsrSettings,
    WebhookSettings,
    PolicySettings,
    LimitsSettings,
    ShopsSettings,
    DialerSettings,
    MediaSettings,
    AmiSettings,
    WebSettings,
    RedisSettings,
    BaseSettings,
):
    """Every setting (each declared in its group above), read from ``DOZVON_*`` and .env."""

    model_config = SettingsConfigDict(
        env_prefix="DOZVON_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    log_level: str = "INFO"

    def group(self, model: type[_G]) -> _G:
        """This group's values alone (already validated here, so not validated again)."""
        return model.model_construct(**{name: getattr(self, name) for name in model.model_fields})

    @property
    def redis(self) -> RedisSettings:
        return self.group(RedisSettings)

    @property
    def web(self) -> WebSettings:
        return self.group(WebSettings)

    @property
    def ami(self) -> AmiSettings:
        return self.group(AmiSettings)

    @property
    def media(self) -> MediaSettings:
        return self.group(MediaSettings)

    @property
    def dialer(self) -> DialerSettings:
        return self.group(DialerSettings)

    @property
    def tenants(self) -> ShopsSettings:
        """``shops`` and ``shops_file`` (named apart from the ``shops`` field itself)."""
        return self.group(ShopsSettings)

    @property
    def limits(self) -> LimitsSettings:
        return self.group(LimitsSettings)

    @property
    def policy(self) -> PolicySettings:
        return self.group(PolicySettings)

    @property
    def webhook(self) -> WebhookSettings:
        return self.group(WebhookSettings)

    @property
    def asr(self) -> AsrSettings:
        return self.group(AsrSettings)

    @property
    def files(self) -> FilesSettings:
        return self.group(FilesSettings)


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]


# ---- default secrets ----


class DefaultSecretError(ValueError):
    """A shipped placeholder secret is set while something listens or points off loopback."""


def is_loopback(host: str) -> bool:
    """True for a loopback address or ``localhost``; a wildcard, an empty host or any other
    name is not (names are not resolved: a name that resolves to loopback today may not
    tomorrow)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposed_endpoints(s: Settings, *, http: bool = True, dialing: bool = True) -> list[str]:
    """``DOZVON_X=host`` for each listener (HTTP; AudioSocket) and target (each Asterisk's
    AMI, the CRM's webhook URL) of this process that is not on loopback."""
    found: list[tuple[str, str]] = []
    if http:
        found.append(("DOZVON_HTTP_HOST", s.http_host))
    if dialing:
        found.append(("DOZVON_AUDIOSOCKET_HOST", s.audiosocket_host))
        if s.asterisk_servers:
            found += [(f'DOZVON_ASTERISK_SERVERS ("{a.name}" host)', a.host)
                      for a in s.asterisk_servers]  # fmt: skip
        else:
            found.append(("DOZVON_AMI_HOST", s.ami_host))
        if s.webhook_url:
            found.append(("DOZVON_WEBHOOK_URL", urlsplit(s.webhook_url).hostname or ""))
    return [f"{name}={host or '(all interfaces)'}" for name, host in found
            if not is_loopback(host)]  # fmt: skip


def default_secrets(s: Settings) -> list[str]:
    """The secret settings still holding a shipped placeholder value."""
    values: list[tuple[str, Any]] = [
        ("DOZVON_API_TOKEN", s.api_token),
        ("DOZVON_WEBHOOK_SECRET", s.webhook_secret),
        ("DOZVON_METRICS_TOKEN", s.metrics_token),
        ("DOZVON_SESSION_SECRET", s.session_secret),
    ]
    if s.asterisk_servers:
        values += [(f'DOZVON_ASTERISK_SERVERS ("{a.name}" secret)', a.secret)
                   for a in s.asterisk_servers]  # fmt: skip
    else:
        values.append(("DOZVON_AMI_SECRET", s.ami_secret))
    for name, shop in s.shops.items():
        for field in ("api_token", "webhook_secret"):
            secret = getattr(shop, field)
            values.append((f'DOZVON_SHOPS ("{name}" {field})',
                           secret and secret.get_secret_value()))  # fmt: skip
    return [name for name, value in values if value in DEFAULT_SECRETS]


def refuse_default_secrets(s: Settings, *, http: bool = True, dialing: bool = True) -> None:
    """Raise :class:`DefaultSecretError` naming each secret still at its shipped value, unless
    every listener and target of this process is on loopback (a developer's machine)."""
    exposed = exposed_endpoints(s, http=http, dialing=dialing)
    placeholders = default_secrets(s)
    if exposed and placeholders:
        raise DefaultSecretError(
            f"{', '.join(placeholders)} still set to the shipped default; set "
            f"{'it' if len(placeholders) == 1 else 'them'} to a secret of your own. Defaults "
            f"are only accepted when everything is on loopback, and these are not: "
            f"{', '.join(exposed)}"
        )
