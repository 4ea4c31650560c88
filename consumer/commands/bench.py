"""``barunrun bench``: the consumer's throughput, latency and scale beside the limit and the
naive way, in one invocation on the embedded broker and Redis (consumer/bench/)."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from consumer.commands import settings_from_args
from consumer.errors import ConfigError, ModelArtifactError

if TYPE_CHECKING:
    from consumer.bench.run import BenchOptions

# ``--tiny``: seconds of data, for the CI test that keeps the command from rotting.
TINY = {"runners": 4, "seconds": 4.0, "latency_seconds": 3.0, "naive_seconds": 0.5,
        "scoring_seconds": 0.3, "scoring_batch": 32}


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--model-dir", type=Path, help="model to serve (default: model.dir)")
    parser.add_argument("--runners", type=int, default=100, help="simulated runners (100)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="seconds of 30 fps frames per runner in the backlog (20)")
    parser.add_argument("--partitions", type=int, default=6, help="frames topic partitions (6)")
    parser.add_argument("--scale-processes", type=int, default=2,
                        help="consumer processes in the scale run (2)")
    parser.add_argument("--latency-seconds", type=float, default=20.0,
                        help="length of the live stream (20)")
    parser.add_argument("--latency-share", type=float, default=0.5,
                        help="live load as a share of the measured pipeline capacity (0.5)")
    parser.add_argument("--naive-seconds", type=float, default=10.0,
                        help="time budget of the naive subset (10)")
    parser.add_argument("--scoring-seconds", type=float, default=3.0)
    parser.add_argument("--scoring-batch", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tiny", action="store_true",
                        help="seconds of data: checks the benchmark runs (CI), numbers mean little")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument("--write-doc", type=Path, metavar="PATH",
                        help="write the results into PATH (e.g. docs/benchmarks.md)")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not getattr(args, "log_level", None):
        # The broker's start-up probe logs refused connections as errors; the benchmark
        # reports what fails itself.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    from consumer.bench.doc import write_doc  # noqa: PLC0415 - keeps --help fast
    from consumer.bench.report import table  # noqa: PLC0415
    from consumer.bench.run import BenchOptions, run_bench  # noqa: PLC0415

    model_dir = args.model_dir or Path(settings.model.dir)
    if not (model_dir / "manifest.json").is_file():
        raise ModelArtifactError(
            f"{model_dir} holds no model: pass --model-dir, or build one with "
            f"`barunrun model bootstrap --out {model_dir}`"
        )
    sizes = {
        "runners": args.runners, "seconds": args.seconds,
        "latency_seconds": args.latency_seconds, "naive_seconds": args.naive_seconds,
        "scoring_seconds": args.scoring_seconds, "scoring_batch": args.scoring_batch,
    }
    if args.tiny:
        sizes.update(TINY)
    if sizes["runners"] < 1 or args.partitions < 1 or args.scale_processes < 1:
        raise ConfigError("--runners, --partitions and --scale-processes must be >= 1")
    if not 0.0 < args.latency_share <= 1.0:
        raise ConfigError("--latency-share must be in (0, 1]")
    options = BenchOptions(
        model_dir=model_dir, partitions=args.partitions, scale_processes=args.scale_processes,
        latency_share=args.latency_share, seed=args.seed,
        config=getattr(args, "config", None), **sizes,  # type: ignore[arg-type]
    )
    result = run_bench(settings, options, _progress)
    result["command"] = command_line(args, options)
    if args.write_doc:
        write_doc(args.write_doc, result)
        _progress(f"wrote {args.write_doc}")
    if args.json:
        print(json.dumps(result))
    else:
        print(table(result))
    return 0


_STARTED = time.monotonic()


def _progress(text: str) -> None:
    print(f"[{time.monotonic() - _STARTED:5.1f} s] {text}", file=sys.stderr, flush=True)


def command_line(args: argparse.Namespace, options: BenchOptions) -> str:
    """The command that reproduces this run, every size spelled out."""
    parts = ["barunrun", "bench"]
    if getattr(args, "config", None):
        parts += ["--config", str(args.config)]
    parts += ["--model-dir", str(options.model_dir)]
    for name in ("runners", "seconds", "partitions", "scale_processes", "latency_seconds",
                 "latency_share", "naive_seconds", "scoring_seconds", "scoring_batch", "seed"):
        parts += ["--" + name.replace("_", "-"), f"{getattr(options, name):g}"]
    if args.write_doc:
        parts += ["--write-doc", str(args.write_doc)]
    return shlex.join(parts)
