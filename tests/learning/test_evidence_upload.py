"""Evidence uploads: stored under our own name through the storage API, checked on size and bytes while streaming."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from learning.evidence.models import Evidence, Task
from tests.learning.evidence_helpers import EXE, HTML, PDF, PNG, make_learner, raw_upload, upload, url
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def _stored_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_upload_stores_the_file_under_our_name_and_records_the_event_and_a_review_task(api, tenant):
    learner = make_learner(api, tenant)

    response = upload(api, tenant, learner_id=learner["id"], content=PNG, name="site photo.png", content_type="image/png", kind="photo")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["contentType"] == "image/png" and body["size"] == len(PNG) and body["status"] == "submitted"
    assert body["fileName"] == "site photo.png"
    evidence = Evidence.objects.get(pk=body["id"])
    assert evidence.storage_name == f"evidence/{tenant.pk}/{evidence.pk}.png"
    assert (Path(settings.MEDIA_ROOT) / evidence.storage_name).read_bytes() == PNG
    assert body["downloadUrl"].endswith(f"/api/v1/tenants/{tenant.slug}/evidence/{evidence.pk}/download")
    task = Task.objects.get(evidence=evidence)
    assert task.status == "open" and task.kind == "evidence_review"
    types = list(Event.objects.filter(tenant=tenant).values_list("type", flat=True))
    assert "evidence.uploaded" in types and "task.created" in types


def test_the_content_type_comes_from_the_bytes_not_the_clients_header(api, tenant):
    learner = make_learner(api, tenant)

    response = upload(api, tenant, learner_id=learner["id"], content=PDF, name="scan.png", content_type="image/png")

    assert response.status_code == 201
    assert response.json()["contentType"] == "application/pdf"


@pytest.mark.parametrize(
    ("content", "name", "content_type", "status", "field"),
    [
        (HTML, "report.pdf", "application/pdf", 400, "file"),  # wrong bytes behind an allowed header
        (EXE, "photo.png", "image/png", 400, "file"),
        (b"", "empty.pdf", "application/pdf", 400, "file"),
    ],
    ids=["html-as-pdf", "exe-as-png", "empty"],
)
def test_a_bad_upload_is_refused_and_nothing_is_stored(api, tenant, content, name, content_type, status, field):
    learner = make_learner(api, tenant)
    events_before = Event.objects.count()

    response = upload(api, tenant, learner_id=learner["id"], content=content, name=name, content_type=content_type)

    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"]["field"] == field
    assert Evidence.objects.count() == 0 and Task.objects.count() == 0
    assert Event.objects.count() == events_before
    assert _stored_files() == []


@pytest.mark.parametrize("file_name", ["../../etc/passwd.pdf", "/tmp/cert.pdf", "..\\windows\\cert.pdf", "C:cert.pdf", ".."])
def test_a_file_name_with_a_path_is_refused_and_nothing_is_stored(api, tenant, file_name):
    learner = make_learner(api, tenant)

    response = raw_upload(api, tenant, learner_id=learner["id"], file_name=file_name)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"]["field"] == "file"
    assert Evidence.objects.count() == 0 and _stored_files() == []


def test_a_plain_file_name_in_a_hand_built_body_is_accepted(api, tenant):
    learner = make_learner(api, tenant)
    response = raw_upload(api, tenant, learner_id=learner["id"], file_name="induction cert.pdf")
    assert response.status_code == 201, response.content
    assert response.json()["fileName"] == "induction cert.pdf"


def test_an_upload_over_the_limit_is_refused_with_413_while_streaming(api, tenant, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 200 * 1024
    learner = make_learner(api, tenant)

    response = upload(api, tenant, learner_id=learner["id"], content=PDF + b"0" * (300 * 1024))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert Evidence.objects.count() == 0 and _stored_files() == []


def test_a_declared_body_far_over_the_limit_is_refused_before_it_is_read(api, tenant, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1024
    response = api.generic(
        "POST", url(tenant, "evidence"), b"x", content_type="multipart/form-data; boundary=b", CONTENT_LENGTH=str(5 * 1024 * 1024)
    )
    assert response.status_code == 413


def test_a_file_just_under_the_limit_is_accepted(api, tenant, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 200 * 1024
    learner = make_learner(api, tenant)
    content = PDF + b"0" * (200 * 1024 - len(PDF))

    response = upload(api, tenant, learner_id=learner["id"], content=content)

    assert response.status_code == 201
    assert response.json()["size"] == 200 * 1024


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"learnerId": "not-a-learner"}, "learnerId"),
        ({"title": ""}, "title"),
        ({"kind": "selfie"}, "kind"),
        ({"courseId": "00000000-0000-0000-0000-000000000000"}, "courseId"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_stored(api, tenant, fields, field):
    learner = make_learner(api, tenant)
    merged = {"learner_id": learner["id"], **({"learner_id": fields.pop("learnerId")} if "learnerId" in fields else {})}

    response = upload(api, tenant, **merged, **fields)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"]["field"] == field
    assert Evidence.objects.count() == 0 and _stored_files() == []


def test_a_json_body_is_not_an_upload(api, tenant):
    learner = make_learner(api, tenant)
    response = api.post(url(tenant, "evidence"), {"learnerId": learner["id"], "title": "x"}, format="json")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_office_documents_are_recognised_from_their_zip_parts():
    from learning.evidence.sniffing import sniff

    docx_head = b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml" + b"\x00" * 100 + b"PK\x03\x04" + b"word/document.xml"
    assert sniff(docx_head) == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert sniff(b"PK\x03\x04" + b"\x00" * 26 + b"payload.exe") is None
