"""Issue a new signal secret and print it alone on the last line."""
from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from tenants.selectors import tenant_get_by_slug
from tenants.services import signal_secret_issue
from tenants.audit import OperatorCommand


class Command(OperatorCommand):
    help = "Issue a new signal secret; the previous one stays valid for 24 hours."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_get_by_slug(slug=options["slug"])
        if tenant is None:
            raise CommandError(f"no tenant {options['slug']!r}")
        secret = signal_secret_issue(tenant=tenant)
        self.stderr.write(f"signal secret for {tenant.slug} (earlier ones stay valid 24 h); store it now:")
        self.stdout.write(secret.secret)
