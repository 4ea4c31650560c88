"""`barunrun model bootstrap`: what docker-compose's model-init runs before the consumers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_bootstrap_keeps_an_existing_model(model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "models" / "current"
    shutil.copytree(model_dir, out)
    before = (out / "manifest.json").read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "consumer", "model", "bootstrap", "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"model_dir": str(out), "trained": False}
    assert (out / "manifest.json").read_bytes() == before
