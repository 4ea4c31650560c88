"""ROI parsing, crop-to-image mapping and masking."""

from __future__ import annotations

import numpy as np
import pytest
from barunrun_capture.errors import BadArgument
from barunrun_capture.geometry import (
    Box,
    crop_to_image,
    full_image,
    mask_outside,
    parse_roi,
    pose_box,
    to_pixels,
)


def test_roi_is_parsed_and_clipped_to_the_picture():
    assert parse_roi("0,470,1768,994", 1768, 994) == Box(0, 470, 1768, 994)
    assert parse_roi("-50,400,2000,1200", 1768, 994) == Box(0, 400, 1768, 994)


@pytest.mark.parametrize("text, message", [
    ("0,470,1768", "four numbers"),
    ("a,b,c,d", "four numbers"),
    ("100,100,50,200", "X1 must exceed X0"),
    ("2000,0,2100,994", "at least 32x32"),
])
def test_bad_rois_are_one_line_errors(text, message):
    with pytest.raises(BadArgument, match=message):
        parse_roi(text, 1768, 994)


def test_crop_landmarks_map_back_to_full_image_coordinates():
    crop = Box(100.0, 470.0, 1100.0, 994.0)  # 1000 x 524 px of a 1768 x 994 picture
    in_crop = np.array([[0.0, 0.0, 0.1, 0.9], [1.0, 1.0, -0.2, 0.5], [0.5, 0.5, 0.0, 1.0]])
    out = crop_to_image(in_crop, crop, 1768, 994)
    np.testing.assert_allclose(out[0, :2], [100 / 1768, 470 / 994])
    np.testing.assert_allclose(out[1, :2], [1100 / 1768, 994 / 994])
    np.testing.assert_allclose(out[2, :2], [600 / 1768, 732 / 994])
    # z is on x's scale: it shrinks with the crop's share of the picture's width.
    np.testing.assert_allclose(out[:, 2], in_crop[:, 2] * 1000 / 1768)
    np.testing.assert_array_equal(out[:, 3], in_crop[:, 3])
    np.testing.assert_allclose(to_pixels(out, 1768, 994)[2], [600, 732])


def test_the_whole_picture_as_crop_is_the_identity():
    points = np.random.default_rng(1).uniform(0, 1, size=(33, 4))
    np.testing.assert_allclose(crop_to_image(points, full_image(640, 480), 640, 480), points)


def test_mask_keeps_only_the_region_and_never_changes_the_input():
    image = np.full((100, 200, 3), 7, dtype=np.uint8)
    masked = mask_outside(image, Box(50.5, 10, 120, 300))
    assert masked.shape == image.shape
    assert (masked[10:100, 50:120] == 7).all()
    assert masked[:10].max() == 0 and masked[:, :50].max() == 0 and masked[:, 120:].max() == 0
    assert (image == 7).all()
    assert mask_outside(image, Box(300, 300, 400, 400)).max() == 0


def test_pose_box_and_box_arithmetic():
    points = np.array([[10.0, 20.0], [30.0, 60.0], [20.0, 40.0]])
    box = pose_box(points)
    assert box == Box(10, 20, 30, 60)
    assert box.centre == (20, 40)
    assert box.expand(5, 10) == Box(5, 10, 35, 70)
    assert box.shift(-10, -20) == Box(0, 0, 20, 40)
    assert box.intersect(Box(25, 0, 100, 30)) == Box(25, 20, 30, 30)
    assert Box(5, 5, 5, 10).is_empty
    assert box.contains(10, 20) and not box.contains(30, 60)
