"""The cue table and the rules detector: complete, valid, and right on the fault catalogue."""

from __future__ import annotations

import numpy as np
import pytest

from consumer.errors import ConfigError
from consumer.gait.cues import LANGUAGES, CueFlags, RulesDetector, load_table, parse_table
from consumer.gait.evaluate.sessions import simulate, windowed
from consumer.gait.specs import METRICS
from consumer.gait.stateful import assess, shown_cues
from consumer.gait.view import VIEWS
from producer_sim.faults import FAULT_NAMES, FAULTS, RAMP_FRAMES

SEED = 202  # held out of tuning
# Fault/view pairs with the least margin over the 90 % target (docs/metrics.md): some
# runners' faults barely rise against their own level there, and two runners are few.
HARD = {("heel_striking", "side")}


def test_every_fault_has_a_cue_with_english_and_korean_text() -> None:
    rules = {rule.id: rule for rule in load_table()}
    assert set(rules) == set(FAULT_NAMES)
    for rule in rules.values():
        for language in LANGUAGES:
            assert rule.text[language].strip(), (rule.id, language)
        assert any("\uac00" <= ch <= "\ud7a3" for ch in rule.text["ko"]), rule.id  # Hangul
        assert rule.source
        for cond in rule.conditions:
            assert cond.metric in METRICS
            # A cue can only fire where both its metric and its fault can be seen.
            assert METRICS[cond.metric].views & FAULTS[rule.id].visible_views, rule.id
            low, high = cond.normal
            assert low < high
            assert (cond.threshold > high) if cond.above else (cond.threshold < low), rule.id


@pytest.mark.parametrize("broken", [
    {"cue": [{"id": "x", "severity": "moderate", "en": "a", "ko": "가",
              "when": [{"metric": "no_such_metric", "above": 1}]}]},
    {"cue": [{"id": "x", "severity": "moderate", "en": "a", "ko": "가",
              "when": [{"metric": "trunk_lean_deg", "above": 1, "below": 0}]}]},
    {"cue": [{"id": "x", "severity": "moderate", "en": "a", "ko": "",
              "when": [{"metric": "trunk_lean_deg", "above": 1}]}]},
    {"cue": [{"id": "x", "severity": "loud", "en": "a", "ko": "가",
              "when": [{"metric": "trunk_lean_deg", "above": 1}]}]},
    {"cue": [{"id": "x", "severity": "mild", "en": "a", "ko": "가",
              "when": [{"metric": "knee_valgus_rel", "above": 1, "views": ["side"]}]}]},
    {"cue": [{"id": "x", "severity": "mild", "en": "a", "ko": "가",  # release past threshold
              "when": [{"metric": "trunk_lean_deg", "above": 13, "release": 15}]}]},
    {"cue": [{"id": "x", "severity": "mild", "en": "a", "ko": "가",
              "when": [{"metric": "cadence_spm", "below": 150, "release": 140}]}]},
])
def test_a_broken_table_is_refused_with_the_reason(broken: dict) -> None:
    with pytest.raises(ConfigError, match="cue x"):
        parse_table(broken)


def test_severity_rises_beyond_the_severe_level() -> None:
    detector = RulesDetector()
    lean = np.array([5.0, 15.0, 25.0])
    values = {name: np.full(3, np.nan) for name in METRICS}
    values["trunk_lean_deg"] = lean
    confidence = {name: np.ones(3) for name in METRICS}
    flags = detector.detect(values, confidence, np.array(["side"] * 3))
    assert flags.ids(0) == []
    assert [(q.id, q.severity) for q in flags.cues(1)] == [("trunk_lean", "moderate")]
    assert [(q.id, q.severity) for q in flags.cues(2)] == [("trunk_lean", "severe")]
    # Not trusted, not raised.
    confidence["trunk_lean_deg"] = np.zeros(3)
    assert not detector.detect(values, confidence, np.array(["side"] * 3)).flagged.any()


@pytest.mark.parametrize(("fault", "view"), [
    (f, v) for f in FAULT_NAMES for v in VIEWS if v in FAULTS[f].visible_views])
def test_each_fault_raises_its_cue_in_the_views_that_show_it(fault: str, view: str) -> None:
    detector = RulesDetector()
    column = [rule.id for rule in detector.rules].index(fault)
    raised = []
    for runner in range(2):
        ws = windowed(simulate(SEED, view, runner, fault, frames=330, onset=150))
        flags = assess(ws.metrics, ws.frames, [(None, len(ws.frames))], detector).flags
        faulty = ws.labels == fault
        assert faulty.sum() >= 10
        raised.append(flags.fired[faulty, column])
    rate = np.concatenate(raised).mean()
    assert rate >= (0.3 if (fault, view) in HARD else 0.75), rate


def test_normal_runners_rarely_raise_any_cue(normal_runs) -> None:
    flagged = []
    for runs in normal_runs.values():
        for ws in runs:
            done = assess(ws.metrics, ws.frames, [(None, len(ws.frames))], RulesDetector())
            flagged.append(done.flags.flagged)
    assert np.concatenate(flagged).mean() <= 0.1


def test_a_cue_needs_its_condition_on_two_windows_in_a_row(normal_runs) -> None:
    ws = normal_runs["side"][0]
    values = {name: np.full(len(ws.frames), np.nan) for name in METRICS}
    confidence = {name: np.ones(len(ws.frames)) for name in METRICS}
    detector = RulesDetector()
    raw = detector.detect(values, confidence, np.asarray(VIEWS)[ws.metrics.view])
    assert not raw.flagged.any()
    done = assess(ws.metrics, ws.frames, [(None, len(ws.frames))], detector)
    raw = detector.detect(done.values, done.confidence, np.asarray(VIEWS)[ws.metrics.view])
    confirmed = done.flags.fired
    assert (confirmed <= raw.held).all()
    assert not confirmed[0].any()  # nothing before the first window
    # Where no condition has a release level, shown means fired on this window and the last.
    plain = np.array([all(c.release is None for c in rule.conditions) for rule in detector.rules])
    assert plain.sum() >= 8
    assert (confirmed[1:, plain] == (raw.fired[1:] & raw.fired[:-1])[:, plain]).all()


def test_a_raised_cue_is_held_down_to_its_release_level() -> None:
    # One cue: above 13 raises, 10 releases.
    # Shown: fired on the last window (or shown there) and beyond the release level now.
    lean = np.array([14.0, 11.0, 14.0, 14.0, 11.0, 11.0, 9.0, 11.0, 14.0])
    fired, held = (lean > 13)[:, None], (lean > 10)[:, None]
    shown, bits = shown_cues(fired, held, carried=0)
    assert shown[:, 0].tolist() == [False, True, True, True, True, True, False, False, False]
    assert bits[-1] == 1  # fired on the last window: carried to the next batch
    # Split across two batches, carrying the bits, the runner sees the same.
    first, bits_first = shown_cues(fired[:4], held[:4], carried=0)
    second, _ = shown_cues(fired[4:], held[4:], carried=bits_first[-1])
    assert np.array_equal(np.concatenate([first, second]), shown)


def test_a_held_cue_reports_the_condition_beyond_its_release_level() -> None:
    rules = parse_table({"cue": [{
        "id": "trunk_lean", "severity": "moderate", "en": "Run tall.", "ko": "바르게 달리세요.",
        "when": [{"metric": "trunk_lean_deg", "above": 13.0},
                 {"metric": "trunk_lean_change_deg", "above": 5.0, "release": 2.5}]}]})
    detector = RulesDetector(rules)
    values = {name: np.full(3, np.nan) for name in METRICS}
    values["trunk_lean_deg"] = np.array([9.0, 9.0, 14.0])
    values["trunk_lean_change_deg"] = np.array([6.0, 3.0, 1.0])
    confidence = {name: np.ones(3) for name in METRICS}
    flags = detector.detect(values, confidence, np.array(["side"] * 3))
    assert flags.fired[:, 0].tolist() == [True, False, True]
    assert flags.held[:, 0].tolist() == [True, True, True]
    assert flags.trigger[:, 0].tolist() == [1, 1, 0]
    shown, _ = shown_cues(flags.fired, flags.held, carried=1)
    held_flags = CueFlags(flags.rules, shown, flags.severe & shown, flags.trigger,
                          flags.values, flags.held)
    cue = held_flags.cues(1)[0].to_json()
    assert (cue["metric"], cue["value"], cue["threshold"], cue["release"]) == (
        "trunk_lean_change_deg", 3.0, 5.0, 2.5)
    assert held_flags.cues(2)[0].to_json()["release"] == 13.0  # no release: its threshold
    # Reports rank cues by how far past their threshold they are: a held one is short of it.
    assert held_flags.cues(1)[0].beyond == -2.0
    assert held_flags.cues(2)[0].beyond == 1.0


def test_a_fault_setting_in_reads_as_a_change_and_one_from_the_first_step_as_usual() -> None:
    detector = RulesDetector()
    column = [rule.id for rule in detector.rules].index("trunk_lean")
    for onset, changed in ((150, True), (-RAMP_FRAMES, False)):  # from the first frame
        ws = windowed(simulate(SEED, "side", 0, "trunk_lean", frames=330, onset=onset))
        done = assess(ws.metrics, ws.frames, [(None, len(ws.frames))], detector)
        faulty = ws.labels == "trunk_lean"
        change = done.values["trunk_lean_change_deg"][faulty]
        if changed:
            assert np.nanmin(change) > 5.0
        else:
            assert np.nanmax(np.abs(change)) < 3.0  # learned as the runner's usual lean
        assert done.flags.fired[faulty, column].mean() > 0.9  # the absolute lean sees both
