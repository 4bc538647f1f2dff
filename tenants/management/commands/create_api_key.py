"""Create an API key and print it alone on the last line."""
from __future__ import annotations

import datetime
import getpass
from typing import Any

from django.contrib.auth import get_user_model

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from skillhub.errors import ValidationFailed
from tenants.audit import OperatorCommand
from tenants.selectors import tenant_get_by_slug
from tenants.services import api_key_create


class Command(OperatorCommand):
    help = "Create an API key for a tenant; the key is printed once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--role", required=True)
        parser.add_argument("--scopes", required=True, help="comma-separated, e.g. learners:read,learners:write")
        parser.add_argument("--expires-at", default=None, help="YYYY-MM-DD")
        parser.add_argument(
            "--created-by",
            default=None,
            metavar="USERNAME",
            help="the console user the key acts for (who may then not moderate their own assessments through it); "
            "without it the key stands for itself and the operator's account is recorded",
        )

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
        if options["created_by"]:
            user = get_user_model().objects.filter(username=options["created_by"]).first()
            if user is None:
                raise CommandError(f"no console user {options['created_by']!r}")
            creator = {"created_by_ref": f"user:{user.pk}", "created_by_label": f"user:{user.get_username()}"}
        else:
            creator = {"created_by_label": f"operator:{_operator()} (manage.py create_api_key)"}
        try:
            issued = api_key_create(
                tenant=tenant, name=options["name"], role=options["role"], scopes=scopes, expires_at=expires_at, **creator
            )
        except ValidationFailed as exc:
            raise CommandError("; ".join(f"{k}: {v}" for k, v in exc.errors.items())) from exc
        self.stderr.write(f"API key {issued.api_key.name!r} ({issued.api_key.role}) for {tenant.slug}; store it now:")
        self.stdout.write(issued.raw_key)


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown"
