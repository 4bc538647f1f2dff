"""The OpenAPI document generates a working client: openapi-python-client, every module imported, driven live."""
from __future__ import annotations

import importlib
import io
import pkgutil
import subprocess
import sys
import time

import pytest
import requests
from django.core.signals import request_started

from learning.models import Learner
from learning.services import learner_create
from tests.factories import TenantFactory, make_api_key
from tests.learning.evidence_helpers import PDF

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PACKAGE = "skillhub_generated_client"


@pytest.fixture
def generated(live_server, tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    """The client generated from the live server's /api/v1/openapi.json, importable as PACKAGE."""
    document = requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=60)
    assert document.status_code == 200
    (tmp_path / "openapi.json").write_bytes(document.content)
    (tmp_path / "config.yaml").write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json", "--config", "config.yaml", "--meta", "none"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The generator warns about every schema it cannot name or operation it cannot build; there must be none.
    assert "Warning" not in result.stdout + result.stderr and "Unable" not in result.stdout + result.stderr, result.stdout
    assert time.monotonic() - started < 60
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    yield importlib.import_module(PACKAGE)
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


@pytest.fixture
def content_types():  # noqa: ANN201
    """The Content-Type of each request the server receives, by method and path."""
    seen: list[tuple[str, str, str]] = []

    def record(sender, environ, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("CONTENT_TYPE", "")))

    request_started.connect(record, dispatch_uid="generated-client-content-types")
    yield seen
    request_started.disconnect(dispatch_uid="generated-client-content-types")


def test_every_generated_module_imports(generated):  # noqa: ANN001
    modules = [m.name for m in pkgutil.walk_packages(generated.__path__, PACKAGE + ".")]
    failures = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001  (every failure is listed, not just the first)
            failures[name] = repr(exc)
    assert len(modules) > 100 and failures == {}


def test_the_generated_client_creates_walks_and_uploads(generated, live_server, content_types):  # noqa: ANN001
    tenant = TenantFactory(slug="acme")
    raw = make_api_key(tenant)
    for n in range(6):
        learner_create(tenant=tenant, values={"first_name": f"Seed{n}", "last_name": "Learner"})
    learners = importlib.import_module(f"{PACKAGE}.api.tenants.learners_create")
    listing = importlib.import_module(f"{PACKAGE}.api.tenants.learners_list")
    upload = importlib.import_module(f"{PACKAGE}.api.tenants.evidence_upload")
    models = importlib.import_module(f"{PACKAGE}.models")
    types = importlib.import_module(f"{PACKAGE}.types")
    client = generated.AuthenticatedClient(base_url=live_server.url, token=raw, raise_on_unexpected_status=True)

    created = learners.sync_detailed(
        slug="acme", client=client, body=models.LearnerInputRequest(first_name="Thabo", last_name="Mokoena", email="thabo@acme.example")
    )
    assert created.status_code == 201
    assert created.parsed.email == "thabo@acme.example" and Learner.objects.filter(email="thabo@acme.example").exists()
    assert ("POST", "/api/v1/tenants/acme/learners", "application/json") in content_types

    seen, cursor, pages = [], types.UNSET, 0
    while True:
        page = listing.sync(slug="acme", client=client, limit=3, cursor=cursor)
        seen += [row.id for row in page.data]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert pages == 3 and len(seen) == len(set(seen)) == 7

    uploaded = upload.sync_detailed(
        slug="acme",
        client=client,
        body=models.EvidenceUploadRequest(
            file=types.File(payload=io.BytesIO(PDF), file_name="heights.pdf", mime_type="application/pdf"),
            learner_id=str(created.parsed.id),
            title="Working at Heights certificate",
        ),
    )
    assert uploaded.status_code == 201 and uploaded.parsed.learner_id == created.parsed.id
    assert any(m == "POST" and p.endswith("/evidence") and c.startswith("multipart/form-data") for m, p, c in content_types)
