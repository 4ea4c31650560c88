"""Scenario 6: bad models pushed for hot reload are refused; the old model keeps serving.

The consumer process serves ``current``, a symlink that the test re-points atomically (as a
deployment does) at a truncated model, a corrupt manifest, a model for other windows and a
model whose Lambda layer would run code when loaded. Each must be refused: the old model's
version stays in ``barunrun_model_info``, ``barunrun_model_reload_refused`` is 1 (what an
alert fires on) and frames sent after each push are scored by the old model. The payload never
runs (Keras safe mode); loading the same file unsafely would run it. A good model then clears
the alert and takes over.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from producer_sim.publish import stream_runners
from tests.support.reliability.audit import collect
from tests.support.reliability.models import (
    bad_model,
    copy_model,
    for_other_windows,
    point,
    truncate_manifest,
    truncate_model_file,
    unsafe_lambda,
)
from tests.support.reliability.sizes import suite_size
from tests.support.serving import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(suite_size().seconds_budget)]

INFO = "barunrun_model_info"
REFUSED = "barunrun_model_reload_refused"
RELOADS = "barunrun_model_reloads_total"
CONSUMED = "barunrun_frames_consumed_total"


def test_bad_models_are_refused_and_the_old_model_keeps_serving(
    settings_factory, model_dir, serve_process, scenario, tmp_path: Path
) -> None:
    result = scenario("model_faults", "truncated, corrupt-manifest, incompatible and unsafe "
                                      "(Lambda) models pushed for hot reload")
    source = Path(model_dir)
    current = tmp_path / "current"
    current.symlink_to(copy_model(source, tmp_path / "v1", "rel-v1"), target_is_directory=True)
    settings = settings_factory(partitions=1, model={"reload_interval_s": 0.5})
    consumer = serve_process(settings, current, "model-faults").start().wait_ready()
    assert consumer.value(INFO, version="rel-v1") == 1 and consumer.value(REFUSED) == 0
    sent = 0

    def burst(tag: str, seed: int) -> None:
        """A runner's frames, every one consumed before the test moves on."""
        nonlocal sent
        sent += stream_runners(settings, runners=1, duration_s=2, fault_rate=0.0, realtime=False,
                               seed=seed, user_prefix=f"m-{tag}").frames_sent
        wait_for(lambda: consumer.value(CONSUMED) >= sent, 60, f"the {tag} frames consumed")

    burst("first", 1)
    marker = tmp_path / "payload-ran"
    pushes = [("truncated", truncate_model_file), ("bad-manifest", truncate_manifest),
              ("incompatible", for_other_windows), ("unsafe", unsafe_lambda(marker))]
    detection_s = []
    for refusals, (name, mutate) in enumerate(pushes, start=1):
        target = bad_model(source, tmp_path / name, f"rel-{name}", mutate)
        pushed = time.monotonic()
        point(current, target)
        wait_for(lambda n=refusals: consumer.value(RELOADS, result="refused") == n, 120,
                 f"the {name} model to be refused")
        detection_s.append(round(time.monotonic() - pushed, 1))
        assert consumer.value(REFUSED) == 1
        assert consumer.value(INFO, version="rel-v1") == 1
        assert consumer.value(INFO, version=f"rel-{name}") == 0
        burst(name, 1 + refusals)
    refusal_log = [line for line in consumer.full_log().splitlines()
                   if "model reload refused" in line]
    assert not marker.exists(), "the unsafe model's code ran in the consumer"
    assert len(refusal_log) == len(pushes) and "Lambda" in refusal_log[-1]

    point(current, copy_model(source, tmp_path / "v2", "rel-v2"))
    wait_for(lambda: consumer.value(INFO, version="rel-v2") == 1, 120, "the good model")
    assert consumer.value(REFUSED) == 0 and consumer.value(RELOADS, result="loaded") == 1
    burst("after", 9)

    audit = collect(settings, sent)
    audit.fill(result)
    result.messages_sent = sent
    result.recovery_s = max(detection_s)
    result.extra.update(refusals=len(pushes), seconds_to_refuse=detection_s,
                        reasons=[line.split("reason=", 1)[-1][:120] for line in refusal_log])
    versions = {(w["user_id"][len("m-"):].rsplit("-", 1)[0], w["model_version"])
                for w in audit.scores.first.values()}
    assert audit.problems() == []
    assert versions == {(tag, "rel-v1") for tag in ("first", *(n for n, _ in pushes))} | {
        ("after", "rel-v2")}

    # Safe mode is what kept the payload from running: loading the file unsafely runs it.
    import keras

    keras.models.load_model(tmp_path / "unsafe" / "model.keras", compile=False, safe_mode=False)
    assert marker.exists(), "the payload did not run when loaded unsafely: the test proves nothing"
