"""Create the demo tenant with data, an admin login, an API key and a signal secret, and print them."""
from __future__ import annotations

import importlib
import json
import secrets
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandParser

from skillhub.crypto import token_hash
from tenants.models import SCOPES, Plan, Role
from tenants.selectors import api_key_find, signal_secrets_for_slug
from tenants.services import api_key_create, console_admin_create, signal_secret_issue, tenant_create
from tenants.audit import OperatorCommand

DEMO_SLUG = "demo"


class Command(OperatorCommand):
    help = "Create (or refresh) the demo tenant and print its admin login, API key and signal secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--learners", type=int, default=40)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant, _ = tenant_create(slug=DEMO_SLUG, name="Demo Mining Co", plan=Plan.STANDARD)
        # Each app seeds its own demo rows through its own services (`<app>/demo.py: seed`).
        for config in apps.get_app_configs():
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            module.seed(tenant=tenant, learners=options["learners"], log=self.stdout.write)

        credentials_file = settings.DATA_DIR / "demo-credentials.json"
        saved = json.loads(credentials_file.read_text()) if credentials_file.exists() else {}
        password = saved.get("password") or secrets.token_urlsafe(12)
        console_admin_create(tenant=tenant, username="admin", password=password, email="admin@demo.example")
        api_key = saved.get("apiKey")
        if not api_key or api_key_find(key_hash=token_hash(api_key)) is None:
            api_key = api_key_create(
                tenant=tenant, name="Demo integration", role=Role.ADMIN, scopes=list(SCOPES), created_by_label="manage.py seed_demo"
            ).raw_key
        signal_secret = saved.get("signalSecret")
        if not signal_secret or signal_secret not in signal_secrets_for_slug(slug=tenant.slug):
            signal_secret = signal_secret_issue(tenant=tenant).secret
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        credentials_file.write_text(json.dumps({"password": password, "apiKey": api_key, "signalSecret": signal_secret}))
        credentials_file.chmod(0o600)

        base = settings.SKILLHUB_PUBLIC_URL
        self.stdout.write("")
        self.stdout.write("skillhub demo tenant ready")
        self.stdout.write(f"  tenant         {tenant.slug} ({tenant.id})")
        self.stdout.write(f"  admin login    {base}/admin/  user: admin  password: {password}")
        self.stdout.write(f"  API key        {api_key}")
        self.stdout.write(f"  signal secret  {signal_secret}")
        self.stdout.write(f"  try            curl -H 'Authorization: Bearer {api_key}' {base}/api/v1/tenants/{tenant.slug}/learners")
