"""The promotion rule (pure): is the challenger not worse than the champion?

Both models are evaluated on the same held-out users' windows (consumer/training/evaluate.py).
The stated metrics, each with an absolute tolerance from ``[lifecycle]``:

* ``false_alarm_rate`` (normal windows over the model's own threshold), lower is better:
  challenger <= champion + far_tolerance;
* ``detection_rate`` (abnormal windows over the threshold), higher is better:
  challenger >= champion - detection_tolerance;
* ``roc_auc`` (normal vs abnormal windows, threshold-free), higher is better:
  challenger >= champion - auc_tolerance.

A metric is judged only where both models have a value (detection and AUC need labelled
abnormal windows among the held-out users); a challenger without a value where the champion
has one is refused. Too few held-out normal windows (``min_eval_windows``) refuses outright:
a decision on a handful of windows is noise. A challenger that cannot be judged on any metric
is refused too. There is no "better by a margin" requirement: equal is good enough, since
the challenger has seen newer data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# (metric, direction): +1 higher is better, -1 lower is better.
METRICS: tuple[tuple[str, int], ...] = (
    ("false_alarm_rate", -1),
    ("detection_rate", +1),
    ("roc_auc", +1),
)


@dataclass(frozen=True)
class Tolerances:
    false_alarm_rate: float = 0.01
    detection_rate: float = 0.02
    roc_auc: float = 0.01
    min_eval_windows: int = 50

    def as_dict(self) -> dict[str, float]:
        return {"false_alarm_rate": self.false_alarm_rate,
                "detection_rate": self.detection_rate, "roc_auc": self.roc_auc,
                "min_eval_windows": self.min_eval_windows}


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reasons: list[str] = field(default_factory=list)
    judged: dict[str, dict[str, Any]] = field(default_factory=dict)


def _value(summary: dict[str, Any], name: str) -> float | None:
    value = summary.get(name)
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def decide(champion: dict[str, Any], challenger: dict[str, Any], tol: Tolerances) -> Verdict:
    """Judge two ``evaluate_scorer`` summaries of the same windows (module docstring)."""
    reasons: list[str] = []
    judged: dict[str, dict[str, Any]] = {}
    windows = int(challenger.get("windows_normal") or 0)
    if windows < tol.min_eval_windows:
        return Verdict(False, [f"only {windows} held-out normal windows "
                               f"(min_eval_windows {tol.min_eval_windows})"], judged)
    for name, direction in METRICS:
        ours, theirs = _value(challenger, name), _value(champion, name)
        allowed = float(getattr(tol, name))
        if theirs is None and ours is None:
            continue
        if ours is None:
            reasons.append(f"{name}: champion {theirs:.4f}, challenger cannot be measured")
            judged[name] = {"champion": theirs, "challenger": None, "ok": False}
            continue
        if theirs is None:
            judged[name] = {"champion": None, "challenger": ours, "ok": True}
            continue
        ok = (ours >= theirs - allowed) if direction > 0 else (ours <= theirs + allowed)
        judged[name] = {"champion": theirs, "challenger": ours, "tolerance": allowed, "ok": ok}
        if not ok:
            worse = "lower" if direction > 0 else "higher"
            reasons.append(f"{name}: challenger {ours:.4f} is {worse} than champion "
                           f"{theirs:.4f} by more than {allowed:g}")
    if not judged:
        reasons.append("no metric could be measured on the held-out users")
    compared = [v for v in judged.values() if v.get("champion") is not None]
    if judged and not compared:
        reasons.append("the champion could not be measured on any metric")
    return Verdict(not reasons, reasons, judged)
