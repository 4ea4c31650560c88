"""The model registry: versioned model directories under one root and a ``current`` symlink.

Layout::

    ROOT/
      ae-20261125-b06ed125/     one complete model directory per version (manifest.json + model)
      ae-20261126-3f0c9a1e/
      current -> ae-20261126-3f0c9a1e     relative symlink: what consumers serve
      history.jsonl             every decision (history.py)
      replay/                   the replay pool of older normal data (replay.py)
      .lock                     serialises promote / rollback / retrain
      .work/                    retrain scratch

* A version directory appears at once: it is copied under a hidden name, then renamed.
* ``current`` is swapped atomically: a new symlink under a temporary name, then
  ``os.replace`` over the old one, so a consumer's hot reload (consumer/serve/reload.py, which
  watches ``[model] dir`` and resolves the link) never sees a missing or half-written model.
* The link is relative, so the registry works wherever the volume is mounted.
* Versions are never deleted by these commands: rollback to any earlier one is one command.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from consumer.errors import ConfigError, ModelArtifactError
from consumer.model.manifest import Manifest, read_manifest

CURRENT = "current"
HISTORY_FILE = "history.jsonl"
REPLAY_DIR = "replay"
LOCK_FILE = ".lock"
WORK_DIR = ".work"
_RESERVED = {CURRENT, HISTORY_FILE, REPLAY_DIR, LOCK_FILE, WORK_DIR}


@dataclass(frozen=True)
class Version:
    name: str
    path: Path
    manifest: Manifest


class Registry:
    """Versioned model directories and the ``current`` pointer (module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def current_link(self) -> Path:
        return self.root / CURRENT

    @property
    def history_path(self) -> Path:
        return self.root / HISTORY_FILE

    @property
    def replay_dir(self) -> Path:
        return self.root / REPLAY_DIR

    def ensure(self) -> Registry:
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive lock over the registry: one promote / rollback / retrain at a time."""
        self.ensure()
        with (self.root / LOCK_FILE).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def versions(self) -> list[Version]:
        """Every complete version, oldest first (by manifest created_at, then name)."""
        if not self.root.is_dir():
            return []
        found: list[Version] = []
        for path in self.root.iterdir():
            if path.name in _RESERVED or path.name.startswith(".") or path.is_symlink():
                continue
            if not (path / "manifest.json").is_file():
                continue  # never complete: a copy killed before its rename is hidden anyway
            try:
                manifest = read_manifest(path)
            except ModelArtifactError:
                continue
            found.append(Version(path.name, path, manifest))
        return sorted(found, key=lambda v: (v.manifest.created_at, v.name))

    def get(self, name: str) -> Version:
        if not name or name in _RESERVED or "/" in name or name.startswith("."):
            raise ConfigError(f"{name!r} is not a model version name")
        path = self.root / name
        if not (path / "manifest.json").is_file():
            known = ", ".join(v.name for v in self.versions()) or "none"
            raise ConfigError(f"no version {name} in {self.root} (versions: {known})")
        return Version(name, path, read_manifest(path))

    def current(self) -> str | None:
        """The version ``current`` points at, or None when there is none yet."""
        link = self.current_link
        if not link.is_symlink():
            if link.exists():
                raise ConfigError(
                    f"{link} is not a symlink: move that model into the registry with "
                    f"`barunrun model register {link}`"
                )
            return None
        return Path(os.readlink(link)).name

    def add(self, model_dir: str | os.PathLike[str]) -> Version:
        """Copy a complete model directory in as its manifest's version (idempotent)."""
        source = Path(model_dir)
        manifest = read_manifest(source)
        name = manifest.version
        target = self.root / name
        if target.exists():
            existing = read_manifest(target)
            if existing.model_sha256 != manifest.model_sha256:
                raise ModelArtifactError(
                    f"{target} already holds another model under version {name}"
                )
            return Version(name, target, existing)
        self.ensure()
        staging = self.root / f".incoming-{name}-{uuid.uuid4().hex[:8]}"
        try:
            shutil.copytree(source, staging, symlinks=False)
            os.rename(staging, target)  # a version directory appears complete or not at all
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _fsync_dir(self.root)
        return Version(name, target, read_manifest(target))

    def set_current(self, name: str) -> str | None:
        """Point ``current`` at ``name`` atomically; returns the previous version."""
        self.get(name)  # exists and is complete
        previous = self.current()
        temporary = self.root / f".{CURRENT}-{uuid.uuid4().hex[:8]}"
        os.symlink(name, temporary, target_is_directory=True)
        try:
            os.replace(temporary, self.current_link)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_dir(self.root)
        return previous


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (a crash after promote must not undo it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
