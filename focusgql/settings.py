"""Configuration from the environment (prefix FOCUSGQL_); built by the app factory."""

from pathlib import Path
from typing import Annotated, Literal, Self

from limits import parse_many
from pydantic import (
    AliasChoices,
    Field,
    NonNegativeInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from focusgql.domain.session import DEFAULT_IDLE_THRESHOLD, IDLE_THRESHOLD_RANGE

# Algorithms a token may be verified with: HMAC with our secrets, the rest with
# FOCUSGQL_JWT_PUBLIC_KEY. "none" is never among them.
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
PUBLIC_KEY_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

# HS256 keys shorter than the hash (32 bytes) are guessable offline; PyJWT warns too.
MIN_SECRET_LENGTH = 32

# Comma-separated in the environment ("a,b"); a JSON list works too.
CommaList = Annotated[list[str], NoDecode]


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
    database_timeout_ms: int = Field(
        default=5000,
        ge=100,
        le=600_000,
        description="Deadline of every database operation (PyMongo's timeoutMS): a stalled "
        "database answers UNAVAILABLE within it instead of holding requests; a timeoutMS in "
        "the connection string wins.",
    )
    embedded_sync_on_commit: bool = Field(
        default=True,
        description="The embedded database fsyncs its log at every commit, so nothing "
        "acknowledged is lost to a panic (a full disk), a kill or a power cut.",
    )
    embedded_lock_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="How long starting the embedded database waits for a previous "
        "owner of its files (a server stopped a moment ago) to let go.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text or as JSON objects."
    )

    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HS256 signing key; `focusgql serve` generates one when unset.",
    )
    jwt_issuer: str = "focusgql"
    jwt_audience: str = "focusgql"
    token_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    jwt_key_id: str = Field(
        default="current", min_length=1, description="`kid` of tokens signed with jwt_secret."
    )
    jwt_previous_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='Old HS256 secrets by kid, still accepted: JSON, {"2026-01": "..."}.',
    )
    jwt_public_key: str | None = Field(
        default=None, description="PEM public key of an external token issuer (RS*/ES*/PS*)."
    )
    jwt_external_issuer: str | None = Field(
        default=None, description="`iss` required of public-key tokens; default jwt_issuer."
    )
    jwt_algorithms: CommaList = Field(
        default_factory=lambda: ["HS256"], description="Algorithms a token may be signed with."
    )
    jwt_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew allowed on exp, nbf and iat."
    )

    # Abuse limits (see SECURITY.md).
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    ws_max_message_bytes: int = Field(default=64 * 1024, ge=1024)
    max_query_depth: int = Field(default=8, ge=1)
    max_aliases: int = Field(default=10, ge=0)
    max_query_tokens: int = Field(default=1000, ge=10)
    max_subscriptions_per_connection: int = Field(default=20, ge=1)
    connection_init_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    introspection: bool = True
    trusted_documents: Path | None = Field(
        default=None,
        description="Manifest of the only documents that may run (Apollo's persisted-query "
        "manifest or Relay's id map); unset, any document runs.",
    )
    stream_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        le=300,
        description="Heartbeat interval of subscriptions over SSE and multipart HTTP.",
    )
    allowed_origins: CommaList = Field(
        default_factory=list,
        description="Browser origins, besides the server's own, allowed to open a WebSocket.",
    )
    cors_origins: CommaList = Field(
        default_factory=list, description="Browser origins allowed to call /graphql over HTTP."
    )

    # Rate limits, in the `limits` notation ("10/minute", "5/second;100/hour"); "" = none.
    rate_limit_login_per_address: str = "30/minute;200/hour"
    rate_limit_login_per_account: str = "10/minute;50/hour"
    rate_limit_mutations_per_user: str = "120/minute"
    rate_limit_mutations_per_address: str = "600/minute"

    idle_threshold_seconds: int = Field(
        default=DEFAULT_IDLE_THRESHOLD, ge=IDLE_THRESHOLD_RANGE[0], le=IDLE_THRESHOLD_RANGE[1]
    )
    abandon_after_seconds: int = Field(default=1800, gt=0)
    reaper_interval_seconds: float = Field(default=5.0, gt=0)
    gc_freeze: bool = Field(
        default=True,
        description="After startup, freeze what is loaded out of the garbage collector's "
        "view (gc.freeze), so full collections walk only what connections create.",
    )
    gc_thresholds: Annotated[tuple[NonNegativeInt, NonNegativeInt, NonNegativeInt], NoDecode] = (
        Field(
            default=(700, 100, 100),
            description="gc.set_threshold(...) at startup (Python's own: 700,10,10). A tenfold "
            "middle value sends what lives only milliseconds (a tick's send in flight) to the "
            "oldest generation ten times less often, and arrivals there trigger full collections; "
            "a tenfold last value makes those full collections (0.3-0.4 s at 2,000 people) "
            "ten times rarer still.",
        )
    )
    signal_commit_ms: float = Field(
        default=45,
        gt=0,
        le=1000,
        description="Group-commit window for activity and tab switches: every signal "
        "arriving within it is stored in one write, and answered once that write is "
        "acknowledged.",
    )
    signal_stall_seconds: float = Field(
        default=2.0,
        gt=0,
        description="A signal write in flight this long means the database is behind: "
        "new signals get UNAVAILABLE with retryAfter instead of queueing.",
    )
    max_signal_age_seconds: int = Field(
        default=600,
        ge=1,
        le=86_400,
        description="Oldest `at` a replayed activity or tab switch may carry; an older "
        "one is refused (TOO_OLD).",
    )
    fold_writes_per_second: float = Field(
        default=2.0,
        gt=0,
        le=1000,
        description="Pace at which journalled signals are stored in their session "
        "documents, in writes of up to 25 sessions: with the commit window it bounds "
        "the database's write commands per second whatever the number of people.",
    )
    checkpoint_seconds: float = Field(
        default=10.0, gt=0, description="How often stored counters of running sessions refresh."
    )

    webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook targets on private, loopback and link-local addresses "
        "(tests, or a receiver on your own network).",
    )
    webhook_retry_window_seconds: float = Field(
        default=24 * 3600,
        gt=0,
        description="How long a failing webhook delivery is retried; the backoff schedule "
        "is derived from it (first wait window/17280, doubling, at most window/8).",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="How long one webhook attempt may take."
    )
    webhook_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often a process looks for webhook events made by other processes "
        "and for retries come due (its own changes are sent at once).",
    )
    webhook_dispatch: bool = Field(
        default=True,
        description="Whether this process sends webhook deliveries; false: it only writes "
        "events, for other processes to send.",
    )

    @field_validator("gc_thresholds", mode="before")
    @classmethod
    def _split_thresholds(cls, value: object) -> object:
        if isinstance(value, str):  # "700,100,10", brackets allowed
            value = [part.strip() for part in value.strip().strip("[]").split(",")]
        if isinstance(value, list | tuple) and len(value) != 3:
            raise ValueError("three comma-separated integers, such as 700,100,10")
        return value

    @field_validator("jwt_algorithms", "allowed_origins", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("jwt_previous_secrets")
    @classmethod
    def _long_secrets(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for kid, secret in value.items():
            if len(secret.get_secret_value()) < MIN_SECRET_LENGTH:
                raise ValueError(f"{kid!r}: must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator(
        "rate_limit_login_per_address",
        "rate_limit_login_per_account",
        "rate_limit_mutations_per_user",
        "rate_limit_mutations_per_address",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        if value.strip():
            parse_many(value)  # ValueError on a malformed limit: fail at startup
        return value

    @model_validator(mode="after")
    def _jwt_algorithms(self) -> Self:
        known = HMAC_ALGORITHMS | PUBLIC_KEY_ALGORITHMS
        if not self.jwt_algorithms:
            raise ValueError("FOCUSGQL_JWT_ALGORITHMS must name at least one algorithm")
        unknown = sorted(set(self.jwt_algorithms) - known)
        if unknown:
            raise ValueError(f"FOCUSGQL_JWT_ALGORITHMS: unsupported {unknown}")
        if "HS256" not in self.jwt_algorithms:
            raise ValueError("FOCUSGQL_JWT_ALGORITHMS must include HS256, which our tokens use")
        asymmetric = set(self.jwt_algorithms) & PUBLIC_KEY_ALGORITHMS
        if asymmetric and not self.jwt_public_key:
            raise ValueError(f"{sorted(asymmetric)} need FOCUSGQL_JWT_PUBLIC_KEY")
        return self
