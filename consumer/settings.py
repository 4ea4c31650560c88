"""One frozen, typed settings object, built once at the entry point and passed down.

Sources, later wins: the defaults in ``config/barunrun.toml`` (shipped in the package), the
file named by ``--config`` or ``BARUNRUN_CONFIG``, then environment variables named
``BARUNRUN_<SECTION>_<FIELD>`` (e.g. ``BARUNRUN_KAFKA_BOOTSTRAP``, ``BARUNRUN_REDIS_URL``,
``BARUNRUN_METRICS_PORT``, ``BARUNRUN_MODEL_DIR``). Secrets are ``SecretStr``: they never show
in ``repr``, logs or ``--print-config``; each can also come from a ``*_file`` path so that
container secrets need not pass through the environment.

Nothing here reads the environment at import time.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from consumer.errors import ConfigError

ENV_PREFIX = "BARUNRUN_"
CONFIG_ENV = "BARUNRUN_CONFIG"
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "barunrun.toml"

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _read_secret(value: SecretStr | None, path: str) -> SecretStr | None:
    if value is not None and value.get_secret_value():
        return value
    if not path:
        return None
    try:
        return SecretStr(Path(path).read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ValueError(f"cannot read secret file {path!r}: {exc.strerror}") from exc


class KafkaSettings(_Section):
    bootstrap: str = "127.0.0.1:9092"
    client_id: str = "barunrun"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str = ""
    sasl_password: SecretStr | None = None
    sasl_password_file: str = ""
    ssl_cafile: str = ""
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    ssl_check_hostname: bool = True
    acks: Literal["0", "1", "all"] = "all"
    linger_ms: int = Field(5, ge=0, le=1000)
    request_timeout_ms: int = Field(30000, ge=1000)
    session_timeout_ms: int = Field(10000, ge=1000)
    heartbeat_interval_ms: int = Field(3000, ge=100)
    max_poll_interval_ms: int = Field(300000, ge=10000)
    max_poll_records: int = Field(2000, ge=1, le=100000)
    fetch_max_bytes: int = Field(52428800, ge=1024)

    @model_validator(mode="after")
    def _resolve_secret(self) -> KafkaSettings:
        secret = _read_secret(self.sasl_password, self.sasl_password_file)
        object.__setattr__(self, "sasl_password", secret)
        if self.security_protocol.startswith("SASL") and not self.sasl_username:
            raise ValueError("security_protocol uses SASL but sasl_username is empty")
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError("heartbeat_interval_ms must be at most a third of session_timeout_ms")
        return self

    def client_options(self) -> dict[str, Any]:
        """Security and identity options shared by every kafka-python client we build."""
        options: dict[str, Any] = {
            "bootstrap_servers": [s.strip() for s in self.bootstrap.split(",") if s.strip()],
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
        }
        if self.security_protocol.startswith("SASL"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            password = self.sasl_password.get_secret_value() if self.sasl_password else ""
            options["sasl_plain_password"] = password
        if self.security_protocol.endswith("SSL"):
            options["ssl_check_hostname"] = self.ssl_check_hostname
            for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
                if getattr(self, key):
                    options[key] = getattr(self, key)
        return options


class TopicSettings(_Section):
    frames: str = "pose.frames"
    anomalies: str = "pose.anomalies"
    dlq: str = "pose.frames.dlq"
    scores: str = "pose.scores"
    labels: str = "pose.labels"
    # Alert episodes (docs/alerts.md), and what the example webhook could not deliver.
    alerts: str = "pose.alerts"
    alerts_dlq: str = "pose.alerts.dlq"
    # Partitions created by `barunrun dev` / the compose topic-init job; sized for scale-out.
    partitions: int = Field(6, ge=1, le=1024)
    publish_scores: bool = True


class RedisSettings(_Section):
    url: str = "redis://127.0.0.1:6379/0"
    username: str = ""
    password: SecretStr | None = None
    password_file: str = ""
    ssl_ca_certs: str = ""
    key_prefix: str = Field("barunrun", pattern=_ID_PATTERN)
    socket_timeout_s: float = Field(2.0, gt=0, le=60)

    @model_validator(mode="after")
    def _resolve_secret(self) -> RedisSettings:
        object.__setattr__(self, "password", _read_secret(self.password, self.password_file))
        if not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("url must start with redis://, rediss:// or unix://")
        return self


class WindowSettings(_Section):
    size: int = Field(30, ge=2, le=300)
    hop: int = Field(10, ge=1, le=300)
    # Small gaps are stitched (trackers drop frames); longer ones restart the window so that
    # unrelated motion is never scored as one window.
    max_gap_frames: int = Field(5, ge=1)
    max_gap_ms: int = Field(1000, ge=1)
    idle_ttl_s: int = Field(120, ge=1)

    @model_validator(mode="after")
    def _hop_fits(self) -> WindowSettings:
        if self.hop > self.size:
            raise ValueError(f"hop ({self.hop}) must not exceed size ({self.size})")
        return self


class FrameSettings(_Section):
    max_message_bytes: int = Field(16384, ge=1024)
    max_future_ms: int = Field(60_000, ge=0)
    max_age_ms: int = Field(86_400_000, ge=1000)


class ModelSettings(_Section):
    dir: str = "models/current"
    # Fixed batch shapes keep TensorFlow from retracing per batch size; passed to the loaders.
    batch_sizes: tuple[int, ...] = (32, 128, 256)
    reload_interval_s: float = Field(5.0, gt=0)
    # The supervised classifier (`barunrun train-classifier`), loaded and hot-reloaded like
    # ``dir`` when [detectors] enabled names "classifier".
    classifier_dir: str = "models/classifier"

    @field_validator("batch_sizes")
    @classmethod
    def _batch_sizes_positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(size < 1 for size in value):
            raise ValueError(f"batch_sizes must be positive integers, got {list(value)}")
        return tuple(sorted(set(value)))


class DetectorSettings(_Section):
    # Which detectors' flags make an anomaly event. Every event carries the gait metrics and
    # cues either way; "rules" alone flags from the metrics (docs/metrics.md compares them).
    # "classifier" serves [model] classifier_dir; without "autoencoder" the autoencoder is
    # not loaded and the classifier's probability is the window's score.
    enabled: tuple[Literal["autoencoder", "rules", "classifier"], ...] = ("autoencoder",)

    @field_validator("enabled", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):  # BARUNRUN_DETECTORS_ENABLED=autoencoder,rules
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> DetectorSettings:
        if not self.enabled or len(set(self.enabled)) != len(self.enabled):
            raise ValueError("enabled must name autoencoder, classifier and/or rules, each once")
        return self


class AlertSettings(_Section):
    """Alert episodes from anomalous windows (docs/alerts.md: the state machine, and the
    measurements on held-out simulated runners behind these defaults)."""

    enabled: bool = True
    # Hysteresis: an episode opens when open_windows of the last of_last windows are anomalous
    # and resolves after resolve_after_clean clean windows in a row (hop 10: 3 windows a second).
    open_windows: int = Field(4, ge=1, le=60)
    of_last: int = Field(6, ge=1, le=60)
    resolve_after_clean: int = Field(12, ge=1, le=600)
    # `update` messages at most this often per episode, in window time.
    update_interval_s: float = Field(5.0, gt=0)
    # After a resolution, no new episode opens (alerts) for this long, in window time.
    cooldown_s: float = Field(30.0, ge=0)
    # An open episode with no window for this long resolves as idle: on its next window, or by
    # the sweep of open episodes (every sweep_interval_s) when no window comes at all.
    idle_after_s: float = Field(30.0, gt=0)
    sweep_interval_s: float = Field(5.0, gt=0)
    # The example webhook subscriber (`barunrun alerts webhook URL`).
    webhook_group_id: str = "barunrun-alerts-webhook"
    webhook_timeout_s: float = Field(5.0, gt=0)
    webhook_backoff_initial_s: float = Field(0.5, gt=0)
    webhook_backoff_max_s: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _hysteresis(self) -> AlertSettings:
        if self.open_windows > self.of_last:
            raise ValueError(
                f"open_windows ({self.open_windows}) must not exceed of_last ({self.of_last})"
            )
        return self


class MetricsSettings(_Section):
    host: str = "0.0.0.0"
    port: int = Field(9108, ge=0, le=65535)


class ServeSettings(_Section):
    group_id: str = "barunrun-consumer"
    poll_timeout_ms: int = Field(200, ge=1)
    backoff_initial_s: float = Field(0.5, gt=0)
    backoff_max_s: float = Field(10.0, gt=0)


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class GatewaySettings(_Section):
    """The ingestion gateway (``barunrun gateway``): devices stream frames over WebSocket/HTTP."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # Device tokens (JWT). HS256 signs with a shared secret (also what `barunrun token issue`
    # uses); RS256 verifies with a public key when an identity service signs the tokens.
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr | None = None
    jwt_secret_file: str = ""
    jwt_public_key_file: str = ""
    jwt_audience: str = ""
    jwt_issuer: str = ""
    jwt_leeway_s: int = Field(30, ge=0, le=600)
    # Per user, over all of their sessions in one gateway process: 2x a 30 fps camera, and a
    # burst of 20 s of frames so that a device syncing a buffer catches up at twice real time.
    rate_frames_per_s: float = Field(60.0, gt=0)
    rate_burst_frames: int = Field(600, ge=1)
    # Refused frames in a row (over the rate) before a WebSocket is closed with 4408.
    rate_strikes_to_close: int = Field(600, ge=1)
    max_sessions_per_user: int = Field(3, ge=1)
    # Backpressure: frames accepted but not yet acknowledged by the broker, in all and per
    # session (~2 KB each: 20000 is ~40 MB); a broker that leaves the oldest frame unacked for
    # broker_stall_ms counts as down and new frames are refused until it answers again.
    max_buffered_frames: int = Field(20000, ge=1)
    max_in_flight_per_session: int = Field(900, ge=1)
    broker_stall_ms: int = Field(2000, ge=100)
    retry_after_ms: int = Field(1000, ge=100)
    # How long the producer keeps retrying an accepted frame before giving it back to the
    # client as refused (it is never dropped silently).
    delivery_timeout_ms: int = Field(600_000, ge=1000)
    # The gateway's producer batches harder than a phone's: many sessions share it, and 20 ms
    # (vs kafka.linger_ms 5) costs ~40% less producer CPU for ~10 ms more latency.
    linger_ms: int = Field(20, ge=0, le=1000)
    max_batch_frames: int = Field(600, ge=1)
    batch_ack_timeout_s: float = Field(15.0, gt=0)
    # Events waiting for a slow WebSocket reader; the oldest go first past this.
    outbox_events: int = Field(256, ge=1)
    ws_ping_interval_s: float = Field(20.0, gt=0)
    # Alerts (topics.alerts) go to the same sockets as anomalies; an event topic that does not
    # exist yet is looked for again every topic_recheck_s.
    forward_alerts: bool = True
    topic_recheck_s: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _resolve_secret(self) -> GatewaySettings:
        secret = _read_secret(self.jwt_secret, self.jwt_secret_file)
        object.__setattr__(self, "jwt_secret", secret)
        # RFC 7518 3.2: an HS256 key shorter than the hash (32 bytes) weakens the signature.
        if secret is not None and len(secret.get_secret_value().encode()) < 32:
            raise ValueError("jwt_secret must be at least 32 bytes")
        return self


class ArchiveSettings(_Section):
    """``barunrun archive``, ``barunrun labels`` and ``barunrun dataset --from-archive``."""

    dir: str = "data/archive"
    # Empty: ``labels.sqlite`` inside ``dir``, so one folder holds all the raw material.
    labels_db: str = ""
    # Groups of their own: archiving and label ingestion never hold back scoring.
    group_id: str = "barunrun-archive"
    labels_group_id: str = "barunrun-labels"
    # A flush writes one Parquet file per (partition, date, user): larger flushes mean fewer,
    # bigger files; the interval bounds how much a crash makes the archiver re-read.
    flush_records: int = Field(20000, ge=1)
    flush_interval_s: float = Field(10.0, gt=0)
    retention_days: int = Field(365, ge=1)
    max_bytes: int = Field(100 * 2**30, ge=1)
    retention_interval_s: float = Field(600.0, gt=0)
    # Days older than this many days are merged into one file per (date, user).
    compact_after_days: int = Field(1, ge=1)
    # Break label ties between labellers, in this order of trust.
    trusted_labellers: tuple[str, ...] = ()
    # Shares of users in train / validation / test; the split is by user id (hashed).
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    split_salt: str = "barunrun"

    @model_validator(mode="after")
    def _split_is_shares(self) -> ArchiveSettings:
        if any(share < 0 for share in self.split) or abs(sum(self.split) - 1.0) > 1e-6:
            raise ValueError(f"split {self.split} must be three non-negative shares summing to 1")
        return self

    def labels_path(self) -> str:
        return self.labels_db or str(Path(self.dir) / "labels.sqlite")


class LifecycleSettings(_Section):
    """The model registry, ``barunrun retrain`` and the drift monitor (docs/model-lifecycle.md)."""

    # Versioned model directories live under this root; ``<registry>/current`` is the symlink
    # that a consumer serving from the registry has as its ``model.dir``.
    registry: str = "models/registry"
    # Scratch space for retrain runs (datasets, challengers); empty: ``<registry>/.work``.
    workdir: str = ""
    # A challenger is promoted only if, on the same held-out users, it is not worse than the
    # champion by more than these (absolute) margins on every metric both can be judged on.
    far_tolerance: float = Field(0.01, ge=0, le=1)
    detection_tolerance: float = Field(0.02, ge=0, le=1)
    auc_tolerance: float = Field(0.01, ge=0, le=1)
    # Fewer held-out normal windows than this and no decision is trusted: refused.
    min_eval_windows: int = Field(50, ge=1)
    eval_hop: int = Field(5, ge=1, le=300)
    # Warm start: a few epochs at a lower rate from the champion's weights, on the new normal
    # windows plus a replay sample of older normal data (against forgetting).
    finetune_epochs: int = Field(3, ge=1, le=200)
    finetune_learning_rate: float = Field(5e-4, gt=0, le=1)
    # --full: 0 keeps the champion's recipe (its epochs); otherwise this many epochs.
    full_epochs: int = Field(0, ge=0, le=500)
    # Replay windows per new training window (at most), and the pool kept in the registry.
    replay_ratio: float = Field(1.0, ge=0, le=10)
    replay_max_runs: int = Field(48, ge=0, le=10000)
    replay_frames_per_run: int = Field(300, ge=30, le=100000)
    # Drift: PSI of live scores against the calibration scores, over the last drift_window
    # scored windows (per consumer), reported once drift_min_windows are in it.
    drift_window: int = Field(3000, ge=10, le=1_000_000)
    drift_min_windows: int = Field(300, ge=10)
    drift_threshold: float = Field(0.25, gt=0)


class PersonalSettings(_Section):
    """Per-user running score statistics: ``personal_z`` in events and score records."""

    enabled: bool = True
    # personal_z is null until a runner has this many scored windows (hop 10: 3 a second).
    min_windows: int = Field(30, ge=2, le=100000)
    # EWMA half-life in windows (300 = 100 s of running at hop 10): a runner's baseline
    # follows slow changes (fatigue, a new shoe) but not a few seconds of bad form.
    half_life_windows: float = Field(300.0, ge=1)
    # The per-user key carrying the baseline from one session to the next expires after this.
    user_ttl_s: int = Field(30 * 86400, ge=60)


class Settings(_Section):
    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    redis: RedisSettings = RedisSettings()
    window: WindowSettings = WindowSettings()
    frames: FrameSettings = FrameSettings()
    model: ModelSettings = ModelSettings()
    detectors: DetectorSettings = DetectorSettings()
    alerts: AlertSettings = AlertSettings()
    metrics: MetricsSettings = MetricsSettings()
    serve: ServeSettings = ServeSettings()
    logging: LoggingSettings = LoggingSettings()
    archive: ArchiveSettings = ArchiveSettings()
    gateway: GatewaySettings = GatewaySettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    personal: PersonalSettings = PersonalSettings()

    def with_overrides(self, **sections: Mapping[str, Any]) -> Settings:
        """A copy with some fields replaced, validated again (used by demo, bench, tests)."""
        data = self.model_dump()
        for section, values in sections.items():
            data[section] = {**data[section], **values}
        return _validate(data, source="overrides")

    def redacted(self) -> dict[str, Any]:
        """The settings as plain data with secrets masked, for `--print-config` and logs."""
        return self.model_dump(mode="json")


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    overrides: dict[str, dict[str, str]] = {}
    for section_name, field in Settings.model_fields.items():
        section_model = field.annotation
        for field_name in section_model.model_fields:  # type: ignore[union-attr]
            env_name = f"{ENV_PREFIX}{section_name}_{field_name}".upper()
            if env_name in environ:
                overrides.setdefault(section_name, {})[field_name] = environ[env_name]
    return overrides


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def _validate(data: Mapping[str, Any], source: str) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration ({source}): {problems}") from None


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from the defaults file, an optional config file and the environment."""
    environ = os.environ if environ is None else environ
    data = _read_toml(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists() else {}
    sources = [str(DEFAULT_CONFIG)]
    chosen = config_path or environ.get(CONFIG_ENV)
    if chosen:
        data = _merge(data, _read_toml(Path(chosen)))
        sources.append(str(chosen))
    env = _env_overrides(environ)
    if env:
        data = _merge(data, env)
        sources.append("environment " + ", ".join(sorted(
            f"{ENV_PREFIX}{s}_{f}".upper() for s, fields in env.items() for f in fields
        )))
    return _validate(data, source=" + ".join(sources))
