"""The consumer serving the classifier, alone and beside the autoencoder, on the real broker,
Redis and trained models: events say which model flagged them, with the classifier's
probability and, from its fault head, the fault."""

from __future__ import annotations

import pytest

from producer_sim.publish import stream_runners
from tests.integration.classifier.conftest import FAULTS

pytestmark = pytest.mark.integration

FULLY_FAULTY_AFTER = 45  # frames after the onset: the fault has ramped in


def test_both_models_flag_and_events_say_which(
    settings_factory, consumers, reader, all_windows_scored, classifier, capsys
) -> None:
    settings = settings_factory(partitions=3, detectors={"enabled": ["autoencoder", "classifier"]})
    running = consumers(settings, classifier=classifier)
    summary = stream_runners(settings, runners=8, duration_s=15, fault_rate=0.5,
                             realtime=False, seed=11, faults=FAULTS, user_prefix="both")
    truth = {r.user_id: r for r in summary.runners}
    audit = all_windows_scored(settings, summary.frames_sent, timeout_s=120)
    events = reader(settings, settings.topics.anomalies).values()
    assert not running.errors
    served = running.service.reloader.current
    # Score records (the archive's copy of every window) keep the classifier's view too.
    valid = [r for r in audit.scores.values() if r["valid"]]
    assert valid and all(0.0 <= r["classifier_probability"] <= 1.0 and
                         r["classifier_version"] == classifier.version for r in valid)
    assert served.versions == {"autoencoder": served.autoencoder.version,
                               "classifier": classifier.version}

    by_model = {name: [e for e in events if name in e["detectors"]]
                for name in ("autoencoder", "classifier")}
    flagged_both = [e for e in events if {"autoencoder", "classifier"} <= set(e["detectors"])]
    with capsys.disabled():
        print(f"\n[classifier serve] events={len(events)} autoencoder="
              f"{len(by_model['autoencoder'])} classifier={len(by_model['classifier'])} "
              f"both={len(flagged_both)}")
    assert by_model["classifier"], "the classifier flagged nothing"
    assert flagged_both, "no window flagged by both models"
    for event in events:
        assert event["detectors"] and set(event["detectors"]) <= {
            "autoencoder", "classifier", "rules"}
        # The contract's score and version stay the autoencoder's.
        assert event["model_version"] == served.autoencoder.version
        assert event["classifier_version"] == classifier.version
        assert 0.0 <= event["classifier_probability"] <= 1.0
        flagged_by_classifier = "classifier" in event["detectors"]
        assert flagged_by_classifier == (
            event["classifier_probability"] > event["classifier_threshold"])
        assert ("fault" in event) == flagged_by_classifier
        if flagged_by_classifier:
            assert event["fault"] in FAULTS
    # The classifier's flags fall on faulty runners once their fault has set in.
    true_flags = [e for e in by_model["classifier"] if truth[e["user_id"]].fault and
                  e["window_start_frame"] >= truth[e["user_id"]].onset_frame + FULLY_FAULTY_AFTER]
    assert len(true_flags) >= 0.5 * len(by_model["classifier"])
    named = [e for e in true_flags if e["fault"] == truth[e["user_id"]].fault]
    assert named, "the fault head never named the runner's fault"
    assert running.value("barunrun_model_info", {"version": classifier.version}) == 1


def test_the_classifier_alone_scores_every_window(
    settings_factory, consumers, reader, all_windows_scored, classifier
) -> None:
    settings = settings_factory(partitions=2, detectors={"enabled": ["classifier"]})
    running = consumers(settings, classifier=classifier)
    summary = stream_runners(settings, runners=4, duration_s=8, fault_rate=0.5,
                             realtime=False, seed=3, faults=FAULTS, user_prefix="alone")
    audit = all_windows_scored(settings, summary.frames_sent, timeout_s=120)
    events = reader(settings, settings.topics.anomalies).values()
    assert not running.errors
    assert running.service.reloader.current.autoencoder is None  # not even loaded
    records = [s for s in audit.scores.values() if s["valid"]]
    assert records and all(r["model_version"] == classifier.version for r in records)
    assert all(r["threshold"] == classifier.threshold and 0 <= r["score"] <= 1 for r in records)
    assert all(r["anomaly"] == (r["score"] > r["threshold"]) for r in records)
    for event in events:
        assert event["detectors"] == ["classifier"]
        assert event["score"] == pytest.approx(event["classifier_probability"], abs=1e-4)
