"""``barunrun metrics`` and ``barunrun report`` on a small simulated dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consumer.cli import main
from consumer.gait.specs import METRICS
from producer_sim.dataset import write_dataset

# The integrator adds these to consumer.cli.COMMANDS; the tests name them explicitly.
COMMANDS = {
    "metrics": ("consumer.commands.metrics", "gait metrics and cues per recording"),
    "report": ("consumer.commands.report", "an HTML report of one session"),
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gait-dataset")
    write_dataset(out, normal_runners=1, abnormal_runners=2, frames=330, seed=203,
                  faults=["trunk_lean", "stiff_arms"], views=["side"])
    return out


def test_metrics_json_has_the_contract_shape(dataset: Path, capsys) -> None:
    assert main(["metrics", str(dataset), "--json"], commands=COMMANDS) == 0
    out = json.loads(capsys.readouterr().out)
    recordings = out["recordings"]
    assert len(recordings) == 3
    for entry in recordings:
        assert {"path", "view", "metrics", "cues"} <= set(entry)
        assert entry["view"] == "side"
        assert {"cadence_spm", "trunk_lean_deg", "vertical_oscillation_rel",
                "overstride_rel"} <= set(entry["metrics"])
        assert set(entry["metrics"]) <= set(METRICS)
        for cue in entry["cues"]:
            assert {"id", "text", "severity"} <= set(cue)
    by_file = {Path(e["path"]).name: e for e in recordings}
    # (This normal runner lands 0.25 leg lengths ahead by the simulator's own truth, at the
    # edge of its normal range: an overstriding cue on it is fair; the faults' cues are not.)
    normal_cues = {c["id"] for c in by_file["runner-s203-n000.csv"]["cues"]}
    assert not normal_cues & {"trunk_lean", "stiff_arms"}
    assert "trunk_lean" in [c["id"] for c in by_file["runner-s203-a000.csv"]["cues"]]
    assert "stiff_arms" in [c["id"] for c in by_file["runner-s203-a001.csv"]["cues"]]


def test_metrics_text_output_and_korean(dataset: Path, capsys) -> None:
    path = dataset / "abnormal" / "runner-s203-a000.csv"
    assert main(["metrics", str(path), "--language", "ko"], commands=COMMANDS) == 0
    text = capsys.readouterr().out
    assert "side view" in text and "trunk_lean" in text
    assert "상체" in text


def test_metrics_refuses_a_missing_path(tmp_path: Path, capsys) -> None:
    assert main(["metrics", str(tmp_path / "nope.csv")], commands=COMMANDS) == 5
    assert "no such file" in capsys.readouterr().err


def test_report_writes_a_self_contained_page(dataset: Path, tmp_path: Path, capsys) -> None:
    session = dataset / "abnormal" / "runner-s203-a000.csv"
    out = tmp_path / "report"
    assert main(["report", "--session", str(session), "--out", str(out)],
                commands=COMMANDS) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert capsys.readouterr().out.strip() == str(out / "index.html")
    assert "trunk_lean" in page and "data:image/png;base64," in page
    assert "<h2>The worst moments</h2>" in page
    assert (out / "report_timeline.png").stat().st_size > 10_000
    assert (out / "report_moments.png").read_bytes()[:4] == b"\x89PNG"
