"""Logs: one JSON object per line, under a request id the caller can follow, and never a credential."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from signals_inbox.models import Signal
from signals_inbox.services import signals_resolve_batch
from tests.factories import LearnerFactory, make_api_key
from tests.signals_inbox.factories import issue_secret, post_signal, published_course, sign, signal_body
from tests.skillhub.observing import StatusReceiver, json_logs, log_lines
from tests.webhooks.helpers import make_endpoint, send_due

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import logging
from django.test import Client
client = Client()
client.get("/healthz", HTTP_X_REQUEST_ID="child-trace-1")
client.get("/no/such/page")
client.get("/api/v1/tenants/acme/learners")
try:
    raise ValueError("boom\nsecond line of the message")
except ValueError:
    logging.getLogger("skillhub.test").exception("an error with a traceback")
"""


def test_json_logs_of_a_real_process_parse_line_by_line(tmp_path):
    # Given a process configured from the environment with LOG_FORMAT=json
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DRAMATIQ_BROKER_URL", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="skillhub.settings", LOG_FORMAT="json", LOG_LEVEL="DEBUG", SKILLHUB_DATA_DIR=str(tmp_path))

    # When it answers requests and logs an exception
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    # Then every line it wrote is one JSON object, tracebacks included
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert lines and all(isinstance(line, dict) for line in lines)
    requests = [line for line in lines if line["logger"] == "skillhub.requests"]
    assert [(r["route"], r["status"]) for r in requests] == [
        ("/healthz", 200),
        ("unmatched", 404),
        ("/api/v1/tenants/<slug:slug>/learners", 401),
    ]
    assert requests[0]["requestId"] == "child-trace-1"
    assert all({"time", "level", "message", "requestId", "durationMs", "method", "path"} <= set(r) for r in requests)
    assert requests[2]["tenant"] == "acme"
    error = next(line for line in lines if line["logger"] == "skillhub.test")
    assert error["level"] == "ERROR" and "ValueError" in error["exception"]


@pytest.mark.django_db
def test_the_request_id_round_trips_and_a_bad_one_is_replaced(tenant):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant)}")

    with json_logs() as stream:
        sent = api.get(f"/api/v1/tenants/{tenant.slug}/learners", HTTP_X_REQUEST_ID="trace-42.abc")
        spaced = api.get(f"/api/v1/tenants/{tenant.slug}/learners", HTTP_X_REQUEST_ID="not a valid id")
        huge = api.get(f"/api/v1/tenants/{tenant.slug}/learners", HTTP_X_REQUEST_ID="x" * 300)
        none = api.get(f"/api/v1/tenants/{tenant.slug}/learners")

    assert sent["X-Request-ID"] == "trace-42.abc"
    for response in (spaced, huge, none):
        assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert len({spaced["X-Request-ID"], huge["X-Request-ID"], none["X-Request-ID"]}) == 3
    lines = [line for line in log_lines(stream) if line["logger"] == "skillhub.requests"]
    assert [line["requestId"] for line in lines] == [r["X-Request-ID"] for r in (sent, spaced, huge, none)]
    assert all(line["tenant"] == tenant.slug and line["status"] == 200 and line["durationMs"] > 0 for line in lines)
    assert all(line["route"] == "/api/v1/tenants/<slug:slug>/learners" for line in lines)


@pytest.mark.django_db
def test_the_signal_webhook_answers_and_logs_with_the_request_id_tenant_and_signal(client, tenant):
    secret = issue_secret(tenant)

    body = signal_body(email="a@example.com", topic="WAH")

    with json_logs() as stream:
        response = client.post(
            f"/api/v1/integration/{tenant.slug}/webhook",
            data=body,
            content_type="application/json",
            HTTP_X_SKILLHUB_SIGNATURE=sign(secret, body),
            HTTP_X_REQUEST_ID="hr-system-7781",
        )

    assert response.status_code == 200
    assert response["X-Request-ID"] == "hr-system-7781"
    line = next(line for line in log_lines(stream) if line["logger"] == "skillhub.requests")
    assert line["requestId"] == "hr-system-7781"
    assert line["tenant"] == tenant.slug
    assert line["signalId"] == response.json()["signalId"]
    assert line["route"] == "/api/v1/integration/<str:slug>/webhook"


@pytest.mark.django_db
def test_a_full_flow_logs_no_secret_key_signature_or_body(client, tenant, settings):
    # Given a tenant with an API key, a signal secret and an endpoint with its own secret and Basic credentials
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    key = make_api_key(tenant)
    secret = issue_secret(tenant)
    receiver = StatusReceiver(200)
    endpoint = make_endpoint(tenant, receiver.url, basic_auth_username="hooks", basic_auth_password="pa55-w0rd-for-hooks")
    LearnerFactory(tenant=tenant, email="jordan@acme.com")
    published_course(tenant, title="WAH refresher", topic="Working at Heights")
    marker = "BODY-MARKER-6c1f0e"
    body = signal_body(email="jordan@acme.com", topic="Working at Heights", payload={"note": marker})
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    wrong_key = "shk_" + "Q" * 43

    try:
        with json_logs() as stream:
            # When a signal arrives (and a forged one), it is resolved and offered over the API, and the deliveries go out
            signed = post_signal(client, tenant.slug, body, secret=secret)
            post_signal(client, tenant.slug, body, signature="f" * 64)
            signals_resolve_batch()
            need_id = Signal.objects.get(pk=signed.json()["signalId"]).need_id
            offered = api.post(f"/api/v1/tenants/{tenant.slug}/needs/{need_id}/offer", {}, format="json")
            refused = APIClient().get(f"/api/v1/tenants/{tenant.slug}/learners", HTTP_AUTHORIZATION=f"Bearer {wrong_key}")
            attempts = send_due()
    finally:
        receiver.close()

    assert signed.status_code == 200 and offered.status_code == 200 and refused.status_code == 401
    assert attempts and all(a.succeeded for a in attempts)
    # Then the log tells the story (requests, the offer's need, each delivery attempt with its tenant)
    lines = log_lines(stream)
    text = stream.getvalue()
    assert any(line.get("needId") == str(need_id) for line in lines)
    attempt_lines = [line for line in lines if line["logger"] == "skillhub.webhooks.attempts"]
    assert len(attempt_lines) == len(attempts)
    assert all(line["tenant"] == tenant.slug and line["deliveryId"].startswith("dlv_") for line in attempt_lines)
    # and holds no credential, signature or body
    signatures = [headers.get("webhook-signature", "") for headers, _ in receiver.requests]
    assert signatures and all(signatures)
    forbidden = {
        "API key": key,
        "refused API key": wrong_key,
        "signal secret": secret,
        "signal signature": sign(secret, body),
        "endpoint secret": endpoint.secret,
        "endpoint secret body": endpoint.secret.split("_", 1)[-1],
        "basic password": "pa55-w0rd-for-hooks",
        "request body": marker,
    }
    for signature in signatures:
        for part in signature.split():
            forbidden[f"webhook signature {part[:8]}"] = part.split(",", 1)[-1]
    found = {name: secret_text for name, secret_text in forbidden.items() if secret_text in text}
    assert found == {}


def test_a_credential_in_an_exception_message_is_redacted_from_the_log():
    import logging

    key = "shk_" + "A1b2" * 10
    with json_logs() as stream:
        try:
            raise RuntimeError(f"lookup failed for {key} with Bearer abcdefgh12345678 and v1,{'Zm9v' * 8}")
        except RuntimeError:
            logging.getLogger("skillhub.test").exception("failed: %s", key)

    line = log_lines(stream)[0]
    assert key not in stream.getvalue() and "abcdefgh12345678" not in stream.getvalue() and "Zm9vZm9v" not in stream.getvalue()
    assert line["message"] == "failed: [redacted]"
    assert "[redacted]" in line["exception"]
