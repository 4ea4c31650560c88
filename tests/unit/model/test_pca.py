"""The PCA reconstruction baseline."""

from __future__ import annotations

import numpy as np
import pytest

from consumer.model.pca import PcaReconstructor


def _low_rank(n: int, rank: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(30 * 4, rank)))[0].T
    codes = rng.normal(size=(n, rank)) * 3.0
    return (codes @ basis).reshape(n, 30, 4).astype(np.float32) + 1.0, basis


def test_pca_reconstructs_its_subspace_and_not_the_rest():
    train, basis = _low_rank(400)
    pca = PcaReconstructor.fit(train, variance=0.999)
    assert pca.n_components == 3
    assert pca.explained_variance > 0.999
    inside = (np.random.default_rng(2).normal(size=(20, 3)) @ basis).reshape(20, 30, 4) + 1.0
    outside = inside + np.random.default_rng(3).normal(0, 0.5, inside.shape)
    assert pca.channel_errors(inside.astype(np.float32)).mean() < 1e-8
    assert pca.channel_errors(outside.astype(np.float32)).mean() > 0.1


def test_pca_channel_errors_are_per_channel_mse():
    train, _ = _low_rank(100)
    pca = PcaReconstructor.fit(train, variance=0.5, max_components=1)
    x = train[:7]
    expected = ((x - pca.reconstruct(x)) ** 2).mean(axis=1)
    np.testing.assert_allclose(pca.channel_errors(x), expected, rtol=1e-5)
    assert pca.channel_errors(x[:0]).shape == (0, 4)


def test_pca_save_load_round_trip(tmp_path):
    train, _ = _low_rank(100)
    pca = PcaReconstructor.fit(train)
    pca.save(tmp_path / "pca.npz")
    again = PcaReconstructor.load(tmp_path / "pca.npz")
    np.testing.assert_array_equal(again.components, pca.components)
    np.testing.assert_allclose(again.channel_errors(train[:5]), pca.channel_errors(train[:5]))


def test_pca_needs_two_windows():
    with pytest.raises(ValueError):
        PcaReconstructor.fit(np.zeros((1, 30, 4), np.float32))
