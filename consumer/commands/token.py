"""``barunrun token issue --user U --ttl 1h``: a device token for development and tests.

Prints the token alone on stdout (``TOKEN=$(barunrun token issue --user runner-42)``). It is
signed with the gateway's HS256 secret (BARUNRUN_GATEWAY_JWT_SECRET or gateway.jwt_secret_file).
"""

from __future__ import annotations

import argparse
import sys

from consumer.commands import settings_from_args
from consumer.gateway.auth import issue_token, parse_ttl


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    actions = parser.add_subparsers(dest="token_action", metavar="ACTION", required=True)
    issue = actions.add_parser("issue", help="print a signed token for a user",
                               description="print a signed token for a user")
    issue.add_argument("--user", required=True, help="the user_id the token lets a device use")
    issue.add_argument("--ttl", default="1h", help="lifetime: 90s, 15m, 1h, 7d (default: 1h)")
    issue.add_argument("--config", default=argparse.SUPPRESS, help="TOML config file")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    token = issue_token(settings.gateway, args.user, parse_ttl(args.ttl))
    sys.stdout.write(token + "\n")
    return 0
