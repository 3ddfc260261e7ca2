"""Every knob of the platform, read from the environment or `.env` (one `Settings` object).

An app's own knobs live in its own :class:`AppSettings` subclass (``conjure/apps/<name>/settings.py``),
read from the same environment and `.env` under the same names, and reached through the
platform's object: ``settings.for_app(ImagegenSettings)``. Values for an app's fields given
to ``Settings(...)`` in code (tests) are handed on to the app's class.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[list[str], NoDecode]


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class StarPackage(BaseModel):
    """A star package for sale (seed 000's package shape); ``price`` is in THB satang (1/100 baht)."""

    id: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    name: str
    price: int = Field(ge=1000)  # Stripe's THB minimum charge is 10 baht
    stars: int = Field(ge=1)
    bonus_stars: int = Field(default=0, ge=0)


def _default_star_packages() -> list[StarPackage]:
    return [
        StarPackage(id="starter", name="Starter", price=9_900, stars=10, bonus_stars=0),
        StarPackage(id="popular", name="Popular", price=24_900, stars=30, bonus_stars=3),
        StarPackage(id="value", name="Value", price=49_900, stars=70, bonus_stars=10),
        StarPackage(id="premium", name="Premium", price=99_900, stars=150, bonus_stars=30),
    ]


class SubscriptionPlan(BaseModel):
    """A subscription plan (``SUBSCRIPTION_PLANS``); the one without a Stripe price is the free tier.

    ``monthly_allowance`` stars are granted per paid month (a yearly invoice grants twelve), expiring
    at the period's end; ``limits`` are what the plan raises in the apps (``plan_limits_for``).
    """

    id: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    name: str
    stripe_price_id: str | None = None
    interval: Literal["month", "year"] = "month"
    price: int = Field(default=0, ge=0)  # for display, in the currency's smallest unit
    currency: str = "thb"
    monthly_allowance: int = Field(default=0, ge=0)
    limits: dict[str, int | str | bool] = Field(default_factory=dict)


def _default_subscription_plans() -> list[SubscriptionPlan]:
    return [
        SubscriptionPlan(
            id="free",
            name="Free",
            limits={"staging_images_per_month": 5, "assistant_daily_messages": 20, "queue_lane": "standard"},
        ),
        SubscriptionPlan(
            id="plus",
            name="Plus",
            stripe_price_id="price_conjure_plus_monthly",
            price=19_900,
            monthly_allowance=30,
            limits={"staging_images_per_month": 50, "assistant_daily_messages": 200, "queue_lane": "fast"},
        ),
        SubscriptionPlan(
            id="pro",
            name="Pro",
            stripe_price_id="price_conjure_pro_monthly",
            price=49_900,
            monthly_allowance=100,
            limits={
                "staging_images_per_month": 500,
                "assistant_daily_messages": 1000,
                "queue_lane": "priority",
            },
        ),
    ]


class AppSettings(BaseSettings):
    """Base of an app's settings class: the same `.env` and environment, fields named as the env vars."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)


AppSettingsT = TypeVar("AppSettingsT", bound=AppSettings)


class Settings(BaseSettings):
    """Configuration; the defaults are the embedded mode, which needs no env at all."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # Given in code for fields this class lacks (an app's), and how to read `.env`; see for_app().
    _app_values: dict[str, Any] = PrivateAttr(default_factory=dict)
    _app_init: dict[str, Any] = PrivateAttr(default_factory=dict)
    _app_settings: dict[type[AppSettings], AppSettings] = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        fields = type(self).model_fields
        app_values = {k: v for k, v in values.items() if not k.startswith("_") and k not in fields}
        super().__init__(**{k: v for k, v in values.items() if k not in app_values})
        self._app_values = app_values
        # `_env_file=None` (tests) must keep the apps' classes off `.env` as well.
        self._app_init = {k: v for k, v in values.items() if k == "_env_file"}

    environment: Literal["development", "staging", "production", "test"] = "development"
    var_dir: Path = Path("./var")

    # Infrastructure: production switches by URL.
    database_url: str = ""
    redis_url: str = ""
    storage_url: str = ""
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_region: str = "us-east-1"
    s3_endpoint_url: str = ""
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    storage_presign_ttl_seconds: int = 3600

    # HTTP. Unset, both follow the address `conjure up`/`conjure api` listen on (serving_at()).
    public_base_url: str = "http://localhost:8000"
    cors_origins: CommaList = Field(default_factory=lambda: ["http://localhost:8000"])
    max_request_body_bytes: int = 1_048_576
    max_upload_bytes: int = 25 * 1_048_576  # direct uploads to PUT /files/… (embedded storage)
    log_level: str = "INFO"

    # Identity
    jwt_secret: SecretStr | None = None
    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    clerk_issuer: str = ""
    clerk_authorized_parties: CommaList = Field(default_factory=list)
    auth0_issuer: str = ""
    auth0_audience: str = ""
    firebase_project_id: str = ""
    firebase_jwks_url: str = (
        "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
    )
    jwks_min_refresh_seconds: int = 60
    telegram_bot_token: SecretStr | None = None
    telegram_auth_max_age_seconds: int = 86400
    api_keys: CommaList = Field(default_factory=list)
    admin_emails: CommaList = Field(default_factory=list)

    # Rate limits (the `limits` library's syntax)
    rate_limit_default: str = "100/minute"
    rate_limit_anonymous: str = "30/minute"
    rate_limit_login: str = "10/minute"
    rate_limit_generation: str = "5/minute"
    rate_limit_payment: str = "10/minute"  # create-intent: each call creates a Stripe PaymentIntent
    rate_limit_signup: str = "20/hour"  # new accounts per client IP (each gets a welcome bonus)
    rate_limit_signup_device: str = "5/hour"  # new accounts per X-Device-Id header, when sent
    rate_limit_password_reset: str = "5/hour"  # reset emails asked for one account (by email hash)

    # Email (conjure.mail). MAIL_URL: smtp://user:pass@host:port (STARTTLS when the server offers
    # it) or smtps://… (implicit TLS); unset, each email is written as an .eml file under
    # VAR_DIR/outbox instead (a warning at start-up in production: nobody receives them).
    mail_url: SecretStr | None = None
    mail_from: str = "Conjure <no-reply@localhost>"
    mail_timeout_seconds: float = Field(default=20.0, gt=0)
    # How long a password reset link works (conjure.auth.resets).
    password_reset_ttl_seconds: int = Field(default=3600, ge=60)

    # Rate limits while Redis is down (docs/auth.md): each API process enforces its share of a
    # limit (limit ÷ RATE_LIMIT_API_PROCESSES, the number of API processes in all) on writes;
    # routes that spend money answer 503 with this Retry-After.
    rate_limit_api_processes: int = Field(default=1, ge=1)
    rate_limit_outage_retry_after_seconds: int = Field(default=5, ge=1)

    # Economy
    signup_bonus_stars: int = 3
    invite_reward_coins_inviter: int = 10
    invite_reward_coins_invitee: int = 5
    # Caps on what one inviter can earn (conjure.wallet.invites): per rolling 24 h, and ever.
    invite_rewards_per_day: int = Field(default=10, ge=0)
    invite_rewards_max: int = Field(default=100, ge=0)
    # A burst the admin console flags (GET /api/v1/admin/invites/flagged): more than this many
    # rewarded invitees of one inviter within the window; reaching a cap above is flagged too.
    invite_burst_threshold: int = Field(default=5, ge=1)
    invite_burst_window_seconds: int = Field(default=3600, ge=1)
    coins_per_star: int = 10

    # Payments
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: CommaList = Field(default_factory=list)
    stripe_api_base: str = ""
    stripe_webhook_tolerance_seconds: int = Field(default=300, ge=1)  # ± around our clock, both ways
    stripe_promptpay_enabled: bool = False
    # Public (pk_…) key the web client needs for Stripe Elements; safe to show to browsers.
    stripe_publishable_key: str = ""
    stripe_timeout_seconds: float = 20.0
    # STAR_PACKAGES is JSON:
    # [{"id": "starter", "name": "Starter", "price": 9900, "stars": 10, "bonus_stars": 0}]
    star_packages: list[StarPackage] = Field(default_factory=_default_star_packages)
    # SUBSCRIPTION_PLANS is JSON: [{"id": "plus", "name": "Plus", "stripe_price_id": "price_…",
    # "interval": "month", "price": 19900, "monthly_allowance": 30, "limits": {"queue_lane": "fast"}}]
    subscription_plans: list[SubscriptionPlan] = Field(default_factory=_default_subscription_plans)
    # past_due keeps the plan this many days after the first failed payment, then the free tier.
    subscription_grace_days: int = Field(default=3, ge=0)
    # How long a process reuses a user's plan limits (the submit's queue class, conjure.billing.plans):
    # a plan change reaches the queue within this many seconds.
    plan_cache_seconds: float = Field(default=30.0, ge=0)
    # Where Checkout and the portal send the customer back; empty: PUBLIC_BASE_URL + "/billing".
    billing_return_url: str = ""

    # AI
    ai_provider: CommaList = Field(default_factory=lambda: ["offline"])
    ai_call_timeout_seconds: float = 20.0
    ai_max_concurrency: int = 20
    ai_output_retries: int = 2  # pydantic-ai re-asks a model whose output fails validation
    # A provider's circuit breaker opens after this many transient failures in a row and lets
    # one trial call through after the cooldown (conjure.ai.breaker; per process).
    ai_breaker_failures: int = Field(default=5, ge=1)
    ai_breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    # A server-side cap on the tokens every model request may write (what one request can cost):
    # AI_MAX_TOKENS_PER_STEP is JSON by step name, AI_MAX_TOKENS the cap for any other step.
    ai_max_tokens: int = Field(default=1024, ge=1)
    ai_max_tokens_per_step: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: {"filter": 300, "analyze": 500, "read": 2000}
    )
    # How models return typed output: "tool" (function calling), "native" (JSON schema mode) or
    # "prompted" (JSON in plain text; for local servers without tool support).
    ai_output_mode: Literal["tool", "native", "prompted"] = "tool"
    gemini_api_key: SecretStr | None = None
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str = ""
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str = ""

    # Job engine
    worker_concurrency: int = 10
    max_processing_time_ms: int = 30_000
    job_max_attempts: int = 5
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 60.0
    visibility_timeout_seconds: int = 60
    heartbeat_seconds: float = 10.0
    reconcile_after_seconds: int = 30
    shutdown_grace_seconds: float = 25.0
    job_webhook_allow_private: bool = False
    job_webhook_secret: SecretStr | None = None
    job_scheduler_poll_seconds: float = 0.25
    worker_metrics_port: int = 0  # >0: `conjure worker` serves /metrics on this port
    # The API's /metrics asks for `Authorization: Bearer <METRICS_TOKEN>` when set; unset, it is
    # open in development and test and closed (404) in production and staging. A worker's
    # metrics port is not the API's: keep it on the internal network.
    metrics_token: SecretStr | None = None
    # Runs that spend no attempt (conjure.jobs.parking): parks of one job waiting on callbacks,
    # delays while a provider's circuit breaker is open; past either cap a run counts again.
    job_max_parks: int = Field(default=100, ge=0)
    job_max_free_delays: int = Field(default=10, ge=0)
    # The longest a parked job may wait for its callback, whatever deadline its handler asked for.
    job_max_wait_seconds: float = Field(default=86400.0, gt=0)
    # Fair dispatch (conjure.jobs.lanes): a payer's jobs on the ready queue at once, the ready
    # queue's size before jobs wait in their payers' lanes, and the seconds of waiting that
    # count as one priority class (aging)
    job_max_inflight_per_user: int = Field(default=32, ge=1)
    job_dispatch_window: int = Field(default=500, ge=1)
    job_priority_aging_seconds: float = Field(default=10.0, ge=0)

    # Per-user event stream (GET /api/v1/events) and the cap on any user's open SSE streams
    sse_max_connections_per_user: int = Field(default=5, ge=1)  # beyond it: 429
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0)  # comment lines that keep proxies open
    sse_lease_seconds: float = Field(default=30.0, gt=0)  # a crashed process's slots free after this
    user_events_retain_count: int = Field(default=1000, ge=1)  # replayable events per user
    user_events_retain_seconds: float = Field(default=3600.0, gt=0)  # ... no older than this

    # Traces and error tracking (conjure.observability.tracing, .errors): both off when unset.
    # The other OTEL_* variables (headers, sampler, resource attributes) the OTel SDK reads itself.
    otel_exporter_otlp_endpoint: str = ""
    otel_exporter_otlp_protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    otel_service_name: str = ""  # unset: conjure-api, conjure-worker or conjure (conjure up)
    sentry_dsn: SecretStr | None = None
    sentry_release: str = ""  # unset: conjure@<version>
    # What one star charged is worth in USD, for revenue and margin in the usage reports.
    report_star_value_usd: float = Field(default=0.25, ge=0)
    # How often a process serving /metrics re-checks every wallet against the ledger (0: never).
    wallet_check_interval_seconds: float = Field(default=900.0, ge=0)
    # Messaging channels (conjure.channels, docs/channels.md). A provider's webhook answers 503
    # until its secret is set; its sends raise ChannelNotConfigured until its credentials are.
    ringcentral_server_url: str = "https://platform.ringcentral.com"
    ringcentral_client_id: str = ""
    ringcentral_client_secret: SecretStr | None = None
    ringcentral_jwt: SecretStr | None = None  # the JWT credential of the JWT auth flow
    # The subscription's deliveryMode.verificationToken, sent back in every notification.
    ringcentral_webhook_verification_token: SecretStr | None = None
    ringcentral_webhook_tolerance_seconds: int = Field(default=300, ge=1)  # ± a notification's timestamp
    meta_app_secret: SecretStr | None = None  # keys X-Hub-Signature-256
    meta_verify_token: SecretStr | None = None  # the GET handshake's hub.verify_token
    meta_webhook_tolerance_seconds: int = Field(default=300, ge=1)  # ± a message's signed timestamp
    meta_graph_api_base: str = "https://graph.facebook.com"
    meta_graph_api_version: str = "v21.0"
    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str = ""  # the sender when an app names none
    google_pubsub_audience: str = ""  # the push subscription's OIDC audience
    google_pubsub_service_account_email: str = ""  # the push subscription's service account
    google_pubsub_jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    # Pub/Sub reuses a push token for up to an hour: its iat may be this far from now, either way.
    google_pubsub_token_max_age_seconds: int = Field(default=3600, ge=1)
    google_business_api_base: str = "https://mybusiness.googleapis.com"
    google_business_token_url: str = "https://oauth2.googleapis.com/token"
    google_business_client_id: str = ""
    google_business_client_secret: SecretStr | None = None
    google_business_refresh_token: SecretStr | None = None
    google_business_account_id: str = ""  # the account of bare location ids
    channels_http_timeout_seconds: float = Field(default=10.0, gt=0)

    _split = field_validator(
        "cors_origins",
        "clerk_authorized_parties",
        "api_keys",
        "admin_emails",
        "stripe_webhook_secret",
        "ai_provider",
        mode="before",
    )(_split_commas)

    def for_app(self, cls: type[AppSettingsT]) -> AppSettingsT:
        """An app's settings: values given to this object in code, else the environment, else defaults."""
        found = self._app_settings.get(cls)
        if not isinstance(found, cls):
            given = {k: v for k, v in self._app_values.items() if k in cls.model_fields}
            found = self._app_settings[cls] = cls(**self._app_init, **given)
        return found

    def serving_at(self, host: str, port: int) -> Settings:
        """These settings for a server listening on ``host:port``: unless ``PUBLIC_BASE_URL``
        (and ``CORS_ORIGINS``) were given, links (invites, local file URLs) point at that address."""
        if "public_base_url" in self.model_fields_set:
            return self
        base = listening_url(host, port)
        update: dict[str, Any] = {"public_base_url": base}
        if "cors_origins" not in self.model_fields_set:
            # Links say localhost while uvicorn and the README say 127.0.0.1: a page opened at either
            # name must be let through to the other (a direct upload is a cross-origin PUT).
            loopback = base == listening_url("localhost", port)
            update["cors_origins"] = [base, f"http://127.0.0.1:{port}"] if loopback else [base]
        return self.model_copy(update=update)

    @property
    def is_production(self) -> bool:
        return self.environment in ("production", "staging")

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'conjure.db').as_posix()}"

    @cached_property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.var_dir / 'objects').resolve().as_posix()}"

    @cached_property
    def signing_secret(self) -> str:
        """Secret for Conjure's own tokens; kept under ./var in development when unset."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        if self.is_production:
            raise RuntimeError("JWT_SECRET must be set in production")
        path = self.var_dir / "jwt_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def listening_url(host: str, port: int) -> str:
    """The http URL a browser on this machine reaches a server bound to ``host:port`` at."""
    if host in ("", "0.0.0.0", "::", "127.0.0.1", "::1", "localhost"):
        host = "localhost"  # the wildcard is no address to link to; loopback keeps the old default's name
    elif ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


def get_settings() -> Settings:
    return Settings()
