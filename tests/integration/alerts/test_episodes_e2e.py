"""Alert episodes through the real broker, Redis, model and consumer.

A runner whose fault starts and ends mid-session gets exactly one `opened`, a few `update`s
and one `resolved` after the fault ended; a runner whose stream stops mid-fault gets its
`resolved` from the idle sweep; normal runners get (almost) none.
"""

from __future__ import annotations

import pytest

from consumer.alerts.tail import alert_line

from .conftest import CLEAR_VIEW, alerts_of, render

pytestmark = pytest.mark.integration

FRAMES = 1800  # 60 s at 30 fps
ONSET, END = 450, 1050  # the fault: 15 s to 35 s


def test_fault_mid_session_gives_one_episode_and_idle_ones_are_swept(
    alert_settings, consumers, reader, sender, all_windows_scored, serve_kit, capsys
) -> None:
    settings = alert_settings(alerts={"idle_after_s": 8.0, "sweep_interval_s": 1.0})
    running = consumers(settings)
    faulty = render("ep-fault", FRAMES, seed=101, view=CLEAR_VIEW, onset=ONSET, end=END)
    # This runner's stream stops 10 s into its fault: no window ever comes to resolve it.
    stops = render("ep-stops", FRAMES, seed=102, view=CLEAR_VIEW, onset=ONSET)
    kept = stops.frames < ONSET + 300
    stops.frames, stops.landmarks = stops.frames[kept], stops.landmarks[kept]
    normal = [render(f"ep-normal-{i}", FRAMES, seed=110 + i) for i in range(4)]
    frames = sender(settings, FRAMES)
    frames.send([faulty, stops, *normal], 0, FRAMES)
    all_windows_scored(settings, frames.sent, timeout_s=180)
    alerts = reader(settings, settings.topics.alerts)
    serve_kit.wait_for(
        lambda: any(m["type"] == "resolved" for m in alerts_of(alerts.values(), "ep-stops")),
        60, "the idle sweep to resolve the stopped runner's episode")
    messages = alerts.values()
    assert not running.errors
    with capsys.disabled():
        print("\n" + "\n".join(alert_line(m) for m in messages))

    mine = alerts_of(messages, "ep-fault")
    kinds = [m["type"] for m in mine]
    assert kinds.count("opened") == 1 and kinds.count("resolved") == 1, kinds
    assert kinds[0] == "opened" and kinds[-1] == "resolved"
    # Updates at most every update_interval_s (5 s) of a 20 s fault.
    assert kinds.count("update") <= (END - ONSET) / 30 / 5 + 1
    assert len({m["alert_id"] for m in mine}) == 1
    assert [m["seq"] for m in mine] == list(range(len(mine)))
    opened, resolved = mine[0], mine[-1]
    assert opened["end_frame"] >= ONSET
    assert opened["windows"]["last"] == f"ep-fault:s1:{opened['end_frame']}"
    assert resolved["resolved_reason"] == "clean"
    assert END - 60 <= resolved["end_frame"] <= END + 90
    assert resolved["start_frame"] >= ONSET - 60
    assert resolved["fault"] == "hunched_head" and resolved["cue"]["text"]
    assert resolved["score_ratio"]["peak"] >= resolved["score_ratio"]["mean"] > 1
    assert resolved["alert_id"] == f"ep-fault:s1:{resolved['start_frame'] + 29}"

    idle = alerts_of(messages, "ep-stops")
    assert [(m["type"], m["resolved_reason"]) for m in idle] == [
        ("opened", None), *[("update", None)] * (len(idle) - 2), ("resolved", "idle")]

    false_alarms = [m for m in messages if m["user_id"].startswith("ep-normal")
                    and m["type"] == "opened"]
    assert len(false_alarms) <= 1, false_alarms  # 4 min of normal running
    assert running.value("barunrun_alert_episodes_opened_total") >= 2
    assert running.value("barunrun_alert_episodes_resolved_total", {"reason": "idle"}) == 1
    assert running.value("barunrun_alert_episodes_resolved_total", {"reason": "clean"}) >= 1
