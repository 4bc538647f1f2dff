"""Create an API key and print it alone on the last line."""
from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from skillhub.errors import ValidationFailed
from tenants.selectors import tenant_get_by_slug
from tenants.services import api_key_create
from tenants.audit import OperatorCommand


class Command(OperatorCommand):
    help = "Create an API key for a tenant; the key is printed once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--role", required=True)
        parser.add_argument("--scopes", required=True, help="comma-separated, e.g. learners:read,learners:write")
        parser.add_argument("--expires-at", default=None, help="YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_get_by_slug(slug=options["slug"])
        if tenant is None:
            raise CommandError(f"no tenant {options['slug']!r}")
        expires_at = None
        if options["expires_at"]:
            try:
                day = datetime.date.fromisoformat(options["expires_at"])
            except ValueError as exc:
                raise CommandError("--expires-at must be YYYY-MM-DD") from exc
            expires_at = datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.timezone.utc)
            if expires_at <= timezone.now():
                raise CommandError("--expires-at must be in the future")
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        try:
            issued = api_key_create(
                tenant=tenant, name=options["name"], role=options["role"], scopes=scopes, expires_at=expires_at
            )
        except ValidationFailed as exc:
            raise CommandError("; ".join(f"{k}: {v}" for k, v in exc.errors.items())) from exc
        self.stderr.write(f"API key {issued.api_key.name!r} ({issued.api_key.role}) for {tenant.slug}; store it now:")
        self.stdout.write(issued.raw_key)
