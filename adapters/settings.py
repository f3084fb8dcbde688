"""Configuration from the environment (`CARELEDGER_*`, `DATABASE_URL`, `REDIS_URL`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARELEDGER_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CARELEDGER_DATABASE_URL")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CARELEDGER_REDIS_URL")
    )
    env: str = "dev"
    data_dir: Path = Path("var")
    master_key: str | None = Field(default=None, description="base64 of 32 bytes")
    audit_signing_key: str | None = Field(default=None, description="base64 Ed25519 seed")
    token_secret: str | None = None
    demo_password: str = "CareLedger-Demo-2026!"  # noqa: S105 - documented demo default
    db_pool_size: int = 4
    db_pool_overflow: int = 12
    views_pool_size: int = 2
    views_pool_overflow: int = 14
    api_rate_limit_per_minute: int = 100
    login_attempts_per_window: int = 5
    login_window_seconds: int = 900
    redis_prefix: str = "careledger"
    public_url: str = "http://127.0.0.1:8000"
    access_token_minutes: int = 15
    refresh_token_days: int = 7
    staff_idle_minutes: int = 15
    log_level: str = "INFO"
    run_projections_in_process: bool = True
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_api_base: str | None = Field(default=None, description="None = the real https://api.twilio.com")
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = Field(default=None, description="None = the real https://api.stripe.com")
    stripe_currency: str = "usd"
    reminder_lease_seconds: int = Field(default=120, description="a reminder claim's lease; > the SMS timeout")
    reminder_max_attempts: int = 5
    object_store: Literal["local", "s3"] = "local"
    object_store_path: Path | None = Field(default=None, description="None = data_dir / 'objects'")
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = Field(default=None, description="None = AWS itself")
    s3_region: str = "us-east-1"

    @property
    def redis_address(self) -> str:
        return self.redis_url or "redis://127.0.0.1:6379/0"

    @property
    def object_store_root(self) -> Path:
        return self.object_store_path or self.data_dir / "objects"

    @property
    def is_dev(self) -> bool:
        return self.env in {"dev", "test"}


@lru_cache
def get_settings() -> Settings:
    return Settings()
