"""The client's command line: one-line errors and exit codes, in its own venv."""

from __future__ import annotations

import pytest
from client_process import error_lines, run_capture

pytestmark = pytest.mark.integration


def test_an_unreadable_video_is_one_line_and_exit_3(capture_exe, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video" * 100)
    done = run_capture(capture_exe, str(broken), "--out", str(tmp_path / "x.csv"), timeout=120)
    assert done.returncode == 3
    assert error_lines(done.stderr) == [
        f"barunrun-capture: error: {broken}: cannot open the video "
        "(not a format OpenCV can decode?)"]
    missing = run_capture(capture_exe, str(tmp_path / "nope.mp4"), "--out", "x.csv")
    assert missing.returncode == 3
    assert error_lines(missing.stderr) == [
        f"barunrun-capture: error: {tmp_path / 'nope.mp4'}: no such video file"]


def test_a_missing_model_is_one_line_and_exit_4_without_a_download(capture_exe, demo_video,
                                                                    tmp_path):
    done = run_capture(capture_exe, str(demo_video), "--out", str(tmp_path / "x.csv"),
                       "--model-complexity", "0", timeout=120)
    assert done.returncode == 4
    [line] = error_lines(done.stderr)
    assert "pose_landmark_lite.tflite is missing" in line
    assert "Downloading" not in done.stdout + done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_bad_arguments_are_one_line_and_exit_2(capture_exe, demo_video):
    nothing = run_capture(capture_exe, str(demo_video), timeout=120)
    assert nothing.returncode == 2
    assert error_lines(nothing.stderr) == [
        "barunrun-capture: error: nothing to do: give --out FILE.csv and/or --kafka [BOOTSTRAP]"
        " or --gateway URL"]
    no_user = run_capture(capture_exe, str(demo_video), "--kafka", "127.0.0.1:1", timeout=120)
    assert no_user.returncode == 2
    assert "--user-id" in error_lines(no_user.stderr)[0]


def test_an_unreachable_broker_is_one_line_and_exit_5(capture_exe, demo_video):
    done = run_capture(capture_exe, str(demo_video), "--kafka", "127.0.0.1:1",
                       "--user-id", "u1", timeout=120)
    assert done.returncode == 5
    [line] = error_lines(done.stderr)
    assert line.startswith("barunrun-capture: error: Kafka at 127.0.0.1:1 did not answer")
