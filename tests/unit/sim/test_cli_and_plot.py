"""The ``dataset`` command (with ``--plot``) and the stick-figure pictures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from consumer.cli import main
from producer_sim.plot import save_fault_figure, save_normal_figure

REPO = Path(__file__).resolve().parents[3]


def _looks_drawn(path: Path) -> None:
    image = mpimg.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 600
    assert image[..., :3].std() > 0.05  # not a blank canvas
    assert (image[..., :3].mean(axis=-1) < 0.5).mean() > 0.005  # dark strokes are there


def test_pictures(tmp_path: Path):
    _looks_drawn(save_normal_figure(tmp_path / "normal.png", seed=1, frames=120))
    _looks_drawn(save_fault_figure(tmp_path / "faults.png", seed=1, frames=120,
                                   faults=("overstriding", "knee_valgus")))


def test_dataset_command_with_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code = main(["dataset", "--out", str(tmp_path), "--normal-runners", "1",
                 "--abnormal-runners", "2", "--frames", "90", "--seed", "3",
                 "--faults", "trunk_lean,cross_over", "--plot"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["faults"] == {"trunk_lean": 1, "cross_over": 1}
    assert (tmp_path / "labels.csv").is_file() and (tmp_path / "manifest.json").is_file()
    for png in result["plots"]:
        _looks_drawn(Path(png))


def test_python_m_producer_sim_reports_bad_arguments_in_one_line(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-m", "producer_sim", "dataset", "--out", str(tmp_path),
         "--faults", "wobbly_knees"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=120, check=False,
    )
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0
    assert "unknown fault(s) wobbly_knees" in run.stderr
    assert not any(tmp_path.iterdir())


def test_views_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code = main(["dataset", "--out", str(tmp_path), "--views", "top"])
    assert code == 2
    assert "unknown view(s) top" in capsys.readouterr().err
