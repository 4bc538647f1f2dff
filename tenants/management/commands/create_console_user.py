"""Create (or reset) a console login for a tenant, as an admin or a viewer; print its password."""
from __future__ import annotations

import secrets

from typing import Any

from django.core.management.base import CommandError, CommandParser

from skillhub.errors import ValidationFailed
from tenants.models import Role
from tenants.selectors import tenant_get_by_slug
from tenants.services import console_admin_create
from tenants.audit import OperatorCommand


class Command(OperatorCommand):
    help = "Create or reset a console login of a tenant (admin: acts; viewer: reads). The password is printed on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("username")
        parser.add_argument("--role", choices=[Role.ADMIN, Role.VIEWER], default=Role.ADMIN)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_get_by_slug(slug=options["slug"])
        if tenant is None:
            raise CommandError(f"no tenant {options['slug']!r}")
        password = secrets.token_urlsafe(12)
        try:
            console_admin_create(tenant=tenant, username=options["username"], password=password, email=options["email"], role=options["role"])
        except ValidationFailed as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"console {options['role']} {options['username']} of {tenant.slug}; password:")
        self.stdout.write(password)
