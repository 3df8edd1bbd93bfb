"""One typed, frozen settings object, read from ONETIME_* variables and an optional TOML file.

Precedence: explicit arguments, then environment variables, then the TOML file named by
ONETIME_CONFIG (keys without the ONETIME_ prefix, lower case), then defaults.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from onetime.core.accounts import AccountRules
from onetime.core.crypto import Argon2Params
from onetime.core.guards import GuardRules
from onetime.core.plans import ANONYMOUS_PLAN, Plan, Plans
from onetime.core.policy import DAY, Limits
from onetime.mail.address import check_sender
from onetime.mail.url import parse_mail_url

log = logging.getLogger("onetime.settings")
_MEMORY_DIR = Path("/dev/shm")  # noqa: S108 - tmpfs shared by workers, not a temp file
SECRET_FILE_NAME = "server-secret"  # noqa: S105 - a file name


class SettingsError(Exception):
    """The configuration cannot be used; the message names the setting and the problem."""


class PlanSettings(BaseModel):
    """One plan in the `plans` table of the configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ttl_max: int = Field(ge=1, description="longest lifetime in seconds (the hard cap still holds)")
    secret_max_bytes: int | None = Field(None, ge=1, description="default: secret_max_bytes")
    email_recipients: bool = False
    custom_domains: bool = False


class Settings(BaseSettings):
    """Everything an operator can configure. See README.md, "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="ONETIME_", frozen=True, extra="forbid")

    env: Literal["development", "production"] = "development"
    secret: SecretStr | None = None
    secret_previous: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    data_dir: Path = Path("data")
    store_url: str = ""
    # Counters hold keyed hashes of client addresses: keep them in memory-backed storage.
    counters_dir: Path | None = _MEMORY_DIR if _MEMORY_DIR.is_dir() else None
    site_host: str = "127.0.0.1:7143"
    ssl: bool = False
    trusted_proxies: str = Field(
        "127.0.0.1", description="Comma-separated proxy addresses whose X-Forwarded-For is believed"
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Comma-separated origins whose pages may read /api/ answers; empty: none"
    )
    site_name: str = Field("onetime", min_length=1, max_length=60)
    logo_path: Path | None = Field(None, description="An SVG or PNG file shown as the site's logo")
    primary_color: str = Field("#1f5fbf", pattern=r"^#[0-9a-fA-F]{6}$")
    instructions: str = Field("", max_length=500, description="Text shown above the create form")
    share_domains: Annotated[tuple[str, ...], NoDecode] = ()
    allow_anonymous: bool = Field(True, description="false: only signed-in people may create")

    signup_enabled: bool = True
    signup_domains: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Comma-separated email domains allowed to sign up; empty: any"
    )
    auto_verify: bool = Field(False, description="accounts need no email confirmation")
    plans: dict[str, PlanSettings] = Field(
        default_factory=dict, description="Extra plans, or changes to anonymous/free/paid"
    )
    default_plan: str = "free"
    password_min: int = Field(8, ge=1, le=256)
    session_idle: int = Field(DAY, ge=60, description="seconds of inactivity that end a session")
    signup_limit: int = Field(10, ge=0, description="sign-ups per client per hour; 0 = off")
    reset_limit: int = Field(10, ge=0, description="reset requests per client per hour; 0 = off")
    signin_failure_limit: int = Field(10, ge=0, description="per account per 15 minutes; 0 = off")
    mail_limit: int = Field(50, ge=0, description="emails per account per day; 0 = off")
    account_create_limit: int = Field(500, ge=0, description="secrets per account per hour")

    ttl_min: int = Field(60, ge=1)
    ttl_default: int = Field(7 * DAY, ge=1)
    ttl_max_anonymous: int = Field(7 * DAY, ge=1)
    ttl_max_account: int = Field(14 * DAY, ge=1)
    ttl_cap: int = Field(30 * DAY, ge=1)
    secret_max_bytes: int = Field(10_000, ge=1)
    passphrase_min: int = Field(4, ge=1)
    passphrase_max: int = Field(128, ge=1)
    passphrase_required: bool = False
    request_max_bytes: int = Field(0, ge=0, description="0 means: derived from secret_max_bytes")

    create_limit: int = Field(100, ge=0, description="creations per client per window; 0 = off")
    create_window: int = Field(600, ge=1)
    reveal_guess_limit: int = Field(
        300, ge=0, description="failed secret/receipt lookups per client per window; 0 = off"
    )
    reveal_guess_window: int = Field(900, ge=1)

    argon2_time_cost: int = Field(2, ge=1, le=16)
    argon2_memory_kib: int = Field(19_456, ge=8, le=1_048_576)

    sweep_interval: int = Field(60, ge=1)

    # "console" (development: messages go to the log), smtp://user:pass@host:port, smtps://…,
    # or smtp://…?starttls=true. A SecretStr: the URL may hold the SMTP password.
    smtp_url: SecretStr = SecretStr("console")
    mail_from: str = "onetime <noreply@localhost>"
    mail_timeout: float = Field(10, gt=0, le=300, description="seconds per delivery attempt")
    # No "trace": at that level uvicorn logs every client's address and port.
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    @field_validator("logo_path")
    @classmethod
    def _logo_is_a_file(cls, value: Path | None) -> Path | None:
        if value is not None and (
            value.suffix.lower() not in (".svg", ".png") or not value.is_file()
        ):
            raise ValueError(f"{value} must be an existing .svg or .png file")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _mail_url_parses(cls, value: SecretStr) -> SecretStr:
        parse_mail_url(value.get_secret_value())  # MailURLError is a ValueError; no password in it
        return value

    @field_validator("mail_from")
    @classmethod
    def _sender_parses(cls, value: str) -> str:
        return check_sender(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("signup_domains", mode="after")
    @classmethod
    def _lower_domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(domain.lower().lstrip("@") for domain in value)

    @field_validator("cors_origins", mode="after")
    @classmethod
    def _exact_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Browsers send an Origin as scheme://host[:port], lower case; compare it exactly.
        origins = []
        for origin in value:
            parts = urlsplit(origin.lower())
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or "@" in parts.netloc
                or parts.path not in ("", "/")
                or parts.query
                or parts.fragment
            ):
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
            origins.append(f"{parts.scheme}://{parts.netloc}")
        return tuple(origins)

    @field_validator(
        "secret_previous", "share_domains", "signup_domains", "cors_origins", mode="before"
    )
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _plans_fit_together(self) -> Settings:
        try:
            self.plan_table()
        except ValueError as error:
            raise ValueError(f"ONETIME_PLANS / ONETIME_DEFAULT_PLAN: {error}") from None
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("ONETIME_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    # -- derived values -----------------------------------------------------------------------

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'onetime.sqlite3'}"

    @property
    def base_url(self) -> str:
        return f"{'https' if self.ssl else 'http'}://{self.site_host}"

    @property
    def max_request_bytes(self) -> int:
        # Form encoding can triple a secret's size; leave room for the other fields.
        return self.request_max_bytes or max(64 * 1024, self.secret_max_bytes * 3 + 8 * 1024)

    def limits(self) -> Limits:
        return Limits(
            ttl_min=self.ttl_min,
            ttl_default=self.ttl_default,
            ttl_cap=self.ttl_cap,
            passphrase_min=self.passphrase_min,
            passphrase_max=self.passphrase_max,
            passphrase_required=self.passphrase_required,
        )

    def guard_rules(self) -> GuardRules:
        return GuardRules(
            create_limit=self.create_limit,
            create_window=self.create_window,
            account_create_limit=self.account_create_limit,
            reveal_guess_limit=self.reveal_guess_limit,
            reveal_guess_window=self.reveal_guess_window,
        )

    def plan_table(self) -> Plans:
        """anonymous, free and paid from the flat settings, then the `plans` table on top."""
        size = self.secret_max_bytes
        table = {
            ANONYMOUS_PLAN: Plan(ANONYMOUS_PLAN, self.ttl_max_anonymous, size),
            "free": Plan("free", self.ttl_max_account, size, email_recipients=True),
            "paid": Plan("paid", self.ttl_cap, size, email_recipients=True, custom_domains=True),
        }
        for name, plan in self.plans.items():
            table[name] = Plan(
                name,
                plan.ttl_max,
                plan.secret_max_bytes or size,
                email_recipients=plan.email_recipients and name != ANONYMOUS_PLAN,
                custom_domains=plan.custom_domains and name != ANONYMOUS_PLAN,
            )
        return Plans(table, self.default_plan)

    def account_rules(self) -> AccountRules:
        return AccountRules(
            signup_enabled=self.signup_enabled,
            allowed_domains=frozenset(self.signup_domains),
            auto_verify=self.auto_verify,
            password_min=self.password_min,
            session_idle=self.session_idle,
            signup_per_client=self.signup_limit,
            reset_per_client=self.reset_limit,
            signin_failures_per_account=self.signin_failure_limit,
            mails_per_account=self.mail_limit,
        )

    def argon2(self) -> Argon2Params:
        return Argon2Params(time_cost=self.argon2_time_cost, memory_kib=self.argon2_memory_kib)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning validation errors into one readable SettingsError."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = ".".join(str(part) for part in item["loc"])
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"ONETIME_{name.upper()}: {message}" if name else message)
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
    except (OSError, ValueError) as error:
        raise SettingsError(f"cannot read the configuration: {error}") from None


def server_secret(settings: Settings) -> bytes:
    """The server secret: configured, or (in development only) one kept in the data directory."""
    if settings.secret is not None:
        value = settings.secret.get_secret_value()
        if len(value) < 32:
            raise SettingsError("ONETIME_SECRET must be at least 32 characters of random text.")
        return value.encode()
    if settings.env == "production":
        raise SettingsError(
            "ONETIME_SECRET is not set. Production needs a server secret: "
            'generate one with `python -c "import secrets; print(secrets.token_hex(32))"`.'
        )
    return _development_secret(settings.data_dir)


def _development_secret(data_dir: Path) -> bytes:
    path = data_dir / SECRET_FILE_NAME
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret_file(path)
    except OSError as error:
        raise SettingsError(
            f"cannot create the data directory {data_dir}: {error.strerror}"
        ) from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    log.warning("created a development server secret in %s; set ONETIME_SECRET in production", path)
    return _read_secret_file(path)


def _read_secret_file(path: Path) -> bytes:
    try:
        value = path.read_text().strip()
    except OSError as error:
        raise SettingsError(f"cannot read the server secret {path}: {error.strerror}") from None
    if len(value) < 32:
        raise SettingsError(
            f"the server secret in {path} is too short; delete it to make a new one"
        )
    return value.encode()
