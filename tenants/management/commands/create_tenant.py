"""Create a tenant (idempotent)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from skillhub.errors import ValidationFailed
from tenants.models import Plan
from tenants.services import tenant_create
from tenants.audit import OperatorCommand


class Command(OperatorCommand):
    help = "Create a tenant; running it again with the same slug changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--plan", choices=Plan.values, default=Plan.PILOT)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant, created = tenant_create(slug=options["slug"], name=options["name"], plan=options["plan"])
        except ValidationFailed as exc:
            raise CommandError(exc.message) from exc
        verb = "created" if created else "exists"
        self.stdout.write(f"tenant {tenant.slug} {verb}: id {tenant.id}, plan {tenant.plan}")
