"""The capture client on a real phone video: sports2d's demo.mp4 (1768x994, 30 fps, 230 frames).

A woman walks right to left, side-on, in the foreground from about frame 46 (behind a tree at
the right) until she leaves at the left edge about frame 199; a man stands on a roof in the
background and jumps down about frame 190, landing inside the ROI after she has gone. The ROI
(0,470)-(1768,994) keeps the roof out; the tracker must keep to her and never take him.

Foot contacts counted by eye (issue 11), from fixed crops of the frames around each step:
the first frame on which the leading foot is down and stops moving forward. Eight contacts:
"""

from __future__ import annotations

import gait_measures as gm
import numpy as np
import pytest

from consumer.recording import load_recording

pytestmark = pytest.mark.integration

WIDTH, HEIGHT = 1768, 994
HER_FRAMES = (46, 199)  # first and last frame with her hips in the picture
BY_EYE_CONTACTS = (59, 78, 97, 115, 133, 151, 170, 186)  # the last at the picture's left edge
BY_EYE_CADENCE = 60 * 30 * (len(BY_EYE_CONTACTS) - 1) / (BY_EYE_CONTACTS[-1] - BY_EYE_CONTACTS[0])


@pytest.fixture(scope="module")
def walk(walk_capture):
    frames, landmarks = gm.read_csv(walk_capture.csv)
    return frames, gm.pixels(landmarks, WIDTH, HEIGHT)


def test_she_is_tracked_over_most_of_her_frames(walk, walk_capture):
    frames, px = walk
    ok = gm.tracked(px)
    assert len(frames) == 230 and np.array_equal(frames, np.arange(230))
    first, last = HER_FRAMES
    assert ok[first + 4:last - 4].mean() > 0.95
    assert frames[ok].min() <= 50 and frames[ok].max() >= 190
    assert walk_capture.summary["tracks"] == 1


def test_never_the_man_on_the_roof(walk):
    """One continuous walker: hips inside the ROI, moving left step by step, never a jump to
    where the man is (on the roof above the ROI, then landing at x ~1100-1400 after 190)."""
    frames, px = walk
    ok = gm.tracked(px)
    hips = px[ok][:, [23, 24], :2].mean(axis=1)
    assert (hips[:, 1] > 470).all()
    step = np.diff(hips[:, 0])
    assert np.all(np.abs(step) < 40), "the tracked hips jumped: another person?"
    assert hips[-1, 0] < hips[0, 0] - 1200  # right to left across the picture
    assert not ok[frames > 200].any()  # after she leaves, the man (in the ROI) is not taken
    body = np.nanmax(px[ok][:, :, 1], axis=1) - np.nanmin(px[ok][:, :, 1], axis=1)
    assert np.percentile(body, 95) / np.percentile(body, 5) < 1.4  # one body size throughout


def test_thighs_and_shanks_keep_their_length(walk):
    frames, px = walk
    first, last = HER_FRAMES
    inside = gm.tracked(px) & (frames >= first) & (frames <= last)
    for name, lengths in gm.leg_lengths(px).items():
        share = gm.share_within(lengths[inside], tolerance=0.15)
        assert share >= 0.90, f"{name}: {share:.0%} of frames within 15 % of the median"


def test_foot_contacts_match_the_count_by_eye_and_give_a_walking_cadence(walk):
    frames, px = walk
    contacts = frames[gm.foot_contacts(px)]
    assert len(contacts) == len(BY_EYE_CONTACTS), contacts
    # The heels are farthest apart once the leading foot is flat: 0-4 frames after the eye
    # sees it land.
    lag = contacts - np.array(BY_EYE_CONTACTS)
    assert np.all((lag >= -2) & (lag <= 5)), lag
    cadence = gm.cadence_spm(contacts)
    assert cadence == pytest.approx(BY_EYE_CADENCE, rel=0.06)
    assert 85 < cadence < 125  # walking, not running (160-185)


def test_the_csv_reloads_through_the_recording_loader(walk_capture, walk):
    _, px = walk
    recording = load_recording(walk_capture.csv)
    tracked = int(gm.tracked(px).sum())
    assert len(recording) == tracked == walk_capture.summary["with_pose"]
    assert recording.dropped_rows == 230 - tracked
    assert recording.landmarks.shape == (tracked, 132)
    assert np.isfinite(recording.landmarks).all()
