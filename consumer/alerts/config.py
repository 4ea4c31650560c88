"""The episode tracker's parameters, in window time (milliseconds of frame ``ts_ms``)."""

from __future__ import annotations

from dataclasses import dataclass

from consumer.errors import ConfigError
from consumer.settings import Settings

# The sweep needs this much of the window state's idle TTL left after an episode went idle,
# or the state (and the episode in it) could expire before a sweep resolves it.
MIN_SWEEPS_BEFORE_EXPIRY = 2


@dataclass(frozen=True, slots=True)
class EpisodeConfig:
    """k of the last n windows anomalous opens; m clean in a row resolves (docs/alerts.md)."""

    open_windows: int = 4  # k
    of_last: int = 6  # n
    resolve_after_clean: int = 12  # m
    update_interval_ms: int = 5_000
    cooldown_ms: int = 30_000
    idle_after_ms: int = 30_000

    def __post_init__(self) -> None:
        if not 1 <= self.open_windows <= self.of_last:
            raise ConfigError(
                f"alerts: open_windows ({self.open_windows}) must be 1..of_last ({self.of_last})"
            )
        if self.resolve_after_clean < 1:
            raise ConfigError("alerts: resolve_after_clean must be at least 1")
        if min(self.update_interval_ms, self.idle_after_ms) <= 0 or self.cooldown_ms < 0:
            raise ConfigError("alerts: intervals must be positive (cooldown may be 0)")

    @classmethod
    def from_settings(cls, settings: Settings) -> EpisodeConfig:
        a = settings.alerts
        return cls(
            open_windows=a.open_windows,
            of_last=a.of_last,
            resolve_after_clean=a.resolve_after_clean,
            update_interval_ms=round(a.update_interval_s * 1000),
            cooldown_ms=round(a.cooldown_s * 1000),
            idle_after_ms=round(a.idle_after_s * 1000),
        )


def check_alert_settings(settings: Settings) -> EpisodeConfig:
    """The episode config, after checking it against the window state's idle TTL."""
    config = EpisodeConfig.from_settings(settings)
    a, ttl_s = settings.alerts, settings.window.idle_ttl_s
    needed_s = a.idle_after_s + MIN_SWEEPS_BEFORE_EXPIRY * a.sweep_interval_s
    if needed_s >= ttl_s:
        raise ConfigError(
            f"alerts: idle_after_s ({a.idle_after_s:g}) + {MIN_SWEEPS_BEFORE_EXPIRY} x "
            f"sweep_interval_s ({a.sweep_interval_s:g}) must be under window.idle_ttl_s "
            f"({ttl_s}): an idle episode must be resolved before its state expires"
        )
    return config
