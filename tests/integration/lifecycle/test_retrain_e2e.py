"""The model lifecycle end to end, on the real broker and Redis with the real commands:

1. simulated runners stream through a consumer serving ``<registry>/current`` (v1); the
   archiver (a ``barunrun archive`` process) keeps their frames and scores; labels from the
   simulator's truth go through the labels topic into the store (``barunrun labels ingest``);
2. while a second set of runners streams in real time, ``barunrun retrain`` fine-tunes v1 on
   the archive + labels, judges it against v1 on held-out users, promotes it; the consumer
   serves v2 from then on, mid-stream;
3. a labeller marks the training users' faulty runs normal (corrupted labels); a full retrain
   on them is refused, and ``current`` stays v2;
4. ``barunrun model rollback`` puts v1 back, and the consumer serves it again;
5. the audit (tests/support/reliability/audit.py): every window the frames imply was scored,
   none twice differently; every event has its score record; each live runner's windows go
   v1 ... v1 v2 ... v2 (one swap, no gap); events and score records carry personal_z.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from consumer.archive.reader import read_frames, read_scores
from consumer.labels.publish import submit_labels
from consumer.labels.schema import new_submission
from consumer.labels.split import split_users
from consumer.lifecycle import history, replay
from consumer.lifecycle.registry import Registry
from consumer.settings import LifecycleSettings, Settings
from consumer.stack import create_topics
from producer_sim.dataset import write_dataset
from producer_sim.publish import StreamSummary, stream_runners
from tests.support.reliability.audit import collect

pytestmark = pytest.mark.integration

RUNNERS, SECONDS, FAULT_RATE = 14, 15, 0.5


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(settings: Settings, path: Path) -> Path:
    lines: list[str] = []
    for section, values in settings.model_dump(mode="json").items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items() if v is not None]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Cli:
    def __init__(self, config: Path, logs: Path) -> None:
        self.config, self.logs = config, logs
        self.started: list[subprocess.Popen[str]] = []

    def argv(self, *args: str) -> list[str]:
        if args[0] in ("labels", "model"):  # `labels ACTION --config X`
            return [sys.executable, "-m", "consumer", args[0], args[1], "--config",
                    str(self.config), *args[2:]]
        return [sys.executable, "-m", "consumer", args[0], "--config", str(self.config),
                *args[1:]]

    def start(self, *args: str) -> subprocess.Popen[str]:
        log = (self.logs / f"{args[0]}-{len(self.started)}.log").open("w")
        process = subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE, stderr=log,
                                   text=True)
        self.started.append(process)
        return process

    def json(self, *args: str, timeout_s: float = 240, env: dict[str, str] | None = None) -> dict:
        done = subprocess.run(self.argv(*args), capture_output=True, text=True,
                              timeout=timeout_s, check=False,
                              env={**os.environ, **env} if env else None)
        assert done.returncode == 0, f"{args}: {done.stderr[-3000:]}"
        return json.loads(done.stdout.strip().splitlines()[-1])


def truth_labels(summary: StreamSummary, wrong_for: set[str] = frozenset(), at: int = 1_000,
                 abnormal_for: set[str] = frozenset()):
    """Labels as the simulator knows them; users in ``wrong_for`` all normal and users in
    ``abnormal_for`` all abnormal (corrupted)."""
    last = SECONDS * 30 - 1
    out = []
    for r in summary.runners:
        def lab(lo, hi, label="normal", fault=None, r=r):
            return new_submission(user_id=r.user_id, session_id=r.session_id, start_frame=lo,
                                  end_frame=hi, label=label, fault=fault, labeller="coach",
                                  submitted_at_ms=at)
        if r.user_id in abnormal_for:
            out.append(lab(0, last, "abnormal"))
        elif not r.fault or r.user_id in wrong_for:
            out.append(lab(0, last))
        else:
            out += [lab(0, r.onset_frame - 1), lab(r.onset_frame, last, "abnormal", r.fault)]
    return out


def usable_salt(summary: StreamSummary, shares: tuple[float, float, float]) -> str:
    """A split salt whose test users hold normal and faulty runners and whose training users
    hold enough of both (the split is a pure hash of salt and user id: deterministic)."""
    faulty = {r.user_id for r in summary.runners if r.fault}
    users = [r.user_id for r in summary.runners]
    for i in range(200):
        sides = split_users(users, shares, f"salt{i}")
        test, train = set(sides["test"]), set(sides["train"])
        if len(test & faulty) >= 2 and len(test - faulty) >= 1 and len(train & faulty) >= 2 \
                and len(train - faulty) >= 3:
            return f"salt{i}"
    raise AssertionError("no salt splits these runners usably")


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def test_retrain_promote_serve_mid_stream_refuse_worse_and_roll_back(
    model_dir, tmp_path, settings_factory, consumers, unique,
) -> None:
    registry = Registry(tmp_path / "registry")
    v1 = registry.add(Path(model_dir)).name
    registry.set_current(v1)
    # The replay pool as `barunrun model bootstrap --registry` leaves it: the first model's
    # own training runners (the `test` recipe's, seed 7: the same simulated data).
    write_dataset(tmp_path / "seed-data", normal_runners=12, abnormal_runners=0, frames=300,
                  seed=7)
    files, users = replay.recordings_with_users([tmp_path / "seed-data" / "normal"])
    assert replay.add_to_pool(registry.replay_dir, files, users, max_runs=48,
                              frames_per_run=300) == 12
    archive = tmp_path / "archive"
    shares = (0.5, 0.0, 0.5)
    settings = settings_factory(
        partitions=2,
        topics={"labels": f"t{unique}.pose.labels"},
        model={"dir": str(registry.current_link), "reload_interval_s": 0.3},
        archive={"dir": str(archive), "group_id": f"t{unique}-archive",
                 "labels_group_id": f"t{unique}-labels", "flush_records": 300,
                 "flush_interval_s": 0.3, "split": list(shares)},
        # A tiny model judged on ~7 held-out users: any change of weights moves their AUC by
        # a few hundredths (docs/model-lifecycle.md), so wider tolerances than production's,
        # and a gentle fine-tune (1 epoch at 1e-4). What is tested is the loop: promote,
        # serve mid-stream, refuse a worse challenger, roll back.
        lifecycle={"registry": str(registry.root), "finetune_epochs": 1,
                   "finetune_learning_rate": 1e-4, "min_eval_windows": 40,
                   "far_tolerance": 0.05, "detection_tolerance": 0.05, "auc_tolerance": 0.06},
        personal={"min_windows": 10},
    )
    create_topics(settings.kafka.bootstrap, [settings.topics.labels], 2)
    running = consumers(settings)
    assert running.service.reloader.current.version == v1

    # 1. Collect: stream, archive, label.
    first = stream_runners(settings, runners=RUNNERS, duration_s=SECONDS, fault_rate=FAULT_RATE,
                           realtime=False, seed=31, user_prefix="lc")
    salt = usable_salt(first, shares)
    settings = settings.with_overrides(archive={"split_salt": salt})
    cli = Cli(write_config(settings, tmp_path / "barunrun.toml"), tmp_path)
    archiver = cli.start("archive")
    submit_labels(settings, truth_labels(first))
    assert cli.json("labels", "ingest", "--until-idle", "2")["stored"] == len(
        truth_labels(first))
    wait_for(lambda: (archive / "frames").is_dir()
             and len(read_frames(archive, columns=["frame"])) >= first.frames_sent, 120,
             "the first runners' frames in the archive")

    # 2. Retrain while runners stream: promoted, then served mid-stream.
    stop = threading.Event()
    live: list[StreamSummary] = []
    streamer = threading.Thread(target=lambda: live.append(stream_runners(
        settings, runners=3, duration_s=300, fault_rate=0.0, realtime=True, seed=32,
        user_prefix="live", stop=stop)), daemon=True)
    streamer.start()
    promoted = cli.json("retrain", "--seed", "1")
    assert promoted["decision"] == "promoted", promoted["reasons"]
    v2 = promoted["current_after"]
    assert v2 != v1 and registry.current() == v2
    assert promoted["champion"]["version"] == v1 and promoted["challenger"]["version"] == v2
    assert promoted["data"]["eval_users"] and promoted["data"]["train_windows"] > 0
    assert promoted["data"]["replay_windows"] > 0  # trained against forgetting too
    info = "barunrun_model_info"
    wait_for(lambda: running.value(info, {"version": v2}) == 1, 90, "the consumer to serve v2")
    assert running.value(info, {"version": v1}) == 0
    scored_since = running.value("barunrun_windows_scored_total")
    wait_for(lambda: running.value("barunrun_windows_scored_total") > scored_since + 30, 60,
             "live windows scored by v2")
    stop.set()
    streamer.join(60)
    assert live and live[0].frames_sent > 0

    # 3. Corrupted labels: the training users' labels inverted (faulty runs called normal,
    # normal runs abnormal) and no replay of older normal data, so the challenger learns
    # faulty running as normal; it must lose on the held-out users and be refused. (Calling
    # only the faulty runs normal is not enough: a full retrain on this population's own
    # runs can still beat a champion trained on other simulated runners.)
    train_users = set(split_users([r.user_id for r in first.runners], shares, salt)["train"])
    train_faulty = {r.user_id for r in first.runners if r.fault and r.user_id in train_users}
    corrupted = truth_labels(first, wrong_for=train_faulty, at=2_000,
                             abnormal_for=train_users - train_faulty)
    submit_labels(settings, corrupted)
    cli.json("labels", "ingest", "--until-idle", "2")
    # Judged by production's tolerances (the defaults in consumer/settings.py): the wide ones
    # above let a model trained on what archive timing put in it pass by a few hundredths.
    production = LifecycleSettings()
    refused = cli.json("retrain", "--full", "--epochs", "4", "--seed", "2", env={
        "BARUNRUN_LIFECYCLE_FAR_TOLERANCE": str(production.far_tolerance),
        "BARUNRUN_LIFECYCLE_DETECTION_TOLERANCE": str(production.detection_tolerance),
        "BARUNRUN_LIFECYCLE_AUC_TOLERANCE": str(production.auc_tolerance),
        "BARUNRUN_LIFECYCLE_REPLAY_RATIO": "0",
    })
    assert refused["decision"] == "refused", refused
    assert refused["reasons"] and registry.current() == v2
    assert refused["champion"]["version"] == v2

    # 4. Roll back: one command, the consumer follows.
    back = cli.json("model", "rollback")
    assert back["current_after"] == v1 and registry.current() == v1
    wait_for(lambda: running.value(info, {"version": v1}) == 1, 90, "the consumer to serve v1")

    # 5. The audit: no window lost or changed across the swaps; versions switch once.
    audit = collect(settings, first.frames_sent + live[0].frames_sent)
    assert not audit.problems(), audit.problems()
    for runner in live[0].runners:
        rows = sorted((s["window_end_frame"], s["model_version"])
                      for s in audit.scores.first.values() if s["user_id"] == runner.user_id)
        versions = [v for _, v in rows]
        switch = versions.index(v2)
        assert set(versions[:switch]) == {v1} and set(versions[switch:]) == {v2}, runner.user_id
    entries = history.read_history(registry.history_path)
    assert [(e["action"], e["decision"]) for e in entries] == [
        ("retrain", "promoted"), ("retrain", "refused"), ("rollback", "rolled_back")]
    assert all(e["seconds"]["total"] > 0 for e in entries[:2])
    # personal_z beside the global threshold, in events and score records.
    raw = list(audit.events.first.values())
    assert raw and all("personal_z" in e for e in raw)
    assert any(e["personal_z"] is not None for e in raw)
    assert len(read_scores(archive)) > 0
    archiver.terminate()
    archiver.wait(30)
    assert not running.errors
    assert os.readlink(registry.current_link) == v1
