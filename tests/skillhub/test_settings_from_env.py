"""Settings come from the environment; a bad value stops start-up with a clear message."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _settings_with(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DRAMATIQ_BROKER_URL", "DEBUG", "SECRET_KEY"}}
    clean.update({"SKILLHUB_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "skillhub.settings", **env})
    code = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'], settings.DRAMATIQ_BROKER, settings.CACHES['default']['BACKEND'])"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_embedded_default_needs_no_variables(tmp_path):
    result = _settings_with(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "embedded", "django.core.cache.backends.locmem.LocMemCache"]


def test_scaled_out_variables_select_postgres_redis(tmp_path):
    result = _settings_with(
        tmp_path,
        DATABASE_URL="postgres://u@db.internal:5432/skillhub",
        REDIS_URL="redis://cache.internal:6379/0",
        DRAMATIQ_BROKER_URL="amqp://guest:guest@mq.internal:5672",
        SECRET_KEY="s3cret",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "amqp", "skillhub.cache.SkillhubRedisCache"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be one of"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL must start with"),
        ("DRAMATIQ_BROKER_URL", "kafka://x", "DRAMATIQ_BROKER_URL must start with"),
        ("REDIS_URL", "http://x", "REDIS_URL must start with"),
        ("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "sometimes", "WEBHOOKS_ALLOW_PRIVATE_TARGETS must be one of"),
        ("WEBHOOKS_MAX_IN_FLIGHT", "4.7", "WEBHOOKS_MAX_IN_FLIGHT must be a whole number"),
        ("WEBHOOKS_SEND_THREADS", "4.7", "WEBHOOKS_SEND_THREADS must be a whole number"),
        ("WEBHOOKS_CLAIM_LEASE_SECONDS", "19", "WEBHOOKS_CLAIM_LEASE_SECONDS must be at least 20"),
        ("WEBHOOKS_CLAIM_LEASE_SECONDS", "60.5", "WEBHOOKS_CLAIM_LEASE_SECONDS must be a whole number"),
    ],
)
def test_bad_values_fail_loudly(tmp_path, variable, value, message):
    result = _settings_with(tmp_path, **{variable: value, "SECRET_KEY": "k"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_production_database_without_secret_key_is_refused(tmp_path):
    result = _settings_with(tmp_path, DATABASE_URL="postgres://u@db/x")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
