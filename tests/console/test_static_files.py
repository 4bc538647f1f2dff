"""Static files are collected when their sources change and served by WhiteNoise, compressed and cached."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from skillhub.console.staticfiles import collect_if_needed

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = {**settings.STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}


@pytest.mark.slow
@pytest.mark.django_db
def test_collected_static_files_are_served_hashed_compressed_and_cached_for_a_year(tmp_path):
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=MANIFEST, WHITENOISE_USE_FINDERS=False, WHITENOISE_AUTOREFRESH=False):
        assert collect_if_needed(lambda line: None) is True
        assert collect_if_needed(lambda line: None) is False  # nothing changed: no second collection
        client = Client()
        login_page = client.get("/admin/login/")
        assert login_page.status_code == 200
        stylesheets = re.findall(r'href="(/static/[^"]+\.css)"', login_page.content.decode())
        assert any("console/console." in href for href in stylesheets)
        for href in stylesheets:
            assert re.search(r"\.[0-9a-f]{12}\.css$", href), href  # hashed names
            response = client.get(href, HTTP_ACCEPT_ENCODING="gzip")
            assert response.status_code == 200, href
            assert response["Content-Encoding"] == "gzip"
            assert "max-age=315360000" in response["Cache-Control"] and "immutable" in response["Cache-Control"]
        docs = client.get("/api/v1/docs")
        scripts = re.findall(r'src="(/static/[^"]+\.js)"', docs.content.decode())
        assert scripts and all(client.get(src).status_code == 200 for src in scripts)


def _public_url(tmp_path, **env: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DRAMATIQ_BROKER_URL", "PORT", "SKILLHUB_PUBLIC_URL"}}
    clean.update({"SKILLHUB_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "skillhub.settings", **env})
    code = "import django; django.setup(); from django.conf import settings; print(settings.PORT, settings.SKILLHUB_PUBLIC_URL)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_printed_urls_follow_the_port_unless_a_public_url_is_set(tmp_path):
    assert _public_url(tmp_path).stdout.split() == ["8000", "http://127.0.0.1:8000"]
    assert _public_url(tmp_path, PORT="8123").stdout.split() == ["8123", "http://127.0.0.1:8123"]
    assert _public_url(tmp_path, PORT="8123", SKILLHUB_PUBLIC_URL="https://skillhub.example.com/").stdout.split() == ["8123", "https://skillhub.example.com"]
    refused = _public_url(tmp_path, PORT="eighty")
    assert refused.returncode != 0 and "PORT must be a whole number" in refused.stderr


def test_a_malformed_throttle_rate_stops_start_up(tmp_path):
    refused = _public_url(tmp_path, ANONYMOUS_API_RATE="lots")
    assert refused.returncode != 0 and "ANONYMOUS_API_RATE must look like" in refused.stderr
    assert _public_url(tmp_path, CONSOLE_LOGIN_FAILURES="5/15m").returncode == 0
