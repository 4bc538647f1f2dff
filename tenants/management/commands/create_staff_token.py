"""Create an admin-API staff token for a staff user and print it alone on the last line."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from tenants.services import staff_token_create
from tenants.audit import OperatorCommand


class Command(OperatorCommand):
    help = "Create a staff token (sht_…) for the admin API (/api/v1/admin/…) acting as a staff user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="admin API")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None or not user.is_staff:
            raise CommandError(f"no staff user {options['username']!r}")
        _token, raw = staff_token_create(user=user, name=options["name"])
        self.stderr.write(f"staff token for {user.get_username()}; store it now, it is not shown again:")
        self.stdout.write(raw)
