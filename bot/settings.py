"""Settings from the environment and `config.env`, validated once at start.

Every setting has a working default (except the token) and is listed in `config.example.env`.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,60}$")

Language = Literal["ru", "en"]
LANGUAGES: tuple[Language, ...] = ("ru", "en")
URGENCIES = ("critical", "high", "normal", "low")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file="config.env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
        frozen=True,
    )

    bot_token: SecretStr
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    database_path: Path = Path("data/ngo-bot.sqlite3")
    default_language: Language = "ru"
    bot_api_base_url: str = "https://api.telegram.org/bot"
    bot_api_base_file_url: str = "https://api.telegram.org/file/bot"
    regions_file: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    invite_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)
    member_approval: bool = True  # a new member waits until a coordinator accepts them
    approval_remind_hours: int = Field(default=24, ge=1, le=24 * 14)
    dialog_timeout_minutes: int = Field(default=60, ge=5, le=24 * 60)
    # a half-done registration: kept this many days, one reminder after this many idle hours
    registration_draft_days: int = Field(default=7, ge=1, le=30)
    registration_remind_hours: int = Field(default=3, ge=1, le=24 * 29)
    sweep_interval_seconds: float = Field(default=30, gt=0, le=3600)
    startup_retries: int = Field(default=5, ge=0, le=100)
    max_messages_per_second: float = Field(default=30, gt=0, le=1000)
    # Telegram's paid broadcasts: the outbox's messages pass allow_paid_broadcast, and Telegram
    # takes up to 1,000 a second (charged in Stars from the bot's balance) instead of about 30
    allow_paid_broadcast: bool = False
    reminder_hours: Annotated[tuple[int, ...], NoDecode] = (24, 2)
    delivery_workers: int = Field(default=8, ge=1, le=64)
    polling_timeout_seconds: int = Field(default=30, ge=0, le=50)
    # incidents: the escalation policy (copied onto each incident when it is reported)
    incident_ack_minutes: Annotated[dict[str, int], NoDecode] = {
        "critical": 10,
        "high": 60,
        "normal": 240,
        "low": 1440,
    }
    incident_remind_minutes: Annotated[dict[str, int], NoDecode] = {
        "critical": 5,
        "high": 30,
        "normal": 120,
        "low": 480,
    }
    incident_stale_hours: Annotated[dict[str, int], NoDecode] = {
        "critical": 2,
        "high": 12,
        "normal": 48,
        "low": 168,
    }
    incident_low_max_level: int = Field(default=1, ge=1, le=3)
    quiet_hours: Annotated[tuple[int, int], NoDecode] = (22, 8)
    reports_per_hour: int = Field(default=5, ge=1, le=100)
    # how to reach the network's people directly (a @username, a phone, an e-mail): shown
    # when someone's reports reach the hourly limit; empty = not shown
    network_contact: str | None = Field(default=None, max_length=200)
    digest_hour: Annotated[int | None, NoDecode] = Field(default=9, ge=0, le=23)  # None = off
    # webhook mode (instead of long polling) when WEBHOOK_URL is set
    webhook_url: str | None = None  # the public https address Telegram posts updates to
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    webhook_listen: str = "127.0.0.1"  # where the bot's own web server listens (behind a proxy)
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    # a monitor (e.g. healthchecks.io, Uptime Kuma) pinged every few minutes while all is well
    heartbeat_url: str | None = None
    heartbeat_minutes: int = Field(default=3, ge=1, le=60)
    # updates one person may send a minute before they are asked to slow down
    flood_per_minute: int = Field(default=20, ge=5, le=1000)
    # days after which the personal details of closed incident reports and old messages go
    retention_days: int = Field(default=365, ge=30, le=3650)
    # backups: where, at which hour (UTC) the daily one is made, how many days they are kept
    backup_dir: Path | None = None  # default: a "backups" folder beside the database
    backup_hour: int = Field(default=3, ge=0, le=23)
    backup_keep_days: int = Field(default=14, ge=1, le=3650)
    # the erasure journal (hashed ids, re-applied after a restore) and the secret of its hashes,
    # both outside the database and its backups; default: beside the database's folder
    erasure_key_file: Path | None = None
    erasure_journal: Path | None = None
    # evaluations after events
    evaluation_remind_hours: int = Field(default=24, ge=1, le=24 * 14)
    evaluation_close_days: int = Field(default=7, ge=1, le=90)
    evaluation_followup_days: int = Field(default=30, ge=1, le=365)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().strip("[]")
            parts = [p.strip() for p in re.split(r"[,\s;]+", text) if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError("must be Telegram user ids like 1,2 or [1,2]") from None
        return value

    @field_validator("registration_remind_hours")
    @classmethod
    def _remind_before_expiry(cls, value: int, info: ValidationInfo) -> int:
        days = info.data.get("registration_draft_days")
        if isinstance(days, int) and value >= days * 24:
            raise ValueError(
                f"must be fewer hours than REGISTRATION_DRAFT_DAYS ({days} days = {days * 24} h)"
            )
        return value

    @field_validator("reminder_hours", mode="before")
    @classmethod
    def _parse_hours(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                hours = tuple(int(p) for p in re.split(r"[,\s;]+", value.strip("[] ")) if p)
            except ValueError:
                raise ValueError("must be hours like 24,2") from None
            if not hours or any(h <= 0 or h > 24 * 14 for h in hours):
                raise ValueError("must be hours between 1 and 336, like 24,2")
            return hours
        return value

    @field_validator(
        "incident_ack_minutes", "incident_remind_minutes", "incident_stale_hours", mode="before"
    )
    @classmethod
    def _per_urgency(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        found: dict[str, int] = {}
        for part in (p.strip() for p in re.split(r"[,;\s]+", value) if p.strip()):
            name, _, number = part.partition("=")
            if name not in URGENCIES or not number.isdigit() or not 0 < int(number) <= 100_000:
                raise ValueError("must be like critical=10,high=60,normal=240,low=1440")
            found[name] = int(number)
        if set(found) != set(URGENCIES):
            raise ValueError("must name all of critical, high, normal and low")
        return found

    @property
    def backups_folder(self) -> Path:
        return self.backup_dir or self.database_path.parent / "backups"

    @field_validator("digest_hour", mode="before")
    @classmethod
    def _digest_off(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in {"off", "none", "no"}:
            return None
        return value

    @property
    def erasure_key_path(self) -> Path:
        """Default: erasure.key in the folder that holds the database's folder (beside
        config.env for the default data/ngo-bot.sqlite3), not in the backed-up data."""
        return self.erasure_key_file or self.database_path.resolve().parent.parent / "erasure.key"

    @property
    def erasure_journal_path(self) -> Path:
        return self.erasure_journal or self.database_path.with_name(
            self.database_path.name + ".erasures"
        )

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d{1,2})\s*-\s*(\d{1,2})\s*", value)
            if not match or int(match[1]) > 23 or int(match[2]) > 23:
                raise ValueError("must be hours like 22-8 (from 22:00 to 08:00)")
            return (int(match[1]), int(match[2]))
        return value

    @field_validator("regions_file")
    @classmethod
    def _regions_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @field_validator("bot_api_base_url", "bot_api_base_file_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https://")
        if value.startswith("http://") and not _is_local(urlparse(value).hostname or ""):
            # the token is in every request's address: plain http only to this machine
            raise ValueError("must start with https:// (http:// only for a server on this machine)")
        return value.rstrip("/")

    @field_validator("network_contact")
    @classmethod
    def _contact(cls, value: str | None) -> str | None:
        text = " ".join((value or "").split())
        if any(c in text for c in "<>"):
            raise ValueError("must be plain text like @ngo_help or +7 900 000-00-00 (no < or >)")
        return text or None

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be the public https:// address Telegram will post updates to")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("webhook_url") and value is None:
            raise ValueError("required with WEBHOOK_URL (letters, digits, _ and -, 16 to 256)")
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()
        ):
            raise ValueError("use 16 to 256 letters, digits, _ and - (e.g. openssl rand -hex 32)")
        return value

    @property
    def webhook_path(self) -> str:
        return urlparse(self.webhook_url or "").path or "/"


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SettingsError(Exception):
    """A setting is missing or malformed: `variable` names it, `problem` says what is wrong."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


def load_settings(env_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings or raise SettingsError naming the first bad variable."""
    try:
        if env_file is not None:
            return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "?"
        if first["type"] == "missing":
            problem = "missing"
        else:
            problem = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(variable, problem) from None
