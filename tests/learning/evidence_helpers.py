"""Helpers of the skills-evidence tests: real file bytes of each kind and API calls that upload them."""
from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tenants.models import Tenant

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!doctype html><script>alert(1)</script>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def url(tenant: Tenant, path: str) -> str:
    return f"/api/v1/tenants/{tenant.slug}/{path.lstrip('/')}"


def upload(
    api: APIClient,
    tenant: Tenant,
    *,
    learner_id: str,
    content: bytes = PDF,
    name: str = "certificate.pdf",
    content_type: str = "application/pdf",
    **fields: Any,
) -> Any:
    """POST a multipart upload of `content` as a learner's evidence; return the response."""
    body = {"file": SimpleUploadedFile(name, content, content_type=content_type), "learnerId": learner_id, "title": "Site induction certificate", **fields}
    return api.post(url(tenant, "evidence"), body, format="multipart")


def raw_upload(api: APIClient, tenant: Tenant, *, learner_id: str, file_name: str, content: bytes = PDF) -> Any:
    """POST a hand-built multipart body, so the file name reaches the server exactly as given."""
    boundary = "skillhub-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="learnerId"\r\n\r\n{learner_id}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nCertificate\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: application/pdf\r\n\r\n".encode()
        + content
        + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return api.generic("POST", url(tenant, "evidence"), b"".join(parts), content_type=f"multipart/form-data; boundary={boundary}")


def make_learner(api: APIClient, tenant: Tenant, n: int = 1) -> dict:
    response = api.post(url(tenant, "learners"), {"firstName": f"Lerato{n}", "lastName": "Khumalo", "email": f"lerato{n}@example.com"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client
