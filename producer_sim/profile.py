"""One simulated runner: body, normal gait, camera set-up and tracker quality."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from consumer.errors import ConfigError
from producer_sim.body import Body
from producer_sim.camera import Camera
from producer_sim.faults import VIEWS, check_views
from producer_sim.gait import GaitParams
from producer_sim.noise import TrackerNoise

FPS = 30.0
# A runner's tracker noise level relative to TrackerNoise's: lighting, clothes, phone.
NOISE_LEVEL_RANGE = (0.6, 1.6)


@dataclass(frozen=True)
class RunnerProfile:
    """Everything fixed about a runner for a session (faults and randomness come apart)."""

    runner_id: str
    view: str
    body: Body
    gait: GaitParams
    camera: Camera
    noise: TrackerNoise = field(default_factory=TrackerNoise)
    # Treadmill running is never perfectly in place: slow drift along and across the belt.
    drift_m: float = 0.1
    lateral_drift_m: float = 0.03
    heading_wobble_deg: float = 1.5
    fps: float = FPS

    def __post_init__(self) -> None:
        check_views([self.view])
        if self.camera.view != self.view:
            raise ConfigError(
                f"runner {self.runner_id}: camera view {self.camera.view!r} != {self.view!r}"
            )

    @property
    def cadence_spm(self) -> float:
        return self.gait.cadence_spm

    @property
    def height_m(self) -> float:
        return self.body.height_m

    @classmethod
    def random(
        cls, rng: np.random.Generator, runner_id: str, view: str | None = None
    ) -> RunnerProfile:
        """A normal runner with a random body, gait, camera (``view`` if given) and tracker."""
        if view is None:
            view = VIEWS[int(rng.integers(len(VIEWS)))]
        body = Body.random(rng)
        return cls(
            runner_id=runner_id,
            view=view,
            body=body,
            gait=GaitParams.random(rng, body),
            camera=Camera.random(rng, view, body),
            noise=TrackerNoise().scaled(float(rng.uniform(*NOISE_LEVEL_RANGE))),
            drift_m=float(rng.uniform(0.04, 0.15)),
            lateral_drift_m=float(rng.uniform(0.01, 0.05)),
            heading_wobble_deg=float(rng.uniform(0.5, 2.5)),
        )

    def with_view(self, rng: np.random.Generator, view: str) -> RunnerProfile:
        """The same runner filmed from another view (a new camera set-up)."""
        return replace(self, view=view, camera=Camera.random(rng, view, self.body))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; ``from_dict`` rebuilds the identical profile."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunnerProfile:
        return cls(
            **{k: v for k, v in data.items() if k not in ("body", "gait", "camera", "noise")},
            body=Body(**data["body"]), gait=GaitParams(**data["gait"]),
            camera=Camera(**data["camera"]), noise=TrackerNoise(**data["noise"]),
        )
