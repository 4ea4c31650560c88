"""The text of docs/metrics.md around the generated tables."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from consumer.gait.cues import CueRule
from consumer.gait.evaluate.accuracy import ErrorRow, Errors
from consumer.gait.evaluate.collect import EvaluationPlan
from consumer.gait.evaluate.confusion import Confusion
from consumer.gait.evaluate.doc import (
    cue_table,
    detection_table,
    error_table,
    false_alarm_table,
    headline,
    matrix_table,
    metric_table,
    onset_table,
    plan_text,
    relative_cues,
    verdict,
)

INTRO = """\
# Running metrics and coaching cues

An anomaly score says "this looks unusual"; a runner needs "you are overstriding: land with
your foot closer under your hips", and a coach the numbers behind it. `consumer/gait/` turns
every 30-frame window into interpretable gait metrics, keeps a small per-runner state across
windows, and raises coaching cues from a rule table. The same functions serve the consumer,
`barunrun metrics`, `barunrun report` and this evaluation.

```
windows (N, 30, 132) ─► view + image scale ─► gait events ─► metrics (N,) each, with confidence
                         (view.py)             (events.py)    (sagittal.py, frontal.py, timing.py)
                                                                   │
 rolling state per runner (rolling.py, bytes in Redis) ◄───────────┤ cadence, asymmetry pooled
                                                                   ▼ over 4 s; short averages;
                                                                     the runner's usual levels
    cue table (cues.toml) ─► rules detector ─► confirmed on 2 windows ─► cues (id, en/ko, severity)
```

```python
from consumer.gait import compute_window_metrics, compute_recording_metrics, RulesDetector
metrics = compute_window_metrics(windows, window_frames)        # one call per batch
done = stateful.assess(metrics, window_frames, [(state, n)], RulesDetector())
done.values, done.flags.cues(i), done.final                     # shown metrics, cues, state
```

```bash
barunrun metrics data/sim/abnormal --json       # per recording: view, medians, cues
barunrun report --session data/sim/abnormal/runner-s1-a000.csv --out report/   # HTML page
python -m consumer.gait.evaluate --out docs/metrics.md   # regenerates this page's numbers
```
"""

HOW = """\
## How each metric is measured

**Camera view.** Seen from the side the feet travel across the picture and the body has no
width; from the front the feet travel in depth and the width is all there is. The ratio of the
feet's forward-back travel to the hips' + shoulders' width, both in x (so the picture's aspect
ratio cancels), grows like tan(azimuth): below 1.3 front, above 6.5 side, oblique between.

**Image scale.** x is a share of the image width and y of its height. Segments keep their
length while they swing, so per window the horizontal scale k with length² = (k·dx)² + dy²
as constant as possible over thighs, shanks, upper arms and forearms is a closed-form least
squares fit; x·k is then a sagittal distance in y's units (exact in side views, 10-20 % short
in oblique ones, where limbs also move in depth). Leg length (standing hip height, what
relative metrics divide by) comes from the fitted thigh + shank lengths (side, oblique) or from
the trunk and body proportions (front; Drillis & Contini ratios in Winter's *Biomechanics and
Motor Control of Human Movement*).

**Events.** Steps: the pelvis is lowest once per step (the hip midpoint's image y peaks),
found by vectorised peak picking with a width set by the window's own autocorrelation period.
Contacts (side, oblique): the heel is furthest ahead of the pelvis just before contact (Zeni
et al. 2008, Gait & Posture 27:710-714); the swing foot is then pulled back under the body, so
the landing itself is timed a few frames later, where the heel's or the toe's image height
stops falling (two lines fitted to the next 6 frames; the earlier of heel and toe). Toe-offs
mirror this in time. Front views read frontal metrics around mid-stance (the step events, the
stance foot being the lower one).

**Frontal plane.** Lateral offsets are measured along the hips' direction in the picture's
(x, z) plane (MediaPipe's z is on x's scale): from the front that is x itself, from an oblique
camera it separates sideways from forward motion. Lateral distances are taken in units of the
hip landmarks' separation and turned into leg lengths by body proportions.

**Rolling state.** A window holds about three steps; the per-runner state pools the steps of
the last 4 s (each seen by 2-3 overlapping windows: confirmed when two saw it) for cadence and
step-time asymmetry, the complete stances of both feet for stance-time asymmetry, keeps the
runner's usual cadence (a 30-s average that stops following during a drop), short averages
(about 1.5 s) of the metrics read from a few events per window, and the runner's usual trunk
lean, overstride, foot strike and pelvic drop. It is a frozen dataclass with a pure `update`
and a 250-550-byte `encode`/`decode`, kept beside the window in Redis.

**Changes against the runner.** Normal runners differ in trunk lean, overstride, foot strike
and pelvic drop by about as much as a fault moves them, and a camera set-up biases the
contact readings by a few degrees (Known limits), but one runner filmed by one camera reads
steadily. So the state learns each runner's usual level of these four (the median of the
windows' own values over the first 3 s, trusted once the runner's short average has come
back to it and learned again if it does not within 3 s; then a 30-s average that stops
following a rise beyond a hold set below the cue's threshold) and reports the rise above
it: `trunk_lean_change_deg`, `overstride_change_rel`, `foot_strike_change_deg`,
`pelvic_drop_change_deg`. Their cues fire on the absolute value *or* on the change, as
`low_cadence` does on the cadence or its drop against the usual cadence. The levels belong
to the camera view they were learned in: a view misread for a few windows neither updates
nor reads them, and only 3 s in another view starts them afresh. A change can only show a
fault that sets in during the run (fatigue, an injury); a runner who runs with the fault
from the first step teaches it as usual, and only the absolute thresholds see it (measured
below, "From the first step").

**Validity and confidence.** Each metric is reported only in its views (table below) and only
when its confidence (visibility of the landmarks it reads, scaled 0 at 0.3 to 1 at 0.8 as
public tools filter keypoints, times the evidence it rests on, e.g. contacts seen, times how
clearly the view was recognised) is at least 0.25.
"""

SERVING = """\
## In the consumer

With a gait stage (`consumer/gait/serving.py`, built by `consumer/serve/app.py`) the batch
processor runs the metrics on every completed window of a poll batch in one call (the same
array the autoencoder scores), folds each runner's rolling state (kept in the window state's
`extra` bytes in Redis, written with the window under the same compare-and-set) and applies
the rules. Detectors are chosen by `[detectors] enabled = ["autoencoder", "rules"]` (either
or both); a window flagged by an enabled detector becomes an anomaly event, whose new fields
are `detectors` (which flagged it), `view`, `metrics` (the shown values, names as above),
`metric_confidence` and `cues` (`id`, `text`, `severity`, `text_ko`, `metric`, `value`,
`threshold`, `release`); no contract field changes. A rules-only event carries the model's
score and threshold as usual (the window was scored) with an empty `top_joints` unless the
model flagged it too.

Cost, measured on the shared two-core development machine in batches of 240 windows: about
0.3 ms per window for the metrics and 0.3 ms for the rolling state and the rules (Python per
runner; the state is 250-550 bytes).

## Runner report

`barunrun report --session FILE --out DIR [--model DIR]` writes one self-contained page:
the cues in English and Korean, the run's medians against their normal ranges, every metric
over time with the cue thresholds and flagged windows (and the autoencoder's score with
`--model`), stick figures of the three worst moments and a table of flagged windows. Checked
in headless Chromium; the top of the page for a simulated overstriding runner (side view,
fault from 10 s; with the model above):

![a runner report](img/report_example.png)
"""

LIMITS = """\
## Known limits

- Everything here is measured on the simulator (`producer_sim`), whose tracker noise is a
  first estimate until issue 11 calibrates it on real MediaPipe output; the thresholds are
  heuristics tuned on simulated runners of seeds 1-8, not validated clinical norms.
- Body proportions (hip width, trunk and forearm over leg length) scale the frontal metrics
  and the front-view leg length; a runner far from average proportions reads a few percent
  off. Camera roll (a tripod not level, +-1.5 deg here) adds directly to the trunk lean.
- Contact timing is the limit of the contact metrics (overstride, shank angle, foot strike):
  at 30 fps the foot lands within one frame and the heel then moves back with the belt by
  about an eighth of a leg length per frame. Foot strike (heel versus forefoot) is the
  weakest cue: the heel-toe line's angle in the picture also depends on the camera's height
  and the foot's toe-out, which differ from set-up to set-up by as much as heel striking
  changes it. Measured on the tuning seeds (side views, values as shown): the error is mostly
  per session (its mean varies by 3 deg between sessions, 6 deg obliquely, against 2-3 deg
  within one), and the reading is compressed to about half the true difference between
  forefoot and heel strikes (+5 deg bias on normal runners, -5 deg on heel strikers), since
  the pitch changes by 6-10 deg per frame around contact. Reading the pitch half a frame
  or a frame earlier, from unsmoothed landmarks, relative to the flat foot at mid-stance, or
  replacing it with the delay between the heel's and the toe's landing or the toe's drop after
  the heel lands, or a linear fit of all of these, separated heel strikes from normal windows
  no better than 65-74 % at 2 % false alarms per window. What does separate them is the
  runner's own earlier foot strike: the per-session bias cancels, and a switch to heel
  striking reads as a rise of 4-22 deg (session medians, tuning seeds 1-4) against 2-3 deg
  of noise. So heel striking is caught when it sets in during a run; a runner who
  heel-strikes from the first step is caught only by the absolute threshold, on a minority
  of windows (table "From the first step").
- The same change reading also rises when the contact timing shifts without the foot angle
  changing: when a runner starts bouncing (session medians +0.6 to +5.6 deg from the side,
  up to +14 deg obliquely, tuning seeds 1-4, where the simulator's true foot angle at
  contact stays the same) or drops the cadence (up to +7 / +10 deg). Those windows raise
  the heel-striking cue beside their own (the matrix above: `vertical_oscillation` and
  `low_cadence` rows). Overstriding raises it rightly: the simulator's overstrider lands
  mostly on the heel.
- A cue held down to its release level lasts longer, on a fault and on a false alarm alike.
  Most misses of side-view overstriding and heel striking were a window or two where the
  rise dipped just under its threshold; holding the change cues to half their rise lifted
  those pairs from 89.6 % to 93.7 % and from 87.4 % to 92.2 % on these seeds, for 0.3 points
  more false alarms (3.7 % to 4.0 %) and more cross-fire where another fault nudges a change
  reading over its threshold (hunched head raising trunk lean on 41 % of its windows, 29 %
  before; low cadence raising overstriding on 16 %, 7 % before).
- A fault that sets in within seconds of the usual level being learned can become the usual
  level: a level is trusted only once the runner runs at it and learned again if they do not
  (a first reading unlike the rest), and that cannot tell a fault rising right after the
  warm-up from a level first read too low. Two of the 24 side-view overstriders of tuning
  seeds 5-8 read this way; the absolute threshold still catches most of their windows.
- Oblique views mix forward and sideways motion; their frontal metrics lean on MediaPipe's
  depth z, its noisiest output, so they use wider thresholds.
- A runner whose normal vertical oscillation is small can bounce more without leaving the
  normal range: the rule is on absolute values, like the public tools'.
- Cadence needs about 2 s of running (4 confirmed steps) before the pooled value replaces the
  window's own; the usual cadence needs 3 s more.
"""


def render(
    plan: EvaluationPlan,
    tune_seeds: Sequence[int],
    errors: Errors,
    rows: Sequence[ErrorRow],
    conf: Confusion,
    from_start: Confusion,
    rules: Sequence[CueRule],
    comparison: Sequence[str],
    images: Path,
) -> str:
    parts = [
        INTRO,
        "## Metrics\n",
        "Names are part of the JSON contract (`barunrun metrics --json`, anomaly events' "
        "`metrics`).\n",
        *metric_table(),
        "",
        HOW,
        "## Accuracy against the simulator's ground truth\n",
        plan_text(plan, tune_seeds) + " The value compared is the one a runner is shown "
        "(rolling state put in), against the same quantity measured on the simulator's 3D "
        "pose over the window's frames (`consumer/gait/evaluate/truth.py`); windows in a "
        "fault's 1.5-s ramp are left out. *reported*: share of windows with a true value that "
        "got a measured one. Distance is the camera's from the runner.\n",
        *headline(errors, rows),
        "",
        *error_table(rows),
        "",
        f"![measured against true values]({images.as_posix()}/metrics_accuracy.png)",
        "",
        "## Cue table\n",
        "From `consumer/gait/cues.toml` (data: edit it or pass another with `--cues`). A cue "
        "is raised when any of its conditions holds on a window and held on the runner's "
        "previous window too (each needs the metric's confidence >= 0.25; windows overlap "
        "by two thirds, so this costs a third of a second and halves the false alarms of "
        "one noisy window); beyond a condition's severe level its severity rises one step. "
        "Once raised, a cue stays raised while a condition stays beyond its release level "
        "(\"held to\" below; hysteresis: a fault read close to its threshold would "
        "otherwise blink on and off, and a held cue's `value` can be short of its "
        "`threshold`, never of its `release`); such a condition needs only its release "
        "level on the second of its two windows. "
        "A condition on a `*_change_*` metric or `cadence_drop_rel` reads the rise against "
        "the runner's usual level (Changes against the runner, above). "
        "**Thresholds are heuristics**: normal ranges from running-form.md and the literature "
        "it cites, thresholds between those and the faults' ranges, tuned on simulated "
        "runners of the tuning seeds.\n",
        *cue_table(rules),
        "",
        "## Fault-to-cue confusion\n",
        "Same held-out sessions. A faulty window is one at the fault's full weight on every "
        "frame, in a view that shows the fault (`producer_sim.faults.FAULTS`); a normal window "
        "has no fault on any frame (normal runners, and faulty sessions before the onset).\n",
        *verdict(conf),
        "",
        *detection_table(conf),
        "",
        "False alarms (normal windows raising any cue):\n",
        *false_alarm_table(conf),
        "",
        "The whole matrix (share of each row's windows raising each cue; the diagonal in "
        "bold; `.` under 0.5 %):\n",
        *matrix_table(conf),
        "",
        f"![fault-to-cue confusion]({images.as_posix()}/metrics_confusion.png)",
        "",
        "### From the first step\n",
        "The sessions above run normally for 5 s before the fault sets in, as a fault that "
        "comes with fatigue or an injury does, and the cues of these faults also fire on a "
        "change against the runner's usual level, learned in those seconds. The same runners "
        "with the fault from their first frame (same seeds, severities and cameras) leave "
        "only the absolute thresholds to catch it:\n",
        *onset_table(conf, from_start, relative_cues(rules)),
        "",
        "## The autoencoder and the rules side by side\n",
        *(comparison or [
            "Not run in this build: regenerate with `--model DIR` (a model trained by "
            "`barunrun train`, docs/model.md) to score the same windows with the autoencoder "
            "and compare detection, false alarms and their combination.",
        ]),
        "",
        SERVING,
        LIMITS,
    ]
    return "\n".join(parts)
