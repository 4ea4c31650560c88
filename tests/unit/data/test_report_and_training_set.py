"""The labels report (data, table, JSON) and the training set built from archive + labels."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from consumer.archive.loop import Archiver, ArchiverConfig
from consumer.labels.render import render_report
from consumer.labels.report import archived_frames, build_report
from consumer.labels.store import LabelStore, Source
from consumer.labels.training_set import build_from_archive
from consumer.recording import load_labels
from consumer.training.data import load_windows
from consumer.windows.rules import WindowConfig


def archive(root: Path, kit, sessions: dict[tuple[str, str], int]) -> None:
    kafka = kit.FakeKafka()
    for i, ((user, session), count) in enumerate(sessions.items()):
        kafka.send_frames(user, session, range(count), partition=i % 2)
    archiver = Archiver(ArchiverConfig(root, kit.FRAMES_TOPIC, kit.SCORES_TOPIC,
                                       flush_records=500, flush_interval_s=3600),
                        kafka.source(batch=200))
    for _ in range(20):
        archiver.step()
    archiver.flush()


def report_labels(kit) -> list:
    s = kit.submission
    return kit.stored(
        s("alice", 0, 49, "normal", at=1), s("alice", 50, 99, "abnormal", "limp", at=1),
        s("bob", 0, 59, "normal", at=2),
        s("alice", 0, 59, "abnormal", user="u2", at=1),
        s("alice", 0, 59, "normal", user="u2", at=5),              # changed their mind
        s("carol", 90, 150, "normal", at=3),                        # runs past the session
        s("dave", 0, 10, "normal", user="ghost", at=1),             # unknown user
        s("dave", 0, 10, "normal", session="s2", at=1),             # unknown session
        s("dave", 200, 300, "normal", at=1),                        # no frame in range
    )


def test_report_counts_coverage_balance_conflicts_agreement_and_dangling(
    tmp_path: Path, kit
) -> None:
    archive(tmp_path, kit, {("u1", "s1"): 100, ("u2", "s1"): 60, ("u3", "s1"): 40})
    frames = archived_frames(tmp_path)
    assert {k: len(v) for k, v in frames.items()} == {
        ("u1", "s1"): 100, ("u2", "s1"): 60, ("u3", "s1"): 40}
    report = build_report(frames, report_labels(kit), trusted=("alice",))
    json.dumps(report)  # JSON-ready throughout
    cov = report["coverage"]
    assert (cov["archived_frames"], cov["labelled_frames"], cov["labelled_share"]) == (
        200, 160, 0.8)
    assert cov["users"]["u3"]["labelled_share"] == 0.0
    assert {k: v["frames"] for k, v in report["class_balance"].items()} == {
        "limp": 50, "normal": 110}
    kinds = sorted((c["kind"], c["user_id"], c["start_frame"], c["end_frame"], c["outcome"])
                   for c in report["conflicts"])
    assert kinds == [
        ("changed_mind", "u2", 0, 59, "normal"),
        ("labellers_disagree", "u1", 50, 59, "limp"),
        ("labellers_disagree", "u1", 90, 99, "limp"),
    ]
    pairs = {tuple(p["labellers"]): p for p in report["agreement"]}
    assert pairs[("alice", "bob")]["overlap_frames"] == 60
    assert pairs[("alice", "bob")]["table"]["counts"] == [[50, 0], [10, 0]]
    assert pairs[("alice", "bob")]["kappa"] == 0.0
    problems = sorted((d["labeller"], d["problem"]) for d in report["dangling"])
    assert problems == [("carol", "range runs past the archived session"),
                        ("dave", "no archived frame in range"), ("dave", "unknown session"),
                        ("dave", "unknown user")]

    untrusted = build_report(frames, report_labels(kit))
    assert untrusted["coverage"]["unresolved_frames"] == 20
    assert [(r["start_frame"], r["end_frame"]) for r in untrusted["unresolved_ranges"]] == [
        (50, 59), (90, 99)]

    out = io.StringIO()
    render_report(report, Console(file=out, width=140, color_system=None))
    text = out.getvalue()
    for expected in ("Labels: summary", "80.0% coverage", "Class balance", "Cohen's kappa",
                     "alice / bob", "changed mind", "labellers disagree", "trusted labeller alice",
                     "unknown user", "Rule: per labeller the latest submission counts"):
        assert expected in text, expected


def training_labels(kit) -> list:
    s = kit.submission
    return kit.stored(
        s("alice", 0, 59, "normal", user="u1"), s("alice", 60, 119, "abnormal", "limp", user="u1"),
        s("alice", 0, 79, "normal", user="u2"),
        s("alice", 0, 89, "abnormal", "trunk_lean", user="u3"),
        s("alice", 0, 9, "normal", user="u5"),  # too short for a window
    )


@pytest.mark.parametrize("include_unlabelled", [False, True])
def test_training_set_is_split_by_user_and_reads_like_a_recording_dataset(
    tmp_path: Path, kit, include_unlabelled: bool
) -> None:
    root = tmp_path / "archive"
    archive(root, kit, {("u1", "s1"): 120, ("u2", "s1"): 80, ("u3", "s1"): 90,
                        ("u4", "s1"): 50, ("u5", "s1"): 40})
    with LabelStore(root / "labels.sqlite") as store:
        store.add([(item.submission, Source()) for item in training_labels(kit)])
    out = tmp_path / "out"
    window = WindowConfig(size=30, hop=10)
    manifest = build_from_archive(root, root / "labels.sqlite", out, window=window,
                                  shares=(0.6, 0.2, 0.2), salt="t",
                                  include_unlabelled=include_unlabelled)
    splits = manifest["splits"]
    users = [u for side in splits.values() for u in side["users"]]
    assert sorted(users) == ["u1", "u2", "u3", "u4", "u5"] and len(set(users)) == 5
    assert all(splits[name]["users"] for name in ("train", "val", "test"))
    frames = {}
    for side in splits.values():
        for label, count in side["frames"].items():
            frames[label] = frames.get(label, 0) + count
    # Unlabelled frames count as normal only when asked, and only for the train split; u5's
    # 10 labelled frames are then joined by its 30 unlabelled ones into one run of 40.
    u4_assumed = include_unlabelled and "u4" in splits["train"]["users"]
    u5_assumed = include_unlabelled and "u5" in splits["train"]["users"]
    assert frames == {"normal": 60 + 80 + (50 if u4_assumed else 0) + (40 if u5_assumed else 0),
                      "limp": 60, "trunk_lean": 90}
    excluded = manifest["excluded"]
    assert excluded.get("short_run_frames", 0) == (0 if u5_assumed else 10)
    assert excluded.get("assumed_normal", 0) == (50 if u4_assumed else 0) + (
        30 if u5_assumed else 0)
    assert json.loads((out / "manifest.json").read_text()) == manifest
    for name, side in splits.items():
        folder = out / name
        if not side["files"]:
            continue
        labels = load_labels(folder / "labels.csv")
        for kind in side["files"]:
            windows = load_windows([folder / kind], window, abnormal=kind == "abnormal",
                                   labels=labels)
            expected = {"normal"} if kind == "normal" else {"limp", "trunk_lean"}
            assert set(windows.labels.tolist()) <= expected
            assert set(windows.groups) <= set(side["users"])  # groups are user ids
        assert sum(side["windows"].values()) > 0
    with pytest.raises(Exception, match="not empty"):
        build_from_archive(root, root / "labels.sqlite", out, window=window,
                           shares=(0.6, 0.2, 0.2), salt="t")
