"""``python -m consumer.gateway [gateway|token] ...``: the gateway's two commands, runnable
before (or without) the ``barunrun`` entry point listing them."""

from __future__ import annotations

import sys

from consumer.cli import main

GATEWAY_COMMANDS = {
    "gateway": ("consumer.commands.gateway", "run the ingestion gateway (WebSocket + HTTP)"),
    "token": ("consumer.commands.token", "issue device tokens for the gateway"),
}

if __name__ == "__main__":
    sys.exit(main(commands=GATEWAY_COMMANDS, prog="python -m consumer.gateway"))
