"""``barunrun-capture``: MediaPipe Pose on a video file or camera, to a recording CSV and/or Kafka.

    barunrun-capture demo.mp4 --out walk.csv --roi 0,470,1768,994
    barunrun-capture demo.mp4 --kafka 127.0.0.1:9092 --user-id runner-42 --realtime
    barunrun-capture 0 --kafka --user-id runner-42            # camera 0, stamped live

Prints one JSON summary line on success; on failure one line ``barunrun-capture: error: ...``
and a non-zero exit code (2 bad arguments, 3 unreadable video, 4 missing model, 5 Kafka).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

# OpenCV, MediaPipe and Kafka load only when used (inside these modules): --help stays fast.
from barunrun_capture import __version__
from barunrun_capture.capture import run_capture
from barunrun_capture.errors import BadArgument, CaptureError
from barunrun_capture.gateway_sink import GatewaySink
from barunrun_capture.geometry import Box, full_image, parse_roi
from barunrun_capture.messages import check_id, session_id_at
from barunrun_capture.pose import PoseEstimator, check_models
from barunrun_capture.preview import PreviewSheet
from barunrun_capture.sinks import CapturedFrame, CsvSink, FrameSink, KafkaSink
from barunrun_capture.tracking import PersonTracker, TrackingRules
from barunrun_capture.video import FrameClock, VideoFrame, VideoSource

log = logging.getLogger("barunrun_capture")

PROG = "barunrun-capture"
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_TOPIC = "pose.frames"


def build_parser(environ: os._Environ[str] | dict[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Run MediaPipe Pose on a video or camera and send the "
        "landmarks to BarunRun (Kafka) and/or write a recording CSV.")
    parser.add_argument("source", help="a video file, or a camera index such as 0")
    parser.add_argument("--out", type=Path, help="write a recording CSV (contract format)")
    parser.add_argument(
        "--kafka", nargs="?", metavar="BOOTSTRAP",
        const=environ.get("BARUNRUN_KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP),
        help="publish frames to Kafka (default: $BARUNRUN_KAFKA_BOOTSTRAP or "
        f"{DEFAULT_BOOTSTRAP})")
    parser.add_argument(
        "--topic", default=environ.get("BARUNRUN_TOPICS_FRAMES", DEFAULT_TOPIC),
        help=f"frames topic (default: $BARUNRUN_TOPICS_FRAMES or {DEFAULT_TOPIC})")
    parser.add_argument(
        "--gateway", metavar="URL",
        help="publish frames through a BarunRun gateway (HTTP batches), e.g. http://host:8080; "
        "the way a phone without Kafka credentials sends")
    parser.add_argument(
        "--token", default=environ.get("BARUNRUN_GATEWAY_TOKEN"),
        help="the gateway token for --user-id (default: $BARUNRUN_GATEWAY_TOKEN; "
        "`barunrun token issue --user U` makes one)")
    parser.add_argument("--user-id",
                        help="the message key and user_id (needed with --kafka or --gateway)")
    parser.add_argument("--session-id", help="default: s-YYYYMMDD-HHMMSS of the start (UTC)")
    parser.add_argument("--realtime", action="store_true",
                        help="send at the video's frame rate (default: as fast as possible)")
    parser.add_argument("--roi", metavar="X0,Y0,X1,Y1",
                        help="look for the person only in this pixel box (default: all)")
    parser.add_argument("--reacquire-after", type=float, metavar="SECONDS",
                        help="after the person is lost this long, search the whole ROI again "
                        "(a new session); default: keep looking near where they were")
    parser.add_argument("--model-complexity", type=int, choices=(0, 1, 2), default=1,
                        help="MediaPipe Pose model (only 1 ships with mediapipe 0.10.14)")
    parser.add_argument("--min-detection-confidence", type=float, default=0.5)
    parser.add_argument("--min-tracking-confidence", type=float, default=0.5)
    parser.add_argument("--preview", type=Path, metavar="FILE.png",
                        help="also save stick figures over a few tracked frames")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--log-level", default="WARNING",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _check_arguments(args: argparse.Namespace) -> None:
    if args.out is None and args.kafka is None and args.gateway is None:
        raise BadArgument(
            "nothing to do: give --out FILE.csv and/or --kafka [BOOTSTRAP] or --gateway URL"
        )
    if args.kafka is not None and args.gateway is not None:
        raise BadArgument("choose one of --kafka and --gateway")
    if args.kafka is not None or args.gateway is not None:
        if not args.user_id:
            raise BadArgument("--kafka and --gateway need --user-id (the message key)")
        check_id(args.user_id, "--user-id")
    if args.gateway is not None and not args.token:
        raise BadArgument("--gateway needs --token (or $BARUNRUN_GATEWAY_TOKEN)")
    if args.session_id:
        check_id(args.session_id, "--session-id")
    if args.reacquire_after is not None and args.reacquire_after <= 0:
        raise BadArgument("--reacquire-after must be positive")
    if args.max_frames is not None and args.max_frames <= 0:
        raise BadArgument("--max-frames must be positive")


def capture(args: argparse.Namespace) -> dict[str, object]:
    """Open everything, run the capture, close everything; the summary as a dict."""
    check_models(args.model_complexity)  # before the video: a missing model is the root cause
    source = VideoSource(args.source)
    sinks: list[FrameSink] = []
    try:
        info = source.info
        roi = parse_roi(args.roi, info.width, info.height) if args.roi else full_image(
            info.width, info.height)
        session_id = args.session_id or session_id_at(datetime.now(UTC))
        tracker = PersonTracker(roi, info.fps, TrackingRules(
            reacquire_after_s=args.reacquire_after))
        with PoseEstimator(args.model_complexity, args.min_detection_confidence,
                           args.min_tracking_confidence) as estimator:
            if args.out is not None:
                sinks.append(CsvSink(args.out))
            if args.kafka is not None:
                sinks.append(KafkaSink(args.kafka, args.topic, args.user_id, session_id))
            if args.gateway is not None:
                sinks.append(GatewaySink(args.gateway, args.token, args.user_id, session_id))
            total = info.frame_count
            if args.max_frames is not None and total is not None:
                total = min(total, args.max_frames)
            preview = None if args.preview is None else PreviewSheet(
                args.preview, info.width, info.height, roi)
            with tqdm(total=total, unit="frame", desc=info.name, file=sys.stderr,
                      disable=True if args.no_progress else None) as bar:

                def observe(frame: VideoFrame, captured: CapturedFrame, region: Box) -> None:
                    bar.update()
                    if preview is not None:
                        preview.add(frame.bgr, captured, region)

                summary = run_capture(
                    source.frames(), info, estimator, tracker, roi, sinks,
                    FrameClock(info, args.realtime), on_frame=observe,
                    max_frames=args.max_frames)
            if preview is not None and not preview.save():
                log.warning("no tracked frame: preview %s not written", args.preview)
        result: dict[str, object] = asdict(summary)
        if args.kafka is not None:
            result.update(topic=args.topic, user_id=args.user_id, session_id=session_id)
        if args.gateway is not None:
            gateway_sink = next(s for s in sinks if isinstance(s, GatewaySink))
            gateway_sink.flush()
            result.update(gateway=args.gateway, user_id=args.user_id, session_id=session_id,
                          gateway_accepted=gateway_sink.sent,
                          gateway_rejected=gateway_sink.rejected)
        if args.out is not None:
            result["out"] = str(args.out)
        return result
    finally:
        # Closed in order; a failed flush still closes the rest, and its error is raised.
        errors: list[CaptureError] = []
        for sink in sinks:
            try:
                sink.close()
            except CaptureError as exc:
                errors.append(exc)
        source.close()
        if errors:
            raise errors[0]


def main(argv: Sequence[str] | None = None) -> int:
    # MediaPipe's C++ side logs its graph set-up to stderr through glog; keep only errors.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # protobuf 4 warns once per run about an API mediapipe 0.10.14 still uses.
    warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated")
    args = build_parser(os.environ).parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format=f"{PROG}: %(levelname)s %(name)s: %(message)s")
    if args.log_level != "DEBUG":
        # kafka-python logs every reconnect attempt; the client reports a failure in one line.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    try:
        _check_arguments(args)
        result = capture(args)
    except CaptureError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(result))
    return 0
