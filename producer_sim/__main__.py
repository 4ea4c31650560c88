"""``python -m producer_sim dataset|simulate``: the simulator's subcommands on their own."""

from __future__ import annotations

import sys

from consumer import cli

sys.exit(cli.main(commands={k: cli.COMMANDS[k] for k in ("dataset", "simulate")},
                  prog="python -m producer_sim"))
