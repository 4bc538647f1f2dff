"""Run the periodic sweeps alone; safe on several machines at once."""
from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from skillhub.scheduler import load_sweeps, run_due_sweeps, run_forever


class Command(BaseCommand):
    help = "Run the periodic sweeps (due deliveries, unresolved signals, assignment windows)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run every sweep once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            load_sweeps()
            for name, result in run_due_sweeps().items():
                self.stdout.write(f"{name}: {result}")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        run_forever(stop)
