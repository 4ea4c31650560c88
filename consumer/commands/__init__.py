"""One module per ``barunrun`` subcommand: ``add_arguments(parser, name)`` and ``run(args)``."""

from __future__ import annotations

import argparse

from consumer.logs import configure_logging
from consumer.settings import Settings, load_settings


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Load settings (file + environment) and configure logging once, at the entry point."""
    settings = load_settings(getattr(args, "config", None))
    level = getattr(args, "log_level", None) or settings.logging.level
    configure_logging(level, settings.logging.format)
    return settings
