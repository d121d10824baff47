"""Settings: the only module that reads the environment (prefix ``DOZVON_``, or a .env file)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOZVON_", env_file=".env", extra="ignore")

    # Redis: all durable state.
    redis_url: str = "redis://127.0.0.1:6379/0"

    # HTTP API (intake, later the dashboard).
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    api_token: str = "change-me"

    # Asterisk Manager Interface.
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "dozvon"
    ami_secret: str = "dozvon-secret"
    ami_reconnect_max_s: float = 5.0

    # AudioSocket server the dialplan connects to.
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = 9092

    # How a phone number becomes an Asterisk channel. {number}: E.164 with '+', {digits}: without.
    dial_template: str = "PJSIP/{number}@trunk"
    caller_id: str = '"Dozvon" <+70000000000>'
    ring_timeout_s: float = 30.0
    robot_context: str = "dozvon-robot"

    # Dialog timing.
    listen_timeout_s: float = 6.0
    max_call_s: float = 180.0

    # Dialing capacity for this worker.
    max_concurrent_calls: int = 10
    lease_s: float = 300.0
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")

    # Results to the CRM.
    webhook_url: str | None = None
    webhook_secret: str = "change-me-too"
    webhook_timeout_s: float = 10.0
    webhook_max_backoff_s: float = 300.0

    # Phone numbers without a country code are read in this region.
    default_region: str = "RU"

    # Files.
    audio_dir: Path = REPO_ROOT / "audio"
    var_dir: Path = REPO_ROOT / "var"
    models_dir: Path = REPO_ROOT / "models"
    asterisk_root: Path = Path("/var/cache/dozvon/asterisk-root")

    # Speech recognition: which language's model to load ("auto": every installed model);
    # an explicit model directory per language overrides the lookup in models_dir.
    asr_languages: str = "auto"
    model_ru: Path | None = None
    model_ko: Path | None = None

    log_level: str = "INFO"


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
