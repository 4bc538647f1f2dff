"""One process of the multiprocess metrics test: signals through the webhook, then delivery attempts.

Run as `python -m tests.skillhub.metrics_child '<plan as JSON>'` with PROMETHEUS_MULTIPROC_DIR,
DATABASE_URL (the test database) and WEBHOOKS_ALLOW_PRIVATE_TARGETS=1 in the environment.
"""
from __future__ import annotations

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillhub.settings")
django.setup()

from django.test import Client  # noqa: E402

from tests.signals_inbox.factories import post_signal  # noqa: E402
from webhooks.engine.delivery import send  # noqa: E402


def main(plan: dict) -> None:
    client = Client()
    for item in plan["signals"]:
        response = post_signal(
            client, plan["slug"], item["body"].encode(), secret=item.get("secret"), signature=item.get("signature")
        )
        print(response.status_code, response.content.decode(), flush=True)
    for delivery_id in plan["deliveries"]:
        attempt = send(delivery_id=delivery_id)
        print(delivery_id, attempt and attempt.status_code, flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
