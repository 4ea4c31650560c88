"""The person tracker: where it looks, and when a pose is still the same person.

Scenario (pixels, 30 fps, ROI = the bottom half of a 1000 x 1000 picture)::

    frame  0   person A found at x 700 -> track 1 starts
    frame  1   A moved 10 px           -> tracked; region follows
    frame  2   nobody found            -> lost; region grows from A's last box
    frame  3   B found at x 100        -> outside the region: not A, rejected
    frame  4   A found again near 690  -> tracked (same track, no new session)
"""

from __future__ import annotations

import numpy as np
from barunrun_capture.geometry import Box
from barunrun_capture.tracking import PersonTracker, TrackingRules, Verdict

ROI = Box(0, 500, 1000, 1000)


def person(x: float, y: float = 750, height: float = 200) -> np.ndarray:
    """33 landmark pixels of an upright body centred at (x, y)."""
    rng = np.random.default_rng(int(x))
    points = np.column_stack([
        x + rng.uniform(-0.2, 0.2, 33) * height, y + rng.uniform(-0.5, 0.5, 33) * height])
    points[[11, 12, 23, 24]] = [[x, y - 50], [x, y - 50], [x, y + 10], [x, y + 10]]
    return points


def test_no_track_searches_the_whole_roi():
    tracker = PersonTracker(ROI, 30.0)
    assert tracker.search_region() == ROI
    assert not tracker.tracking and tracker.tracks == 0


def test_scenario_follows_one_person_and_ignores_another():
    tracker = PersonTracker(ROI, 30.0)
    first = tracker.update(person(700))
    assert first.verdict is Verdict.STARTED and first.track == 1 and first.accepted
    region = tracker.search_region()
    assert region.contains(700, 750) and not region.contains(100, 750)
    assert region.x0 >= ROI.x0 and region.y0 >= ROI.y0  # never beyond the ROI

    assert tracker.update(person(710)).verdict is Verdict.TRACKED
    lost = tracker.update(None)
    assert lost.verdict is Verdict.NO_POSE and not lost.accepted and lost.track == 1
    grown = tracker.search_region()
    assert grown.width > region.width  # the region grows while the person is lost

    other = tracker.update(person(100))
    assert other.verdict is Verdict.OUTSIDE_REGION and not other.accepted
    back = tracker.update(person(690))
    assert back.verdict is Verdict.TRACKED and back.track == 1
    assert tracker.tracks == 1


def test_a_pose_of_a_different_size_is_someone_else():
    tracker = PersonTracker(ROI, 30.0)
    tracker.update(person(500, height=200))
    assert tracker.update(person(510, height=60)).verdict is Verdict.SIZE_CHANGED


def test_the_region_growth_is_capped():
    tracker = PersonTracker(ROI, 30.0, TrackingRules(max_margin=1.0))
    tracker.update(person(500))
    for _ in range(300):
        tracker.update(None)
    box = tracker.search_region()
    assert box.width < ROI.width  # a 10 s loss still does not open the whole ROI
    assert not box.contains(100, 750)


def test_reacquire_after_starts_a_new_track_anywhere_in_the_roi():
    tracker = PersonTracker(ROI, 30.0, TrackingRules(reacquire_after_s=0.5))
    tracker.update(person(700))
    for _ in range(16):  # just over 0.5 s at 30 fps
        tracker.update(None)
    assert tracker.search_region() == ROI
    decision = tracker.update(person(100))
    assert decision.verdict is Verdict.STARTED and decision.track == 2
