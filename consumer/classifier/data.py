"""Where the classifier's labelled windows come from, and their split by user.

Two sources, both read by the autoencoder's own loaders (``consumer.training.data``: the
serving window rules, the labels file, the window-label rule):

* recordings given as ``--normal`` / ``--abnormal`` paths (a simulator dataset: CSVs +
  ``labels.csv``): users are split into train / val / test by the archive's rule
  (``consumer.labels.split.split_users``: a hash of the salted user id), or, with separate
  ``--test-*`` recordings, into train / val only;
* a training set from the archive (``barunrun dataset --from-archive``): its ``train``,
  ``val`` and ``test`` folders are already split by user that way.

Early stopping and the decision threshold use the val users, the reported metrics the test
users: no window of a user ever informs a choice evaluated on that user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from consumer.classifier.labels import LabelledWindows, fault_names, labelled_windows
from consumer.errors import DataError
from consumer.labels.split import split_users
from consumer.training.evaluate import load_evaluation_data
from consumer.windows.rules import WindowConfig

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitData:
    train: LabelledWindows
    val: LabelledWindows
    test: LabelledWindows | None  # None: no held-out test users (evaluation not possible)
    users: dict[str, list[str]]
    files: tuple[Path, ...]


def read_labelled(
    normal: Sequence[str | Path], abnormal: Sequence[str | Path], config: WindowConfig,
    faults: Sequence[str] | None = None,
) -> tuple[LabelledWindows, tuple[Path, ...]]:
    """Labelled windows of recordings (ambiguous ones left out) and the files read."""
    data = load_evaluation_data(list(normal), list(abnormal), config)
    return labelled_windows(data.windows, faults), data.windows.files


def split_recordings(
    normal: Sequence[str | Path],
    abnormal: Sequence[str | Path],
    config: WindowConfig,
    shares: tuple[float, float, float],
    salt: str,
    test_normal: Sequence[str | Path] = (),
    test_abnormal: Sequence[str | Path] = (),
    test_config: WindowConfig | None = None,
) -> SplitData:
    """Recordings split by user; separate test recordings replace the test share."""
    data, files = read_labelled(normal, abnormal, config)
    separate_test = bool(test_normal or test_abnormal)
    if separate_test:
        # All the given users train or validate; keep the train:val ratio of the shares.
        train_share = shares[0] / (shares[0] + shares[1])
        shares = (train_share, 1.0 - train_share, 0.0)
    users = split_users(sorted(set(data.users.tolist())), shares, salt)
    if not users["train"] or not users["val"]:
        raise DataError(f"need users on both the train and the val side, got {users}; give "
                        "recordings of more runners")
    test: LabelledWindows | None = None
    if separate_test:
        test, test_files = read_labelled(test_normal, test_abnormal, test_config or config,
                                         data.faults)
        overlap = set(test.users.tolist()) & set(data.users.tolist())
        if overlap:
            raise DataError(f"test recordings share users with the training ones: "
                            f"{sorted(overlap)[:5]}")
        users["test"] = sorted(set(test.users.tolist()))
        files = files + test_files
    elif users["test"]:
        test = data.for_users(users["test"])
    return SplitData(data.for_users(users["train"]), data.for_users(users["val"]), test,
                     users, files)


def split_training_set(root: str | Path, config: WindowConfig) -> SplitData:
    """An archive training set (``root/{train,val,test}/{normal,abnormal}``), as split."""
    root = Path(root)
    if not (root / "train").is_dir():
        raise DataError(f"{root} is not a training set: no train/ folder (barunrun dataset "
                        "--from-archive writes one)")
    parts: dict[str, LabelledWindows] = {}
    files: list[Path] = []
    read: dict[str, tuple[LabelledWindows, tuple[Path, ...]]] = {}
    for split in SPLITS:
        normal, abnormal = (_recordings(root / split / side) for side in ("normal", "abnormal"))
        if normal or abnormal:
            read[split] = read_labelled(normal, abnormal, config)
    if "train" not in read or "val" not in read:
        raise DataError(f"{root}: the training set needs recordings in train/ and val/")
    # The fault head's classes come from the training users' labels only.
    faults = fault_names(read["train"][0].labels.tolist())
    for split, (windows, found) in read.items():
        index = {name: i for i, name in enumerate(faults)}
        fault = np.array([index.get(label, -1) for label in windows.labels.tolist()],
                         dtype=np.int64)
        parts[split] = replace(windows, fault=fault, faults=faults)
        files.extend(found)
    users = {split: sorted(set(parts[split].users.tolist())) if split in parts else []
             for split in SPLITS}
    return SplitData(parts["train"], parts["val"], parts.get("test"), users, tuple(files))


def _recordings(folder: Path) -> list[Path]:
    """The folder when it holds recordings, else nothing (a split may lack a side)."""
    if folder.is_dir() and any(p.name != "labels.csv" for p in folder.rglob("*.csv")):
        return [folder]
    return []
