"""The console's CSV import: a preview that writes nothing, then the rows written in chunks with progress."""
from __future__ import annotations

import pytest
from django.urls import reverse

from learning.models import Learner
from provisioning.imports import learner_import_run, learner_imports_resend_stalled
from provisioning.models import ImportStatus, LearnerImport
from tests.console.factories import PASSWORD, console_user
from tests.factories import LearnerFactory, TenantFactory
from webhooks.models import Event

pytestmark = pytest.mark.django_db

CSV = (
    "First name,Last name,Email,Worker ID,Site\n"
    "Thabo,Mokoena,thabo@example.com,W-1,North Pit\n"
    "Lerato,Dlamini,lerato@example.com,W-2,North Pit\n"
    "Bad,Email,not-an-email,W-3,\n"
    "Sipho,Updated,,W-9,\n"
)


@pytest.fixture
def admin_client(client):  # noqa: ANN001, ANN201
    tenant = TenantFactory(slug="acme")
    LearnerFactory(tenant=tenant, external_worker_id="W-9", first_name="Sipho", last_name="Old")
    console_user(tenant, "ops")
    client.login(username="ops", password=PASSWORD)
    client.tenant = tenant
    return client


def _upload(client, text: str = CSV, name: str = "people.csv"):  # noqa: ANN001, ANN202
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("admin:learner_import"), {"tenant": client.tenant.slug, "file": SimpleUploadedFile(name, text.encode(), "text/csv")})


def test_preview_shows_creates_updates_and_errors_and_writes_nothing(admin_client):
    response = _upload(admin_client)

    assert response.status_code == 302
    job = LearnerImport.objects.get()
    assert job.preview == {"created": 2, "updated": 1, "unchanged": 0, "failed": 1}
    assert job.errors == [{"line": 4, "field": "email", "message": "Invalid email", "reason": "Enter a valid email address"}]
    page = admin_client.get(response["Location"]).content.decode()
    assert "nothing has been written yet" in page and "Import 3 rows" in page and "not-an-email" not in page
    assert Learner.objects.filter(tenant=admin_client.tenant).count() == 1
    assert not Event.objects.exists()


def test_starting_the_import_writes_the_rows_in_chunks_and_records_progress(admin_client, monkeypatch):
    import provisioning.imports

    monkeypatch.setattr(provisioning.imports, "CHUNK_ROWS", 2)
    _upload(admin_client)
    job = LearnerImport.objects.get()

    response = admin_client.post(reverse("admin:learner_import_action", args=[job.pk, "start"]), {"tenant": "acme"})
    assert response.status_code == 302
    assert LearnerImport.objects.get().status == ImportStatus.QUEUED
    assert learner_import_run(import_id=str(job.pk)) == 4
    job.refresh_from_db()
    assert (job.status, job.processed, job.created, job.updated, job.failed) == (ImportStatus.DONE, 4, 2, 1, 1)
    assert job.errors[0]["line"] == 4
    assert Learner.objects.get(external_worker_id="W-9").last_name == "Updated"
    assert Learner.objects.get(external_worker_id="W-1").site.name == "North Pit"
    assert Event.objects.filter(type="learner.created").count() == 2 and Event.objects.filter(type="learner.updated").count() == 1
    page = admin_client.get(reverse("admin:learner_import_detail", args=[job.pk]), {"tenant": "acme"}).content.decode()
    assert 'id="processed">4</strong> of 4 rows processed (100%)' in page
    # A second message for the same import finds nothing left to do.
    assert learner_import_run(import_id=str(job.pk)) == 0


def test_a_stalled_import_is_sent_again_and_continues_where_it_stopped(admin_client, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    import provisioning.imports

    _upload(admin_client)
    job = LearnerImport.objects.get()
    LearnerImport.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, processed=2, touched_at=timezone.now() - timedelta(minutes=5))
    resent: list = []
    monkeypatch.setattr(provisioning.imports.imports_due, "send_robust", lambda sender, import_ids: resent.append(import_ids))

    assert learner_imports_resend_stalled() == 1
    assert resent == [[str(job.pk)]]
    learner_import_run(import_id=str(job.pk))
    assert not Learner.objects.filter(external_worker_id__in=["W-1", "W-2"]).exists()  # the first two rows counted as done
    assert Learner.objects.get(external_worker_id="W-9").last_name == "Updated"


def test_unreadable_files_are_refused_with_a_reason(admin_client):
    for text, reason in [
        ("Name;Shoe size\nA;42\n", "unknown column"),
        ("firstName,lastName\nA,B\n", "externalWorkerId or an email column"),
        ("email\n", "no rows"),
    ]:
        page = _upload(admin_client, text).content.decode()
        assert reason in page, page[:2000]
    assert not LearnerImport.objects.exists()


def test_viewers_cannot_import_and_other_tenants_imports_are_not_found(admin_client, client):
    _upload(admin_client)
    job = LearnerImport.objects.get()
    other = TenantFactory(slug="other")
    console_user(other, "stranger")
    console_user(admin_client.tenant, "reader", role="viewer")

    client.login(username="stranger", password=PASSWORD)
    assert client.get(reverse("admin:learner_import_detail", args=[job.pk]), {"tenant": "other"}).status_code == 404
    assert client.post(reverse("admin:learner_import_action", args=[job.pk, "start"]), {"tenant": "other"}).status_code == 404
    client.login(username="reader", password=PASSWORD)
    assert client.post(reverse("admin:learner_import_action", args=[job.pk, "start"]), {"tenant": "acme"}).status_code == 403
    assert LearnerImport.objects.get().status == ImportStatus.PREVIEWED
