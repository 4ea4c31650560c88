"""Recording CSV and labels: the format the seed notebook reads, NaN rows dropped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from consumer.errors import DataError
from consumer.recording import (
    LabelRange,
    find_labels,
    iter_recording_paths,
    load_recording,
    write_labels,
    write_recording,
)


def _landmarks(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 132)).astype(np.float32)


def test_round_trip_drops_nan_rows_and_counts_them(tmp_path: Path) -> None:
    values = _landmarks(10)
    values[[3, 7]] = np.nan
    path = tmp_path / "run.csv"
    write_recording(path, np.arange(100, 110), values)
    rec = load_recording(path)
    assert len(rec) == 8
    assert rec.dropped_rows == 2
    assert list(rec.frames) == [100, 101, 102, 104, 105, 106, 108, 109]
    np.testing.assert_allclose(rec.landmarks, np.delete(values, [3, 7], axis=0), atol=1e-6)


def test_any_column_names_are_accepted_order_counts(tmp_path: Path) -> None:
    path = tmp_path / "seed.csv"
    header = ",".join(["frame"] + [f"c{i}" for i in range(132)])
    rows = [",".join([str(i)] + ["0.5"] * 132) for i in range(3)]
    rows.append(",".join(["3"] + [""] * 132))  # an empty row, as a tracker with no person writes
    path.write_text("\n".join([header, *rows]) + "\n")
    rec = load_recording(path)
    assert len(rec) == 3 and rec.dropped_rows == 1
    assert rec.landmarks.dtype == np.float32 and rec.landmarks.shape == (3, 132)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("frame,a,b\n1,2,3\n", "expected 133 columns"),
        (",".join(["frame"] + ["x"] * 132) + "\n" + ",".join(["1"] * 132) + "\n", "rows have"),
    ],
)
def test_unusable_files_raise_data_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_recording(path)


def test_out_of_order_and_repeated_frames_are_sorted_and_deduplicated(tmp_path: Path) -> None:
    path = tmp_path / "shuffled.csv"
    values = _landmarks(4)
    write_recording(path, np.array([3, 1, 2, 2]), values)
    rec = load_recording(path)
    assert list(rec.frames) == [1, 2, 3]


def test_paths_expand_directories_and_skip_labels(tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv", "sub/c.csv"):
        write_recording(tmp_path / name, np.arange(2), _landmarks(2))
    write_labels(tmp_path / "labels.csv", [])
    found = [p.relative_to(tmp_path).as_posix() for p in iter_recording_paths([tmp_path])]
    assert found == ["a.csv", "b.csv", "sub/c.csv"]
    with pytest.raises(DataError, match="no such file"):
        list(iter_recording_paths([tmp_path / "missing.csv"]))


def test_labels_give_per_frame_labels_default_normal(tmp_path: Path) -> None:
    write_recording(tmp_path / "abnormal" / "r1.csv", np.arange(10), _landmarks(10))
    write_labels(tmp_path / "labels.csv", [
        LabelRange("abnormal/r1.csv", 0, 3, "normal", "r1", "s1", "side"),
        LabelRange("abnormal/r1.csv", 4, 9, "overstriding", "r1", "s1", "side", 0.8),
    ])
    index = find_labels([tmp_path / "abnormal"])
    rec = load_recording(tmp_path / "abnormal" / "r1.csv")
    labels = index.frame_labels(rec)
    assert list(labels[:4]) == ["normal"] * 4
    assert list(labels[4:]) == ["overstriding"] * 6
    assert index.for_recording(rec.path)[1].severity == pytest.approx(0.8)
