"""Model directories: training writes them, ``load_scorer`` reads them or says what is wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from consumer.errors import ModelArtifactError
from consumer.features import FeatureSpec
from consumer.model.artifact import load_manifest, load_scorer
from consumer.model.base import Scorer
from consumer.recording import LabelRange, write_labels, write_recording
from consumer.training.train import TrainOptions, train

TINY = {"epochs": 1, "batch_size": 32, "hop": 5, "network": {"units": 8}}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, runner) -> Path:
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for i in range(5):
        frames = runner(
            120, cadence=rng.uniform(160, 185), scale=rng.uniform(0.15, 0.35),
            facing=float(rng.choice([-1, 1])), noise=0.005, seed=i, start_phase=rng.uniform(0, 6),
        )
        write_recording(root / "normal" / f"runner-{i}.csv", np.arange(120), frames)
    write_recording(root / "abnormal" / "leaner.csv", np.arange(120),
                    runner(120, lean=0.7, noise=0.005, seed=9))
    write_labels(root / "labels.csv", [LabelRange("abnormal/leaner.csv", 30, 119, "trunk_lean")])
    return root


@pytest.fixture(scope="module")
def lstm_dir(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lstm")
    train([dataset / "normal"], out, TrainOptions(**TINY))
    return out


@pytest.fixture(scope="module")
def pca_dir(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pca")
    train([dataset / "normal"], out, TrainOptions(model="pca", hop=5))
    return out


@pytest.fixture
def copy_of(tmp_path):
    def make(source: Path) -> Path:
        target = tmp_path / source.name
        shutil.copytree(source, target)
        return target

    return make


@pytest.mark.parametrize("kind", ["lstm", "pca"])
def test_round_trip_gives_a_working_scorer(kind, lstm_dir, pca_dir, runner, cut):
    model_dir = lstm_dir if kind == "lstm" else pca_dir
    manifest = load_manifest(model_dir)
    scorer = load_scorer(model_dir)
    assert isinstance(scorer, Scorer)
    assert scorer.version == manifest.version
    assert scorer.version.startswith("ae-" if kind == "lstm" else "pca-")
    assert scorer.threshold == manifest.threshold.value > 0
    assert manifest.training["calibration_runners"]  # calibrated on held-out runners
    # Trained with the default features, whatever they are: the manifest records them.
    assert manifest.data["fingerprint"] and manifest.feature_spec == FeatureSpec()
    windows = cut(runner(60, seed=3))
    result = scorer.score(windows)
    assert len(result) == len(windows) and result.valid.all()
    assert np.isfinite(result.scores).all()
    np.testing.assert_array_equal(result.is_anomaly, result.scores > scorer.threshold)
    for joints in result.top_joints:
        assert len(joints) == 3 and sum(share for _, share in joints) <= 1.0 + 1e-6
        assert [s for _, s in joints] == sorted((s for _, s in joints), reverse=True)


def test_scoring_is_order_and_batch_independent(lstm_dir, runner, cut):
    scorer = load_scorer(lstm_dir, batch_sizes=(4, 16))
    windows = cut(np.concatenate([runner(150, seed=s) for s in (1, 2)]), hop=3)
    whole = scorer.score(windows).scores
    assert len(windows) > 16  # split into full batches plus a padded rest
    parts = np.concatenate([scorer.score(windows[i : i + 5]).scores for i in range(0, 90, 5)])
    np.testing.assert_allclose(parts[: len(whole)], whole[: len(parts)], rtol=1e-5, atol=1e-7)
    assert scorer.score(windows[:0]).scores.shape == (0,)


def test_padded_batches_match_the_unpadded_model(lstm_dir):
    scorer = load_scorer(lstm_dir, batch_sizes=(8, 32))
    runner = scorer.reconstructor
    x = np.random.default_rng(0).normal(size=(45, 30, scorer.pipeline.num_channels))
    x = x.astype(np.float32)
    direct = ((np.asarray(runner.model(x)) - x) ** 2).mean(axis=1)
    for n in (1, 7, 8, 9, 33, 45):
        np.testing.assert_allclose(runner.channel_errors(x[:n]), direct[:n], rtol=1e-4, atol=1e-6)


def test_invalid_windows_are_reported_not_scored(pca_dir, runner, cut):
    scorer = load_scorer(pca_dir)
    windows = cut(runner(60, seed=3))
    windows[1, :, 4 * 23 : 4 * 23 + 4] = np.nan  # no left hip at all in this window
    result = scorer.score(windows)
    assert not result.valid[1] and np.isnan(result.scores[1]) and not result.is_anomaly[1]
    assert result.invalid_reasons[1] and result.top_joints[1] == ()
    assert result.valid[[0, 2]].all()


def test_training_is_reproducible_with_a_seed(dataset, lstm_dir, tmp_path):
    again = train([dataset / "normal"], tmp_path / "again", TrainOptions(**TINY)).manifest
    first = load_manifest(lstm_dir)
    assert again.threshold.value == pytest.approx(first.threshold.value, rel=1e-6)
    assert again.history == first.history


def test_missing_directory_and_manifest(tmp_path):
    with pytest.raises(ModelArtifactError, match=r"does not exist.*barunrun train"):
        load_scorer(tmp_path / "nowhere")
    with pytest.raises(ModelArtifactError, match=r"manifest.json is missing"):
        load_scorer(tmp_path)


def _edit_manifest(model_dir: Path, **changes) -> None:
    path = model_dir / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 99}, "format_version 99.*reads formats 1, 2"),
        ({"kind": "forest"}, "unknown model kind 'forest'"),
        # a valid spec, but not the one the model was trained on
        ({"feature_spec": {"normalization": "body"}}, "feature channels that differ"),
        ({"feature_spec": {"joints": "wings"}}, "incompatible with this code.*wings"),
        ({"threshold": {"value": 1.0}}, "incompatible with this code"),
        ({"model_file": "../elsewhere.keras"}, "must be a file name"),
    ],
)
def test_incompatible_manifest_is_refused(lstm_dir, copy_of, change, message):
    model_dir = copy_of(lstm_dir)
    _edit_manifest(model_dir, **change)
    with pytest.raises(ModelArtifactError, match=message):
        load_scorer(model_dir)


def test_truncated_manifest_is_refused(lstm_dir, copy_of):
    model_dir = copy_of(lstm_dir)
    path = model_dir / "manifest.json"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelArtifactError, match=r"not valid JSON.*corrupt or truncated"):
        load_scorer(model_dir)


@pytest.mark.parametrize("kind", ["lstm", "pca"])
def test_truncated_or_missing_model_file_is_refused(kind, lstm_dir, pca_dir, copy_of):
    model_dir = copy_of(lstm_dir if kind == "lstm" else pca_dir)
    model_file = model_dir / load_manifest(model_dir).model_file
    model_file.write_bytes(model_file.read_bytes()[:1000])
    with pytest.raises(ModelArtifactError, match=r"checksum.*corrupt, truncated"):
        load_scorer(model_dir)
    model_file.unlink()
    with pytest.raises(ModelArtifactError, match=r"is missing"):
        load_scorer(model_dir)


def test_garbage_model_file_with_matching_checksum_is_refused(lstm_dir, copy_of):
    """A file that passes the checksum but is no Keras model still fails cleanly."""
    from consumer.model.manifest import file_sha256

    model_dir = copy_of(lstm_dir)
    (model_dir / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    _edit_manifest(model_dir, model_sha256=file_sha256(model_dir / "model.keras"))
    with pytest.raises(ModelArtifactError, match=r"cannot be loaded as a Keras model"):
        load_scorer(model_dir)


def test_transformer_saves_and_loads_in_safe_mode(tmp_path):
    import keras

    from consumer.model.networks import build_transformer_autoencoder

    model = build_transformer_autoencoder(30, 6, dim=8, heads=2, blocks=1, latent=4)
    x = np.random.default_rng(0).normal(size=(3, 30, 6)).astype(np.float32)
    model.save(tmp_path / "t.keras")
    loaded = keras.models.load_model(tmp_path / "t.keras", compile=False, safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-6)
