"""Model directories a deployment might push by mistake, for the hot-reload fault scenario.

Each is a copy of a good model directory with one thing wrong, and a new version string:

* ``truncated``: the model file cut short, as by a failed copy (the manifest's checksum no
  longer matches);
* ``bad_manifest``: the manifest cut short (not JSON);
* ``incompatible``: a model for 20-frame windows pushed to a consumer of 30-frame windows;
* ``unsafe``: a model whose only layer is a Keras ``Lambda`` carrying Python bytecode that
  creates a marker file when it runs. Its manifest and checksum are right, so only Keras'
  safe mode stands between it and the consumer.

``point`` re-points the serving symlink atomically, as a deployment does.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from consumer.model.manifest import file_sha256

Mutation = Callable[[Path], None]


def copy_model(source: Path, target: Path, version: str) -> Path:
    shutil.copytree(source, target)
    _edit_manifest(target, lambda m: m.update(version=version))
    return target


def point(link: Path, target: Path) -> None:
    """Re-point a symlink atomically (a reader sees the old or the new target, never none)."""
    tmp = link.with_name(link.name + ".new")
    tmp.symlink_to(target, target_is_directory=True)
    os.replace(tmp, link)


def _edit_manifest(model_dir: Path, edit: Callable[[dict], object]) -> None:
    path = model_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest, indent=2))


def _model_file(model_dir: Path) -> Path:
    return model_dir / json.loads((model_dir / "manifest.json").read_text())["model_file"]


def truncate_model_file(model_dir: Path) -> None:
    with _model_file(model_dir).open("r+b") as handle:
        handle.truncate(1000)


def truncate_manifest(model_dir: Path) -> None:
    path = model_dir / "manifest.json"
    path.write_bytes(path.read_bytes()[:200])


def for_other_windows(model_dir: Path) -> None:
    _edit_manifest(model_dir, lambda m: m["feature_spec"].update(window_size=20))


def unsafe_lambda(marker: Path) -> Mutation:
    """Replace the model by a Lambda-layer model that touches ``marker`` when it runs."""

    def mutate(model_dir: Path) -> None:
        import keras  # TensorFlow only for the test that needs it

        model_path = _model_file(model_dir)
        original = keras.models.load_model(model_path, compile=False, safe_mode=True)
        _, window, channels = original.input_shape
        inputs = keras.Input((window, channels))
        # The payload: any Python at all could run here; a file is enough to see it ran. The
        # path is a constant of the code (Keras cannot load a lambda's defaults back).
        code = f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]"
        # No output_shape: Keras infers it by calling the function, so it runs at load time.
        payload = keras.layers.Lambda(eval(code))
        unsafe = keras.Model(inputs, payload(inputs))
        marker.unlink(missing_ok=True)  # building the model above ran it once, here
        model_path.unlink()
        unsafe.save(model_path)
        _edit_manifest(model_dir, lambda m: m.update(model_sha256=file_sha256(model_path)))

    return mutate


def bad_model(source: Path, target: Path, version: str, mutate: Mutation) -> Path:
    copy_model(source, target, version)
    mutate(target)
    return target
