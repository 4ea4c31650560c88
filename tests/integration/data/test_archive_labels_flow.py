"""Simulate runners, archive them through kill -9 and restarts, label through the topic,
report, and build a training set: every count matches what was sent."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import pytest
from kafka import KafkaProducer

from consumer.archive.reader import read_frames, read_scores
from consumer.labels.agreement import cohen_kappa
from consumer.labels.publish import submit_labels
from consumer.labels.schema import new_submission
from consumer.labels.store import LabelStore
from consumer.recording import load_labels
from consumer.serve.events import ScoredWindow, score_record
from consumer.settings import Settings
from consumer.stack import create_topics
from consumer.training.data import load_windows
from consumer.windows.rules import WindowConfig
from producer_sim.publish import StreamSummary, stream_runners

pytestmark = pytest.mark.integration

RUNNERS, SECONDS = 6, 10


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def archived_offsets(root: Path, topic: str) -> int:
    """Records of ``topic`` the archive's checkpoints say are done (all partitions)."""
    total = 0
    for path in (root / "_state" / topic).glob("*.json"):
        total += json.loads(path.read_text())["next_offset"] or 0
    return total


def publish_scores(settings: Settings, user: str, session: str) -> int:
    """Score records as the consumer builds them, one sent twice; returns records sent."""
    producer = KafkaProducer(**settings.kafka.client_options())
    now = time.time_ns() // 1_000_000
    records = []
    for end in range(29, 229, 10):
        window = ScoredWindow(user, session, end - 29, end, now, now + 990, 0.01 * end, 1.0,
                              "ae-test-1", False)
        records.append(orjson.dumps(score_record(window, now + 1000)))
    for value in [*records, records[0]]:
        producer.send(settings.topics.scores, key=user.encode(), value=value)
    producer.flush(10)
    producer.close()
    return len(records) + 1


def stream_in_background(settings: Settings) -> tuple[threading.Thread, list[StreamSummary]]:
    result: list[StreamSummary] = []
    thread = threading.Thread(target=lambda: result.append(stream_runners(
        settings, runners=RUNNERS, duration_s=SECONDS, fault_rate=0.5, realtime=True, seed=11,
    )), daemon=True)
    thread.start()
    return thread, result


def archive_through_kills(
    settings: Settings, cli, root: Path, kills: int
) -> tuple:
    """Stream while the archiver is killed -9 ``kills`` times (each after it made progress)."""
    thread, result = stream_in_background(settings)
    archiver = cli.start("archive")
    progress, killed_at = 0, []
    for _ in range(kills):
        wait_for(lambda p=progress: archived_offsets(root, settings.topics.frames) > p, 60,
                 "the archiver to checkpoint more frames")
        progress = archived_offsets(root, settings.topics.frames)
        os.kill(archiver.pid, signal.SIGKILL)
        archiver.wait(10)
        killed_at.append(progress)
        archiver = cli.start("archive")
    thread.join(60)
    assert result, "the stream did not finish"
    return archiver, result[0], killed_at


def sent_keys(summary: StreamSummary, settings: Settings) -> set[tuple[str, str, int]]:
    """Every (user, session, frame) on the frames topic, read back from the broker."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(auto_offset_reset="earliest", enable_auto_commit=False,
                             **settings.kafka.client_options())
    topic = settings.topics.frames
    consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
    keys: set[tuple[str, str, int]] = set()
    deadline = time.monotonic() + 30
    while len(keys) < summary.frames_sent and time.monotonic() < deadline:
        for batch in consumer.poll(500, max_records=10_000).values():
            for record in batch:
                obj = orjson.loads(record.value)
                keys.add((obj["user_id"], obj["session_id"], obj["frame"]))
    consumer.close()
    return keys


def label_plan(summary: StreamSummary) -> tuple[list, dict[str, object]]:
    """Labels from the simulator's truth, plus conflicts, a change of mind and dangling ones."""
    faulty = [r for r in summary.runners if r.fault]
    normal = [r for r in summary.runners if not r.fault]
    disputed, split_one, wavering = faulty[0], normal[0], normal[1]
    agreed = next(r for r in summary.runners if r not in (disputed, split_one, wavering))
    last = SECONDS * 30 - 1

    def lab(runner, who, lo, hi, label="normal", fault=None, at=2_000):
        return new_submission(user_id=runner.user_id, session_id=runner.session_id,
                              start_frame=lo, end_frame=hi, label=label, fault=fault,
                              labeller=who, submitted_at_ms=at)

    def truth(runner, who):
        if not runner.fault:
            return [lab(runner, who, 0, last)]
        return [lab(runner, who, 0, runner.onset_frame - 1),
                lab(runner, who, runner.onset_frame, last, "abnormal", runner.fault)]

    labels = [lab(wavering, "alice", 0, 99, "abnormal", "limp", at=1_000)]  # then normal
    for runner in summary.runners:
        if runner is split_one:
            labels.append(lab(runner, "alice", 0, 149))
        else:
            labels += truth(runner, "alice")
    labels += truth(agreed, "bob")
    labels.append(lab(disputed, "bob", 0, last))                     # tie: trusted alice wins
    labels.append(lab(split_one, "bob", 150, last))
    labels.append(lab(split_one, "carol", 150, 199, "abnormal"))       # tie: unresolved
    labels.append(new_submission(user_id=agreed.user_id, session_id="nope", start_frame=0,
                                 end_frame=10, label="normal", labeller="dave"))
    roles = {"disputed": disputed, "agreed": agreed, "split_one": split_one,
             "wavering": wavering, "last": last}
    return labels, roles


def test_archive_label_report_and_training_set(
    settings_factory, unique: str, tmp_path: Path, barunrun, kafka
) -> None:
    root = tmp_path / "archive"
    settings = settings_factory(
        partitions=3,
        topics={"labels": f"t{unique}.pose.labels"},
        archive={"dir": str(root), "group_id": f"t{unique}-archive",
                 "labels_group_id": f"t{unique}-labels", "flush_records": 200,
                 "flush_interval_s": 0.3, "trusted_labellers": ["alice"],
                 "split": [0.5, 0.25, 0.25]},
    )
    create_topics(kafka.address, [settings.topics.labels], 3)
    cli = barunrun(settings)

    # 1. Archive: scores first, then frames while the archiver is killed twice mid-stream.
    scores_sent = publish_scores(settings, "runner-000", "scored")
    archiver, summary, killed_at = archive_through_kills(settings, cli, root, kills=2)
    assert summary.frames_sent > RUNNERS * SECONDS * 25 and not summary.stopped_early
    assert 0 < killed_at[0] < summary.frames_sent  # the first kill came mid-stream
    wait_for(lambda: len(read_frames(root, columns=["frame"])) >= summary.frames_sent, 90,
             f"{summary.frames_sent} frames in the archive")
    wait_for(lambda: len(read_scores(root, dedup=False)) >= scores_sent, 30, "score records")
    # SIGTERM before the process has set up its handlers would be the default kill, not a stop.
    wait_for(lambda: "archiving topics=" in cli.log_paths[-1].read_text(), 60,
             "the last archiver to start")
    archiver.send_signal(signal.SIGTERM)
    out, _ = archiver.communicate(timeout=30)
    assert archiver.returncode == 0 and json.loads(out)["records"] >= 0

    stored = read_frames(root, dedup=False)
    unique_rows = read_frames(root)
    keys = set(zip(unique_rows.column("user_id").to_pylist(),
                   unique_rows.column("session_id").to_pylist(),
                   unique_rows.column("frame").to_pylist(), strict=True))
    assert len(stored) == len(unique_rows) == summary.frames_sent  # none lost, none twice
    assert keys == sent_keys(summary, settings)
    assert len(read_scores(root)) == scores_sent - 1  # the resent record is read once

    # 2. Labels through the topic: the library, the CLI, and a broken message.
    labels, roles = label_plan(summary)
    submit_labels(settings, labels)
    ghost = cli.run("label", "--user", "ghost-runner", "--session", "s1", "--start", "0",
                    "--end", "10", "--label", "abnormal", "--fault", "limp", "--labeller",
                    "dave", "--json")
    assert ghost.returncode == 0, ghost.stderr
    assert json.loads(ghost.stdout)["fault"] == "limp"
    bad = cli.run("label", "--user", "u", "--start", "9", "--end", "1", "--label", "normal",
                  "--labeller", "x")
    assert bad.returncode == 2 and "end_frame 1 is before start_frame 9" in bad.stderr
    producer = KafkaProducer(**settings.kafka.client_options())
    producer.send(settings.topics.labels, key=b"runner-000", value=b"{broken")
    producer.flush(10)
    producer.close()
    ingest = cli.run("labels", "ingest", "--until-idle", "3")
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["stored"] == len(labels) + 1
    with LabelStore(root / "labels.sqlite") as store:
        assert store.count() == len(labels) + 1
        assert [r["reason"] for r in store.rejected()] == ["invalid_json"]

    # 3. The report, as JSON and as a table.
    result = cli.run("labels", "report", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    check_report(report, summary, roles)
    table = cli.run("labels", "report")
    assert table.returncode == 0, table.stderr
    for expected in ("Labels: summary", "Class balance", "Cohen's kappa", "alice / bob",
                     "changed mind", "labellers disagree", "unresolved", "ghost-runner",
                     "unknown user"):
        assert expected in table.stdout, expected

    # 4. The training set, split by user; every archived frame is accounted for.
    out_dir = tmp_path / "training"
    built = cli.run("dataset", "--from-archive", str(root), "--out", str(out_dir))
    assert built.returncode == 0, built.stderr
    check_training_set(json.loads(built.stdout), out_dir, report, summary)


def check_report(report: dict, summary: StreamSummary, roles: dict) -> None:
    cov = report["coverage"]
    assert cov["archived_frames"] == summary.frames_sent
    # Every runner is labelled except split_one's frames past 150 that only bob and carol
    # labelled: 150..199 is a tie (unresolved), the rest is bob's normal.
    assert cov["labelled_frames"] == summary.frames_sent
    split_one = roles["split_one"]
    assert report["unresolved_ranges"] == [{
        "user_id": split_one.user_id, "session_id": split_one.session_id,
        "start_frame": 150, "end_frame": 199, "labellers": ["bob", "carol"]}]
    kinds = {(c["kind"], c["user_id"], c["start_frame"], c["end_frame"], c["outcome"])
             for c in report["conflicts"]}
    disputed, wavering = roles["disputed"], roles["wavering"]
    assert ("changed_mind", wavering.user_id, 0, 99, "normal") in kinds
    assert ("labellers_disagree", disputed.user_id, disputed.onset_frame, roles["last"],
            disputed.fault) in kinds  # a tie, settled by the trusted labeller alice
    assert ("labellers_disagree", split_one.user_id, 150, 199, "unresolved") in kinds
    assert disputed.fault in report["class_balance"]
    pairs = {tuple(p["labellers"]): p for p in report["agreement"]}
    agreed = roles["agreed"]
    table = np.zeros((2, 2), dtype=np.int64)
    n = roles["last"] + 1
    for runner, bob_agrees in ((agreed, True), (disputed, False)):
        onset = runner.onset_frame if runner.fault else n
        table[0, 0] += onset
        table[1, 1 if bob_agrees else 0] += n - onset
    assert pairs[("alice", "bob")]["table"]["counts"] == table.tolist()
    assert pairs[("alice", "bob")]["kappa"] == pytest.approx(cohen_kappa(table), abs=1e-4)
    assert pairs[("bob", "carol")]["overlap_frames"] == 50
    dangling = {(d["user_id"], d["problem"]) for d in report["dangling"]}
    assert dangling == {("ghost-runner", "unknown user"), (agreed.user_id, "unknown session")}
    assert report["submissions"]["rejected_by_reason"] == {"invalid_json": 1}


def check_training_set(manifest: dict, out: Path, report: dict, summary: StreamSummary) -> None:
    splits = manifest["splits"]
    users = [u for side in splits.values() for u in side["users"]]
    assert sorted(users) == sorted(r.user_id for r in summary.runners)
    assert len(set(users)) == len(users)  # nobody on two sides
    written = sum(n for side in splits.values() for n in side["frames"].values())
    excluded = manifest["excluded"]
    assert excluded["unresolved_frames"] == report["coverage"]["unresolved_frames"]
    assert written + sum(excluded.values()) == summary.frames_sent
    by_label: dict[str, int] = {}
    for side in splits.values():
        for label, count in side["frames"].items():
            by_label[label] = by_label.get(label, 0) + count
    for label, entry in report["class_balance"].items():  # short runs are the only gap
        assert 0 <= entry["frames"] - by_label.get(label, 0) <= excluded.get(
            "short_run_frames", 0)
    window = WindowConfig(30, 10)
    for name, side in splits.items():
        if not side["files"]:
            continue
        labels = load_labels(out / name / "labels.csv")
        for kind in side["files"]:
            windows = load_windows([out / name / kind], window, labels=labels)
            expected = sum(n for label, n in side["windows"].items()
                           if (label == "normal") == (kind == "normal"))
            assert len(windows) == expected
            assert set(windows.groups) <= set(side["users"])
