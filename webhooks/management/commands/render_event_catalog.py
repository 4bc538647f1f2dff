"""Rewrite the event-catalog tables of the README and docs/webhooks.md from `webhooks/catalog.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from webhooks.docs import DOCUMENTS, render_into, stale_documents


class Command(BaseCommand):
    help = "Render the event catalog into README.md and docs/webhooks.md (--check: fail if they differ)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table is stale")

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(settings.BASE_DIR)
        if options["check"]:
            stale = stale_documents(root)
            if stale:
                raise CommandError(f"stale event catalog in {', '.join(stale)}: run manage.py render_event_catalog")
            self.stdout.write("event catalog tables are current")
            return
        for name in DOCUMENTS:
            path = root / name
            path.write_text(render_into(path.read_text()))
            self.stdout.write(f"rendered {name}")
