"""Error scoring: scales per channel and view, and the runner-relative deviation scales."""

from __future__ import annotations

import numpy as np
import pytest

from consumer.model.scoring import MIN_VIEW_WINDOWS, ErrorScoring, deviation_scales


def test_deviation_scales_are_the_mean_per_view_floored() -> None:
    views = np.repeat(np.array([0, 1], dtype=np.int8), MIN_VIEW_WINDOWS)
    deviations = np.zeros((len(views), 3))
    deviations[views == 0, 0] = 2.0
    deviations[views == 1, 0] = 4.0
    deviations[::2, 1] = 1.0  # half the windows at 0 (warm-up): the mean halves
    scale = deviation_scales(deviations, views, view_count=3)
    assert scale.shape == (3, 3)
    assert scale[0, 0] == pytest.approx(2.0) and scale[1, 0] == pytest.approx(4.0)
    assert scale[2, 0] == pytest.approx(3.0)  # a view not seen borrows the pooled mean
    assert scale[0, 1] == pytest.approx(0.5)
    assert (scale[:, 2] > 0).all()  # a channel always at 0 is floored, never divided by 0


def test_deviation_scales_replace_only_the_last_channels() -> None:
    errors = np.abs(np.random.default_rng(0).normal(size=(200, 5)))
    scoring = ErrorScoring.fit(errors, np.zeros(200, dtype=np.int8), 1)
    merged = scoring.with_deviation_scales(np.array([[7.0, 9.0]], dtype=np.float32))
    assert np.array_equal(merged.scale[:, :3], scoring.scale[:, :3])
    assert merged.scale[0, 3:].tolist() == [7.0, 9.0]
    assert merged.top_k == scoring.top_k and merged.quantile == scoring.quantile
    with pytest.raises(ValueError, match="deviation scales"):
        scoring.with_deviation_scales(np.ones((2, 2), dtype=np.float32))
    mean = ErrorScoring()
    assert mean.with_deviation_scales(np.ones((1, 1))) is mean
