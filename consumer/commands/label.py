"""``barunrun label``: submit one label (user, session, frame range) to ``topics.labels``."""

from __future__ import annotations

import argparse
import json

from consumer.commands import settings_from_args
from consumer.errors import ConfigError
from producer_sim.faults import FAULT_NAMES


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--user", required=True, help="user_id of the runner")
    parser.add_argument("--session", default="default",
                        help="session_id (default: 'default', as for frames without one)")
    parser.add_argument("--start", type=int, required=True, help="first frame (inclusive)")
    parser.add_argument("--end", type=int, required=True, help="last frame (inclusive)")
    parser.add_argument("--label", required=True, choices=["normal", "abnormal"])
    parser.add_argument("--fault", choices=FAULT_NAMES, metavar="FAULT",
                        help=f"with --label abnormal: {', '.join(FAULT_NAMES)}")
    parser.add_argument("--labeller", required=True, help="who says so (an id)")
    parser.add_argument("--note", default="", help="free text, at most 1000 characters")
    parser.add_argument("--label-id", help="submission id (default: a new random one); "
                        "resending the same id is stored once")
    parser.add_argument("--json", action="store_true", help="print the message sent as JSON")


def run(args: argparse.Namespace) -> int:
    from consumer.labels.publish import submit_labels  # noqa: PLC0415 - loads the Kafka client
    from consumer.labels.schema import InvalidLabel, new_submission  # noqa: PLC0415

    settings = settings_from_args(args)
    try:
        submission = new_submission(
            user_id=args.user, session_id=args.session, start_frame=args.start,
            end_frame=args.end, label=args.label, fault=args.fault, labeller=args.labeller,
            note=args.note, label_id=args.label_id,
        )
    except InvalidLabel as exc:
        raise ConfigError(f"bad label: {exc}") from None
    submit_labels(settings, [submission])
    if args.json:
        print(json.dumps(submission.to_message()))
    else:
        print(f"label {submission.label_id} sent to {settings.topics.labels}: "
              f"{submission.user_id}/{submission.session_id} frames "
              f"{submission.start_frame}-{submission.end_frame} {submission.name} "
              f"by {submission.labeller}")
    return 0
