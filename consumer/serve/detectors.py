"""The models behind ``[detectors] enabled``: the autoencoder, the classifier, or both.

``DetectorScorer`` is one ``Scorer`` over the enabled models, so the batch processor still
makes one ``score`` call per batch (each model scores the whole batch in fixed-shape chunks)
and the loop, the reloader protocol and the score records stay as they are:

* ``score``, ``threshold``, ``model_version``, ``top_joints`` and validity come from the
  *primary* model: the autoencoder when it is served (the contract's score and its joints),
  else the classifier (score = P(bad form), threshold = its decision threshold);
* ``DetectorResult.flagged_by`` says, per window, which models flagged it (what the processor
  puts in the event's ``detectors``, beside ``rules``), and ``extras`` what the event gains:
  ``classifier_probability``, ``classifier_threshold``, ``classifier_version`` whenever the
  classifier scored the window, and ``fault`` / ``fault_probability`` when the classifier
  flagged it and has a fault head.

A window counts only where the primary model accepted it (its feature rules), so an event
never goes out without the primary score it is keyed on.

The loop gets its ``DetectorScorer`` from ``consumer.serve.model_source.DetectorModels``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from consumer.features.runner_level import Runs
from consumer.gait.serving import AUTOENCODER, CLASSIFIER
from consumer.model.base import Scorer, ScoreResult

MODEL_DETECTORS: tuple[str, ...] = (AUTOENCODER, CLASSIFIER)


def serves_autoencoder(detectors: tuple[str, ...]) -> bool:
    """The autoencoder runs when enabled, and when no other model is (``rules`` alone keeps
    it for the scores it records, as before the classifier existed)."""
    return AUTOENCODER in detectors or CLASSIFIER not in detectors


@dataclass(frozen=True)
class DetectorResult(ScoreResult):
    """The primary model's ``ScoreResult`` plus, per window, who flagged it and extras."""

    flagged_by: tuple[tuple[str, ...], ...] = ()
    extras: tuple[Mapping[str, Any], ...] = ()


class DetectorScorer:
    """Implements ``consumer.model.base.Scorer`` over the served models."""

    def __init__(self, autoencoder: Scorer | None, classifier: Scorer | None) -> None:
        primary = autoencoder or classifier
        if primary is None:
            raise ValueError("serve at least one model")
        if autoencoder is not None and classifier is not None \
                and autoencoder.window_size != classifier.window_size:
            raise ValueError(f"the autoencoder scores {autoencoder.window_size}-frame windows, "
                             f"the classifier {classifier.window_size}-frame ones")
        self.autoencoder = autoencoder
        self.classifier = classifier
        self._primary = primary

    @property
    def version(self) -> str:
        return self._primary.version

    @property
    def threshold(self) -> float:
        return self._primary.threshold

    @property
    def window_size(self) -> int:
        return self._primary.window_size

    @property
    def versions(self) -> dict[str, str]:
        return {name: model.version for name, model in
                ((AUTOENCODER, self.autoencoder), (CLASSIFIER, self.classifier)) if model}

    @property
    def runner_relative(self) -> bool:
        """The autoencoder reads windows against the runner (pass ``Runs`` to ``score``)."""
        return bool(getattr(self.autoencoder, "runner_relative", False))

    @property
    def runner_channels(self) -> int:
        return int(getattr(self.autoencoder, "runner_channels", 0))

    def score(self, windows: np.ndarray, runs: Runs | None = None) -> DetectorResult:
        ae = None
        if self.autoencoder is not None:
            ae = (self.autoencoder.score(windows, runs) if runs is not None
                  else self.autoencoder.score(windows))
        clf = self.classifier.score(windows) if self.classifier is not None else None
        primary = ae if ae is not None else clf
        assert primary is not None  # the constructor refuses no model at all
        valid = primary.valid
        flags = {name: valid & result.is_anomaly for name, result in
                 ((AUTOENCODER, ae), (CLASSIFIER, clf)) if result is not None}
        is_anomaly = np.logical_or.reduce(list(flags.values()))
        n = len(primary)
        flagged_by = tuple(tuple(name for name, f in flags.items() if f[i]) for i in range(n))
        extras: tuple[Mapping[str, Any], ...] = tuple({} for _ in range(n))
        if clf is not None and self.classifier is not None:
            extras = self._classifier_extras(clf, flags[CLASSIFIER], self.classifier)
        return DetectorResult(
            scores=primary.scores, valid=valid, invalid_reasons=primary.invalid_reasons,
            is_anomaly=is_anomaly, top_joints=primary.top_joints,
            runner_levels=ae.runner_levels if ae is not None else (),
            flagged_by=flagged_by, extras=extras,
        )

    @staticmethod
    def _classifier_extras(
        clf: ScoreResult, flagged: np.ndarray, classifier: Scorer
    ) -> tuple[Mapping[str, Any], ...]:
        fault_of = getattr(clf, "fault", None)  # ClassifierResult.fault: the fault head
        threshold = round(float(classifier.threshold), 4)
        out: list[Mapping[str, Any]] = []
        for i, probability in enumerate(clf.scores.tolist()):
            if not np.isfinite(probability):
                out.append({})
                continue
            fields: dict[str, Any] = {
                "classifier_probability": round(probability, 4),
                "classifier_threshold": threshold,
                "classifier_version": classifier.version,
            }
            # The fault head is trained on faulty windows only: its guess is a statement
            # about windows the classifier itself calls bad form, not about the others.
            guess = fault_of(i) if fault_of is not None and flagged[i] else None
            if guess is not None:
                fields["fault"], fields["fault_probability"] = guess[0], round(guess[1], 4)
            out.append(fields)
        return tuple(out)
