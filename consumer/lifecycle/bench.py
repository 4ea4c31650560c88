"""Fine-tune vs full retrain, and the drift metric, measured on simulated runners.

``python -m consumer.lifecycle.bench --out DIR [--runners 12] [--frames 300] [--json]``

Three simulated populations with different seeds (no runner in two of them):

* A (seed 1): the champion's training data; the champion is the ``test`` recipe of
  consumer/training/quick.py (10 epochs) unless ``--epochs`` says otherwise;
* B (seed 2): "new data from the archive": normal runners the champion never saw;
* C (seed 3): held-out users, normal and faulty, on which every model is evaluated.

Then, as ``barunrun retrain`` would: a warm-start fine-tune of the champion on B plus a replay
sample of A (replay.py), and a full retrain from scratch with the champion's recipe on the
same B + replay data; times and metrics of all three on C. Drift: the champion's PSI
(drift.py) against two references, its manifest's calibration quantiles and (what retrain
writes) quantiles of its scores on half of C's normal runners; measured on the other half's
normal windows, on those plus the faulty runners, and on the normal windows with extra
tracker jitter (Gaussian noise on x, y) as a stand-in for a new, noisier camera pipeline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from consumer.lifecycle import replay
from consumer.lifecycle.drift import DriftReference, psi_of_scores, reference_quantiles
from consumer.lifecycle.finetune import FinetunePlan, finetune, options_of
from consumer.training.train import TrainOptions, train
from consumer.windows.rules import WindowConfig

KEYS = ("false_alarm_rate", "detection_rate", "roc_auc", "windows_normal", "windows_abnormal")


def _evaluate(model_dir: Path, data: Any) -> dict[str, Any]:
    from consumer.model.artifact import load_scorer  # noqa: PLC0415
    from consumer.training.evaluate import evaluate_scorer  # noqa: PLC0415

    summary = evaluate_scorer(load_scorer(model_dir), data).summary
    out = {k: summary[k] for k in KEYS}
    out["detection_at_5pct_far"] = summary["detection_at_false_alarm"]["0.05"]
    return out


def run(out: Path, runners: int, frames: int, epochs: int, finetune_epochs: int) -> dict:
    from consumer.model.artifact import load_scorer  # noqa: PLC0415
    from consumer.model.manifest import read_manifest  # noqa: PLC0415
    from consumer.training.evaluate import load_evaluation_data  # noqa: PLC0415
    from producer_sim.dataset import write_dataset  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    for name, seed, normal, abnormal in (("A", 1, runners, 0), ("B", 2, runners, 0),
                                         ("C", 3, max(4, runners // 2), runners)):
        if not (out / name / "labels.csv").is_file():
            write_dataset(out / name, normal_runners=normal, abnormal_runners=abnormal,
                          frames=frames, seed=seed)
    results: dict[str, Any] = {"runners": runners, "frames": frames}
    champion_dir = out / "champion"
    options = TrainOptions(epochs=epochs, batch_size=32, hop=2, seed=0, learning_rate=3e-3)
    if not (champion_dir / "manifest.json").is_file():
        train([out / "A" / "normal"], champion_dir, options)

    pool = out / "pool"
    if not replay.pool_files(pool):
        files, users = replay.recordings_with_users([out / "A" / "normal"])
        replay.add_to_pool(pool, files, users, max_runs=48, frames_per_run=300)

    new, pool_paths = [out / "B" / "normal"], replay.pool_paths(pool)
    # A model already in OUT is reused; its manifest says how long its training took.
    if not (out / "finetuned" / "manifest.json").is_file():
        finetune(champion_dir, new, pool_paths, out / "finetuned",
                 FinetunePlan(epochs=finetune_epochs, learning_rate=5e-4, replay_ratio=1.0))
    if not (out / "full" / "manifest.json").is_file():
        train([*new, *pool_paths], out / "full", options_of(read_manifest(champion_dir)))
    for name in ("champion", "finetuned", "full"):
        trained = read_manifest(out / name).training
        results[f"{name}_train_s"] = trained["seconds"]
        results[f"{name}_train_windows"] = trained["train_windows"]

    config = WindowConfig(size=30, hop=5)
    data = load_evaluation_data([out / "C" / "normal"], [out / "C" / "abnormal"], config)
    for name in ("champion", "finetuned", "full"):
        results[name] = _evaluate(out / name, data)

    champion = read_manifest(champion_dir)
    calibration = DriftReference.from_threshold(champion.version, champion.threshold.to_dict())
    scorer = load_scorer(champion_dir)
    windows = data.windows
    runner = windows.window_groups
    normal_runners = sorted(set(runner[data.source == "normal"].tolist()))
    half = set(normal_runners[: len(normal_runners) // 2])
    in_reference = np.isin(runner, sorted(half))
    normal = (data.source == "normal") & ~in_reference
    faulty = data.source == "abnormal"
    scores = scorer.score(windows.windows).scores
    held_out = DriftReference.from_threshold(champion.version, {
        "score_quantiles": reference_quantiles(scores[in_reference])})
    assert calibration is not None and held_out is not None
    live = {"other_normal_runners": scores[normal],
            "other_normal_plus_faulty": scores[normal | faulty],
            "faulty_runners_only": scores[faulty]}
    rng = np.random.default_rng(0)
    for sigma in (0.002, 0.005, 0.01):
        noisy = windows.windows[normal].copy()
        xy = noisy.reshape(len(noisy), 30, 33, 4)[..., :2]
        xy += rng.normal(0, sigma, xy.shape).astype(np.float32)
        live[f"normal_jitter_{sigma}"] = scorer.score(noisy).scores
    drift = {f"{ref_name}:{name}": psi_of_scores(ref, values)
             for ref_name, ref in (("calibration", calibration), ("held_out", held_out))
             for name, values in live.items()}
    results["drift_psi"] = {k: round(v, 3) for k, v in drift.items()}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runners", type=int, default=12)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--finetune-epochs", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.out, args.runners, args.frames, args.epochs,
                         args.finetune_epochs), indent=2))


if __name__ == "__main__":
    main()
