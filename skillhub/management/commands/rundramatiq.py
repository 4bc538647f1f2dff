"""Run Dramatiq worker processes for every app's actors (scaled-out mode)."""
from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run Dramatiq worker processes for every app's actors."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--queues", nargs="*", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DRAMATIQ_BROKER == "embedded":
            raise CommandError(
                "No DRAMATIQ_BROKER_URL is set: the embedded broker lives inside `manage.py serve`. "
                "Set DRAMATIQ_BROKER_URL=redis://… or amqp://… to run separate workers."
            )
        argv = [
            sys.executable, "-m", "dramatiq", "skillhub.worker_entry",
            "--processes", str(options["processes"]), "--threads", str(options["threads"]),
        ]
        if options["queues"]:
            argv += ["--queues", *options["queues"]]
        os.execv(sys.executable, argv)
