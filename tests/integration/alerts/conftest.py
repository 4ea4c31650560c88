"""Simulated runners for the alert tests, sent as a phone would (one frame message each,
keyed by user_id), with frame timestamps 30 fps apart ending about now."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pytest
from kafka import KafkaProducer

from consumer.frames import encode_frame
from consumer.settings import Settings
from consumer.stack import create_topics
from producer_sim.faults import FaultPlan
from producer_sim.profile import RunnerProfile
from producer_sim.runner import simulate_session

FPS = 30
# Faults the current model flags clearly (docs/model.md, docs/alerts.md): hunched_head seen
# from the side at full severity flags every window once the 1.5 s ramp is over.
CLEAR_FAULT, CLEAR_VIEW = "hunched_head", "side"


@dataclass
class Runner:
    user_id: str
    session_id: str
    frames: np.ndarray  # frame numbers sent (tracker dropouts left out)
    landmarks: np.ndarray
    onset: int | None = None
    end: int | None = None


def render(user: str, n_frames: int, seed: int, view: str | None = None,
           onset: int | None = None, end: int | None = None) -> Runner:
    rng = np.random.default_rng([seed, 13])
    profile = RunnerProfile.random(rng, user, view=view)
    plans = [FaultPlan(CLEAR_FAULT, 1.0, onset, end)] if onset is not None else []
    session = simulate_session(profile, n_frames, plans, seed=seed, session_id="s1")
    keep = ~np.isnan(session.landmarks).any(axis=1)
    return Runner(user, "s1", session.frames[keep], session.landmarks[keep], onset, end)


class FrameSender:
    """Sends runners' frames; ``ts_ms`` = a fixed start + frame / 30 s, so that window time
    does not depend on how fast the test sends."""

    def __init__(self, settings: Settings, n_frames: int) -> None:
        self._settings = settings
        self._producer = KafkaProducer(**settings.kafka.client_options(), acks="all",
                                       linger_ms=5)
        self.start_ms = int(time.time() * 1000) - n_frames * 1000 // FPS
        self.sent = 0

    def send(self, runners: list[Runner], first: int, stop: int) -> None:
        """Frames ``first <= frame < stop`` of every runner, interleaved as in real time."""
        rows = sorted(
            (int(f), i, j) for i, r in enumerate(runners)
            for j, f in enumerate(r.frames) if first <= f < stop
        )
        for frame, i, j in rows:
            runner = runners[i]
            value = encode_frame(runner.user_id, frame, self.start_ms + frame * 1000 // FPS,
                                 runner.landmarks[j], session_id=runner.session_id)
            self._producer.send(self._settings.topics.frames, key=runner.user_id.encode(),
                                value=value)
            self.sent += 1
        self._producer.flush(30)

    def close(self) -> None:
        self._producer.close(5)


@pytest.fixture
def alert_settings(settings_factory, unique):
    """``build(**sections)``: the test's settings with its own alerts topics (created)."""

    def build(partitions: int = 2, **sections: dict) -> Settings:
        topics = {"alerts": f"t{unique}.pose.alerts", "alerts_dlq": f"t{unique}.pose.alerts.dlq",
                  **sections.pop("topics", {})}
        settings = settings_factory(partitions=partitions, topics=topics, **sections)
        create_topics(settings.kafka.bootstrap, [topics["alerts"], topics["alerts_dlq"]],
                      partitions)
        return settings

    return build


@pytest.fixture
def sender():
    opened: list[FrameSender] = []

    def build(settings: Settings, n_frames: int) -> FrameSender:
        opened.append(FrameSender(settings, n_frames))
        return opened[-1]

    yield build
    for one in opened:
        one.close()


def alerts_of(messages: list[dict], user: str) -> list[dict]:
    return [m for m in messages if m["user_id"] == user]
