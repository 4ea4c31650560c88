"""The simulator's tracker noise stays close to what MediaPipe does on the real video.

The same measures (gait_measures) on the real capture and on simulated side views with the
nominal tracker; bands are wide where one 5-second walking clip can only bound a figure.
docs/realism.md shows the full table (``python tests/integration/capture/realism.py CSV``).
"""

from __future__ import annotations

import numpy as np
import pytest
import realism

pytestmark = pytest.mark.integration

# Parts whose jitter is not swamped by the running motion left in the residual (the feet's
# floor on the simulated runners is as large as the real figure).
UPPER_AND_KNEES = ("face", "shoulder", "elbow", "wrist", "hand", "hip", "knee")


@pytest.fixture(scope="module")
def measured(walk_capture):
    _, real = realism.real_walk(walk_capture.csv)
    sim, floor = realism.compare(realism.simulated_side_views())
    return real, sim, floor


def test_visibility_by_part_and_side_matches_within_a_tenth(measured):
    real, sim, _ = measured
    for key, (_, real_median, _) in real.visibility.items():
        assert sim.visibility[key][1] == pytest.approx(real_median, abs=0.12), key


def test_far_limbs_are_less_visible_than_near_ones_in_both(measured):
    real, sim, _ = measured
    for part in ("elbow", "wrist", "knee"):
        for m in (real, sim):
            assert m.visibility[f"{part}_far"][1] < m.visibility[f"{part}_near"][1] - 0.08


def test_x_jitter_of_each_part_is_within_a_factor_of_1_6(measured):
    real, sim, _ = measured
    for part in UPPER_AND_KNEES:
        for side in ("near", "far"):
            key = f"{part}_{side}"
            ratio = sim.jitter[key]["x"] / real.jitter[key]["x"]
            assert 1 / 1.6 < ratio < 1.6, (key, ratio)


def test_leg_swaps_per_minute_within_the_real_clips_poisson_interval(measured):
    real, sim, _ = measured
    count = len(real.swaps)
    assert count >= 1  # the clip does show swaps
    # Exact 95 % interval of a Poisson count of 1-5, in events; scaled to per minute.
    low = {1: 0.025, 2: 0.24, 3: 0.62, 4: 1.09, 5: 1.62}[min(count, 5)] / real.minutes
    high = {1: 5.57, 2: 7.22, 3: 8.77, 4: 10.24, 5: 11.67}[min(count, 5)] / real.minutes
    assert low < sim.swaps_per_min < high
    assert np.median(sim.swaps) <= 3  # short, as the real ones (1-2 frames)
