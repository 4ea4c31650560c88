"""The promotion rule: not worse on any stated metric, beyond its tolerance."""

from __future__ import annotations

from consumer.lifecycle.promote import Tolerances, decide

TOL = Tolerances(false_alarm_rate=0.01, detection_rate=0.02, roc_auc=0.01, min_eval_windows=50)


def summary(far: float, det: float | None, auc: float | None, normal: int = 500) -> dict:
    return {"false_alarm_rate": far, "detection_rate": det, "roc_auc": auc,
            "windows_normal": normal, "windows_abnormal": 300 if det is not None else 0}


def test_equal_or_better_is_promoted_within_tolerance_too():
    champion = summary(0.03, 0.60, 0.90)
    assert decide(champion, summary(0.03, 0.60, 0.90), TOL).promote
    assert decide(champion, summary(0.01, 0.70, 0.95), TOL).promote
    assert decide(champion, summary(0.039, 0.581, 0.891), TOL).promote


def test_each_metric_alone_can_refuse():
    champion = summary(0.03, 0.60, 0.90)
    for challenger, metric in ((summary(0.05, 0.60, 0.90), "false_alarm_rate"),
                               (summary(0.03, 0.55, 0.90), "detection_rate"),
                               (summary(0.03, 0.60, 0.85), "roc_auc")):
        verdict = decide(champion, challenger, TOL)
        assert not verdict.promote
        assert [r.split(":")[0] for r in verdict.reasons] == [metric]
        assert verdict.judged[metric]["ok"] is False


def test_metrics_without_labelled_faults_are_skipped_but_never_lost():
    # No abnormal windows among held-out users: judged on false alarms alone.
    verdict = decide(summary(0.03, None, None), summary(0.02, None, None), TOL)
    assert verdict.promote and set(verdict.judged) == {"false_alarm_rate"}
    # The champion can be measured on detection, the challenger not: refused.
    assert not decide(summary(0.03, 0.6, 0.9), summary(0.02, float("nan"), 0.9), TOL).promote


def test_too_few_held_out_windows_refuses_outright():
    verdict = decide(summary(0.03, 0.6, 0.9), summary(0.0, 0.9, 0.99, normal=10), TOL)
    assert not verdict.promote and "min_eval_windows" in verdict.reasons[0]
