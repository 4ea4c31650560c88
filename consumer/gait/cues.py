"""Coaching cues: the rule table (``cues.toml``) and the ``rules`` detector that applies it.

The table is data: per cue (id = the simulator's fault name), its text in English and
Korean, a base severity, where its normal range comes from, and one or more conditions on
the metrics (any one raises the cue). A condition may have a ``release`` level short of its
threshold: a cue raised on a runner's previous window stays raised while the metric is
beyond that level (hysteresis, ``stateful.py``), so that a fault read near its threshold
does not blink on and off. ``RulesDetector.detect`` applies every rule to a batch of windows
at once (vectorised comparisons), so it can run beside the autoencoder on each poll batch; a
window flagged by it says so in ``detectors``.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from consumer.errors import ConfigError
from consumer.gait.specs import METRICS, MIN_CONFIDENCE

log = logging.getLogger(__name__)

SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe")
LANGUAGES: tuple[str, ...] = ("en", "ko")
DETECTOR = "rules"


@dataclass(frozen=True)
class Condition:
    metric: str
    threshold: float
    above: bool  # True: fires above the threshold; False: below it
    severe: float
    normal: tuple[float, float]
    min_confidence: float = MIN_CONFIDENCE
    views: frozenset[str] = frozenset()  # empty: every view where the metric is valid
    release: float | None = None  # a raised cue stays raised beyond this; None: threshold

    @property
    def release_level(self) -> float:
        return self.threshold if self.release is None else self.release

    def fires(
        self, values: np.ndarray, confidence: np.ndarray, views: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fired, beyond the release level, beyond the severe level) per window; NaN values
        never fire. ``views`` (N,) are the windows' view names."""
        with np.errstate(invalid="ignore"):
            trusted = confidence >= self.min_confidence
            if self.views:
                trusted &= np.isin(views, sorted(self.views))
            sign = 1.0 if self.above else -1.0
            signed = sign * values
            return (
                (signed > sign * self.threshold) & trusted,
                (signed > sign * self.release_level) & trusted,
                signed > sign * self.severe,
            )


@dataclass(frozen=True)
class CueRule:
    id: str
    severity: str
    text: Mapping[str, str]  # language -> text
    source: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class RaisedCue:
    id: str
    severity: str
    metric: str
    value: float
    threshold: float
    text: Mapping[str, str]
    release: float  # where it clears (the threshold for a condition without a release level)
    above: bool  # the condition fires above its threshold (False: below it)

    @property
    def beyond(self) -> float:
        """How far the value lies past the threshold, in the condition's direction: negative
        for a cue held between its release level and its threshold."""
        return (self.value - self.threshold) * (1.0 if self.above else -1.0)

    def to_json(self, language: str = "en") -> dict[str, Any]:
        """The contract's cue shape (``id``, ``text``, ``severity``) and the numbers behind it."""
        return {
            "id": self.id, "text": self.text[language], "severity": self.severity,
            "text_ko": self.text["ko"], "metric": self.metric,
            "value": round(self.value, METRICS[self.metric].decimals),
            "threshold": self.threshold,
            "release": self.release,
        }


def _condition(cue_id: str, raw: Mapping[str, Any]) -> Condition:
    metric = raw.get("metric")
    if metric not in METRICS:
        raise ConfigError(f"cue {cue_id}: unknown metric {metric!r}")
    if ("above" in raw) == ("below" in raw):
        raise ConfigError(f"cue {cue_id}: condition on {metric} needs exactly one of above/below")
    above = "above" in raw
    threshold = float(raw["above" if above else "below"])
    severe = float(raw.get("severe", threshold))
    if (severe < threshold) if above else (severe > threshold):
        raise ConfigError(f"cue {cue_id}: severe level of {metric} is on the wrong side")
    release = float(raw["release"]) if "release" in raw else None
    if release is not None and ((release > threshold) if above else (release < threshold)):
        raise ConfigError(f"cue {cue_id}: release level of {metric} must lie on the normal "
                          f"side of its threshold {threshold:g} (it is where a raised cue "
                          "clears)")
    normal = tuple(float(v) for v in raw.get("normal", (np.nan, np.nan)))
    if len(normal) != 2:
        raise ConfigError(f"cue {cue_id}: normal range of {metric} needs two numbers")
    views = frozenset(raw.get("views", ()))
    unknown = views - METRICS[metric].views
    if unknown:
        raise ConfigError(f"cue {cue_id}: {metric} is not valid in view(s) {sorted(unknown)}")
    return Condition(metric, threshold, above, severe, (normal[0], normal[1]),
                     float(raw.get("min_confidence", MIN_CONFIDENCE)), views, release)


def parse_table(data: Mapping[str, Any]) -> tuple[CueRule, ...]:
    rules = []
    for raw in data.get("cue", []):
        cue_id = str(raw.get("id", ""))
        severity = raw.get("severity", "moderate")
        if not cue_id or severity not in SEVERITIES:
            raise ConfigError(f"cue {cue_id or '(no id)'}: needs an id and a severity in "
                              f"{', '.join(SEVERITIES)}")
        missing = [lang for lang in LANGUAGES if not str(raw.get(lang, "")).strip()]
        if missing:
            raise ConfigError(f"cue {cue_id}: missing text in {', '.join(missing)}")
        conditions = tuple(_condition(cue_id, c) for c in raw.get("when", []))
        if not conditions:
            raise ConfigError(f"cue {cue_id}: no condition")
        rules.append(CueRule(cue_id, severity, {lang: raw[lang] for lang in LANGUAGES},
                             str(raw.get("source", "")), conditions))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ConfigError("cue table: duplicate cue ids")
    return tuple(rules)


def load_table(path: str | Path | None = None) -> tuple[CueRule, ...]:
    """The cue table from ``path``, or the one shipped beside this module."""
    try:
        if path is None:
            text = resources.files("consumer.gait").joinpath("cues.toml").read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return parse_table(tomllib.loads(text))
    except OSError as exc:
        raise ConfigError(f"cue table {path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cue table {path or 'cues.toml'}: not valid TOML ({exc})") from exc


@dataclass(frozen=True)
class CueFlags:
    """What the rules said about N windows."""

    rules: tuple[CueRule, ...]
    fired: np.ndarray  # (N, C) bool
    severe: np.ndarray  # (N, C) bool: beyond a condition's severe level
    # (N, C) int: index of the first condition that fired, else of the first beyond its
    # release level (what a held cue reports)
    trigger: np.ndarray
    values: Mapping[str, np.ndarray]
    # (N, C) bool: some condition beyond its release level (includes ``fired``)
    held: np.ndarray

    @property
    def flagged(self) -> np.ndarray:
        """(N,) any cue raised."""
        return self.fired.any(axis=1)

    def cues(self, i: int) -> list[RaisedCue]:
        """The cues raised on window ``i``, most severe first."""
        raised = []
        for c in np.flatnonzero(self.fired[i]):
            rule = self.rules[c]
            cond = rule.conditions[int(self.trigger[i, c])]
            level = SEVERITIES.index(rule.severity) + int(self.severe[i, c])
            raised.append(RaisedCue(
                id=rule.id, severity=SEVERITIES[min(level, len(SEVERITIES) - 1)],
                metric=cond.metric, value=float(self.values[cond.metric][i]),
                threshold=cond.threshold, text=rule.text, release=cond.release_level,
                above=cond.above,
            ))
        return sorted(raised, key=lambda cue: -SEVERITIES.index(cue.severity))

    def ids(self, i: int) -> list[str]:
        return [self.rules[c].id for c in np.flatnonzero(self.fired[i])]


class RulesDetector:
    """Raises cues from window metrics by the rule table; no state of its own (the rolling
    gait state it needs is put into the metrics by ``combined.combined_values``)."""

    name = DETECTOR

    def __init__(self, rules: Sequence[CueRule] | None = None) -> None:
        self.rules = tuple(load_table() if rules is None else rules)

    def detect(
        self, values: Mapping[str, np.ndarray], confidence: Mapping[str, np.ndarray],
        views: np.ndarray,
    ) -> CueFlags:
        """Cues of N windows from their metric values and confidences (N,) each, and their
        view names (N,)."""
        count = len(views)
        fired = np.zeros((count, len(self.rules)), dtype=bool)
        held = np.zeros_like(fired)
        severe = np.zeros_like(fired)
        trigger = np.zeros(fired.shape, dtype=np.int64)
        for c, rule in enumerate(self.rules):
            first_held = np.zeros(count, dtype=np.int64)
            for k, cond in reversed(list(enumerate(rule.conditions))):
                hit, holds, beyond = cond.fires(
                    values[cond.metric], confidence[cond.metric], views)
                trigger[:, c] = np.where(hit, k, trigger[:, c])
                first_held = np.where(holds, k, first_held)
                severe[:, c] |= holds & beyond
                fired[:, c] |= hit
                held[:, c] |= holds
            trigger[:, c] = np.where(fired[:, c], trigger[:, c], first_held)
        return CueFlags(self.rules, fired, severe, trigger, values, held)
