"""Gait metrics and coaching cues: pure, vectorised numpy, the same for serving, training and
evaluation (docs/metrics.md).

* ``compute_window_metrics(windows, frames)`` -> ``WindowMetrics``: every metric of a batch of
  windows, NaN where its view does not show it;
* ``rolling.update_from_window`` / ``RollingGait``: the per-runner state across windows
  (cadence, asymmetry, short averages), ``state_codec.encode``/``decode`` as bytes;
* ``combined_values``: a batch's metrics with the rolling state put in;
* ``RulesDetector``: cues from the rule table ``cues.toml``;
* ``assess``: all of it for runners' windows in time order, cues confirmed over two windows
  (what the consumer's ``serving.GaitStage`` runs per poll batch);
* ``compute_recording_metrics(frames, landmarks)``: all of it for a whole recording.
"""

from consumer.gait.combined import combined_values, window_report
from consumer.gait.cues import CueFlags, RaisedCue, RulesDetector, load_table
from consumer.gait.recording import RecordingMetrics, compute_recording_metrics
from consumer.gait.rolling import RollingGait, update, update_from_window
from consumer.gait.specs import METRIC_NAMES, METRICS, MetricSpec
from consumer.gait.state_codec import decode, encode
from consumer.gait.stateful import Assessed, assess
from consumer.gait.view import VIEWS
from consumer.gait.window import WindowMetrics, compute_window_metrics

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "VIEWS",
    "Assessed",
    "CueFlags",
    "MetricSpec",
    "RaisedCue",
    "RecordingMetrics",
    "RollingGait",
    "RulesDetector",
    "WindowMetrics",
    "assess",
    "combined_values",
    "compute_recording_metrics",
    "compute_window_metrics",
    "decode",
    "encode",
    "load_table",
    "update",
    "update_from_window",
    "window_report",
]
