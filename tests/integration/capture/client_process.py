"""Running the capture client's console script (in its own venv) from the server's tests."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run_capture(exe: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args, "--no-progress"], capture_output=True, text=True,
                          timeout=timeout, check=False)


def error_lines(stderr: str) -> list[str]:
    """The client's own lines (FFmpeg and MediaPipe write their own to stderr too)."""
    return [line for line in stderr.splitlines() if line.startswith("barunrun-capture:")]
