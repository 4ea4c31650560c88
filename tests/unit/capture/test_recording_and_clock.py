"""The client's recording CSV loads through the server's loader; timestamps and pacing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from barunrun_capture.sinks import CapturedFrame, CsvSink, recording_header
from barunrun_capture.video import FrameClock, VideoFrame, VideoInfo

from consumer.recording import landmark_columns, load_recording


def test_csv_reloads_through_the_server_loader_with_nan_rows_dropped(tmp_path: Path):
    path = tmp_path / "walk.csv"
    sink = CsvSink(path)
    rng = np.random.default_rng(3)
    poses = {i: rng.uniform(0, 1, size=(33, 4)) for i in (0, 1, 3)}
    for i in range(5):
        sink.send(CapturedFrame(i, 1000 + 33 * i, poses.get(i), 1 if i in poses else 0))
    sink.close()
    assert recording_header().split(",") == ["frame", *landmark_columns()]
    recording = load_recording(path)
    np.testing.assert_array_equal(recording.frames, [0, 1, 3])
    assert recording.dropped_rows == 2
    np.testing.assert_allclose(recording.landmarks[2].reshape(33, 4), poses[3], atol=1e-6)


def _info(live: bool = False) -> VideoInfo:
    return VideoInfo("demo.mp4", 1768, 994, 30.0, None if live else 300, live)


def _frame(index: int) -> VideoFrame:
    return VideoFrame(index, 1000.0 * index / 30.0, np.zeros((1, 1, 3), np.uint8))


class FakeTime:
    def __init__(self, now_ms: int) -> None:
        self.now = now_ms
        self.slept: list[float] = []

    def now_ms(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += round(seconds * 1000)


def test_fast_replay_ends_its_timeline_now_so_no_stamp_is_in_the_future():
    fake = FakeTime(1_000_000)
    clock = FrameClock(_info(), realtime=False, now_ms=fake.now_ms, sleep=fake.sleep)
    stamps = [clock.stamp(_frame(i)) for i in (0, 1, 299)]
    assert stamps[0] == 1_000_000 - 10_000
    assert stamps[1] - stamps[0] == 33
    assert stamps[2] <= fake.now
    clock.wait_for(_frame(299))
    assert fake.slept == []


def test_realtime_paces_frames_at_the_video_rate():
    fake = FakeTime(5_000)
    clock = FrameClock(_info(), realtime=True, now_ms=fake.now_ms, sleep=fake.sleep)
    for i in range(4):
        clock.wait_for(_frame(i))
        assert clock.stamp(_frame(i)) == 5_000 + round(1000 * i / 30)
    assert sum(fake.slept) > 0.09 and fake.now >= 5_100


def test_a_camera_is_stamped_when_read():
    fake = FakeTime(42)
    clock = FrameClock(_info(live=True), realtime=True, now_ms=fake.now_ms, sleep=fake.sleep)
    fake.now = 7_777
    assert clock.stamp(_frame(10)) == 7_777
