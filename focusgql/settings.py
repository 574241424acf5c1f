"""Configuration from the environment (prefix FOCUSGQL_); built by the app factory."""

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOCUSGQL_", extra="ignore")

    mongodb_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("FOCUSGQL_MONGODB_URI", "MONGODB_URI"),
        description="MongoDB connection string; unset starts the embedded SecantusDB.",
    )
    database: str = Field(default="focusgql", description="Database name.")
    data_dir: Path = Field(
        default=Path(".focusgql"),
        description="Embedded database files and the generated JWT secret.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HS256 signing key; `focusgql serve` generates one when unset.",
    )
    jwt_issuer: str = "focusgql"
    jwt_audience: str = "focusgql"
    token_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)

    idle_threshold_seconds: int = Field(default=15, ge=5, le=3600)
    abandon_after_seconds: int = Field(default=1800, gt=0)
    reaper_interval_seconds: float = Field(default=5.0, gt=0)
    checkpoint_seconds: float = Field(
        default=10.0, gt=0, description="How often stored counters of running sessions refresh."
    )
