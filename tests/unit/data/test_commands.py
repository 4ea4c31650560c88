"""The data commands without a broker: retention and compaction runs, and the labels report
as a table and as JSON (the ingest and archive loops run in the integration tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consumer.archive.loop import Archiver, ArchiverConfig
from consumer.cli import COMMANDS, main
from consumer.labels.store import LabelStore, Source


@pytest.fixture
def archive_dir(tmp_path: Path, kit) -> Path:
    root = tmp_path / "archive"
    kafka = kit.FakeKafka()
    kafka.send_frames("ann", "s1", range(60))
    kafka.send_frames("bob", "s1", range(40), partition=1)
    archiver = Archiver(ArchiverConfig(root, kit.FRAMES_TOPIC, kit.SCORES_TOPIC,
                                       flush_records=25, flush_interval_s=3600),
                        kafka.source(batch=25))
    for _ in range(10):
        archiver.step()
    archiver.flush()
    s = kit.submission
    with LabelStore(root / "labels.sqlite") as store:
        store.add([(item.submission, Source()) for item in kit.stored(
            s("alice", 0, 59, "abnormal", "limp", user="ann"),
            s("bob", 30, 59, "normal", user="ann"),
            s("bob", 0, 5, "normal", user="nobody"),
        )])
    return root


def test_labels_report_prints_a_table_and_json(archive_dir: Path, capsys) -> None:
    argv = ["labels", "report", "--archive", str(archive_dir), "--labels-db",
            str(archive_dir / "labels.sqlite")]
    assert main([*argv, "--json"], COMMANDS) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["coverage"]["archived_frames"] == 100
    assert report["coverage"]["labelled_frames"] == 60
    assert report["unresolved_ranges"][0]["start_frame"] == 30  # a tie, nobody trusted
    assert report["dangling"][0]["problem"] == "unknown user"
    assert main(argv, COMMANDS) == 0
    text = capsys.readouterr().out
    for expected in ("Labels: summary", "60.0% coverage", "labellers disagree", "unresolved",
                     "unknown user", "alice / bob"):
        assert expected in text, expected


def test_labels_report_without_a_store_fails_in_one_line(tmp_path: Path, capsys) -> None:
    code = main(["labels", "report", "--labels-db", str(tmp_path / "none.sqlite")],
                COMMANDS)
    assert code == 5
    assert "label store" in capsys.readouterr().err


def test_archive_retention_dry_run_and_compaction(
    archive_dir: Path, tmp_path: Path, capsys
) -> None:
    config = tmp_path / "small.toml"
    config.write_text("[archive]\nmax_bytes = 1\n")
    files = sorted(archive_dir.rglob("*.parquet"))
    argv = ["archive", "--config", str(config), "--dir", str(archive_dir), "--retention"]
    assert main([*argv, "--dry-run"], COMMANDS) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] is True and plan["deleted_by_size"] == len(files)
    assert sorted(archive_dir.rglob("*.parquet")) == files  # a dry run deletes nothing
    assert main(["archive", "--dir", str(archive_dir), "--compact"], COMMANDS) == 0
    assert "compacted_files" in json.loads(capsys.readouterr().out)


def test_a_bad_label_on_the_command_line_is_refused_before_any_broker(capsys) -> None:
    code = main(["label", "--user", "ann", "--start", "5", "--end", "1", "--label", "normal",
                 "--labeller", "x"], COMMANDS)
    assert code == 2
    assert "end_frame 1 is before start_frame 5" in capsys.readouterr().err
