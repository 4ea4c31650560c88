"""The classical baseline: PCA reconstruction of flattened feature windows (numpy SVD).

Cheap to train and to serve, and a real model: a window far from the principal subspace of
normal running reconstructs badly. A deep model has to beat it to earn its cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

KIND_PCA = "pca"
PCA_FILE = "pca.npz"


@dataclass(frozen=True)
class PcaReconstructor:
    mean: np.ndarray  # (D,) float32, D = T * F
    components: np.ndarray  # (k, D) float32, orthonormal rows
    window: int
    channels: int
    explained_variance: float  # fraction of the training variance the k components keep

    @classmethod
    def fit(
        cls, features: np.ndarray, variance: float = 0.95, max_components: int | None = None
    ) -> PcaReconstructor:
        """Keep the fewest components that explain ``variance`` of (N, T, F) training windows."""
        n, window, channels = features.shape
        if n < 2:
            raise ValueError("PCA needs at least 2 training windows")
        flat = features.reshape(n, -1).astype(np.float64)
        mean = flat.mean(axis=0)
        # Economy SVD on the centred data: components are the right singular vectors.
        _, singular, vt = np.linalg.svd(flat - mean, full_matrices=False)
        energy = singular**2
        ratio = np.cumsum(energy) / max(float(energy.sum()), 1e-12)
        k = int(np.searchsorted(ratio, variance) + 1)
        if max_components is not None:
            k = min(k, max_components)
        k = max(1, min(k, vt.shape[0]))
        return cls(
            mean.astype(np.float32),
            vt[:k].astype(np.float32),
            window,
            channels,
            float(ratio[k - 1]),
        )

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def reconstruct(self, features: np.ndarray) -> np.ndarray:
        n = features.shape[0]
        flat = features.reshape(n, -1) - self.mean
        projected = (flat @ self.components.T) @ self.components
        return (projected + self.mean).reshape(features.shape).astype(np.float32)

    def channel_errors(self, features: np.ndarray) -> np.ndarray:
        """(N, F) mean squared reconstruction error per channel over the window's time steps."""
        if features.shape[0] == 0:
            return np.zeros((0, self.channels), dtype=np.float32)
        residual = features - self.reconstruct(features)
        return np.mean(residual**2, axis=1).astype(np.float32)

    def save(self, path: Path) -> None:
        np.savez(
            path,
            mean=self.mean,
            components=self.components,
            shape=np.array([self.window, self.channels], dtype=np.int64),
            explained_variance=np.array(self.explained_variance, dtype=np.float64),
        )

    @classmethod
    def load(cls, path: Path) -> PcaReconstructor:
        """Load a saved PCA; raises ValueError (or OSError) when the file is unusable."""
        with np.load(path, allow_pickle=False) as data:
            mean = np.asarray(data["mean"], dtype=np.float32)
            components = np.asarray(data["components"], dtype=np.float32)
            window, channels = (int(v) for v in data["shape"])
            explained = float(data["explained_variance"])
        if mean.shape != (window * channels,) or components.ndim != 2:
            raise ValueError("PCA arrays do not match their stored shape")
        if components.shape[1] != mean.shape[0]:
            raise ValueError("PCA components do not match the mean's length")
        return cls(mean, components, window, channels, explained)
