"""Evidence files are safe to download: clean names with the extension of what the bytes are; no zip bombs stored."""
from __future__ import annotations

import io
import zipfile

import pytest

from learning.evidence.models import Evidence
from tests.learning.evidence_helpers import PDF, make_learner, raw_upload, upload, url
from webhooks.models import Event

pytestmark = pytest.mark.django_db

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
POLYGLOT = PDF + b"<html><body><script>alert(document.cookie)</script></body></html>\n"


def _docx(inflated: int) -> bytes:
    """A real DOCX package whose document part inflates to `inflated` bytes of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        with package.open("word/document.xml", "w", force_zip64=True) as part:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(inflated // len(chunk)):
                part.write(chunk)
            part.write(b"\x00" * (inflated % len(chunk)))
    return buffer.getvalue()


def _download(api, tenant, evidence_id: str):  # noqa: ANN001, ANN202
    return api.get(url(tenant, f"evidence/{evidence_id}/download"))


def test_a_pdf_html_polyglot_named_html_downloads_as_pdf(api, tenant):  # noqa: ANN001
    learner = make_learner(api, tenant)
    response = upload(api, tenant, learner_id=learner["id"], content=POLYGLOT, name="poly.html", content_type="text/html")

    assert response.status_code == 201, response.content
    assert response.json()["contentType"] == "application/pdf" and response.json()["fileName"] == "poly.pdf"
    download = _download(api, tenant, response.json()["id"])
    assert download["Content-Disposition"] == 'attachment; filename="poly.pdf"'
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff" and "sandbox" in download["Content-Security-Policy"]
    assert Event.objects.get(type="evidence.uploaded").data["fileName"] == "poly.pdf"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("inv\u202efdp.exe", "invfdp.pdf"),  # shown as "invexe.pdf" by a bidi-aware screen
        ("report\u2066\u200b\u200f.pdf", "report.pdf"),
        ("bell\x07and\x1b[31mescape.pdf", "belland[31mescape.pdf"),
        ("Scan 2026.PDF", "Scan 2026.PDF"),
        (".hidden.pdf", "hidden.pdf"),
        ('quote" onmouseover=1 x.pdf', "quote onmouseover=1 x.pdf"),
    ],
    ids=["rlo-exe", "bidi-isolates-and-zero-width", "controls", "own-extension-kept", "leading-dot", "quote"],
)
def test_stored_names_lose_control_and_bidi_characters_and_carry_the_recognised_extension(api, tenant, sent, kept):  # noqa: ANN001
    learner = make_learner(api, tenant)
    response = raw_upload(api, tenant, learner_id=learner["id"], file_name=sent)

    assert response.status_code == 201, response.content
    assert response.json()["fileName"] == kept
    assert Evidence.objects.get().file_name == kept
    assert _download(api, tenant, response.json()["id"])["Content-Disposition"] == f'attachment; filename="{kept}"'


def test_a_name_stored_before_the_cleaning_downloads_clean(api, tenant):  # noqa: ANN001
    learner = make_learner(api, tenant)
    created = upload(api, tenant, learner_id=learner["id"]).json()
    Evidence.objects.filter(pk=created["id"]).update(file_name="x\u202egnp.html")

    disposition = _download(api, tenant, created["id"])["Content-Disposition"]

    assert disposition == 'attachment; filename="xgnp.pdf"'


def test_a_docx_that_declares_200_mib_inside_is_refused_and_nothing_is_stored(api, tenant, media_root):  # noqa: ANN001
    learner = make_learner(api, tenant)
    bomb = _docx(200 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024  # small on the wire

    response = upload(api, tenant, learner_id=learner["id"], content=bomb, name="cv.docx", content_type=DOCX)

    assert response.status_code == 413, response.content
    error = response.json()["error"]
    assert error["code"] == "PAYLOAD_TOO_LARGE" and error["details"]["field"] == "file" and "inflates" in error["message"]
    assert not Evidence.objects.exists() and not Event.objects.filter(type="evidence.uploaded").exists()
    assert not any(path.is_file() for path in media_root.rglob("*"))


def test_the_inflated_limit_is_a_setting_and_a_document_under_it_is_accepted(api, tenant, settings):  # noqa: ANN001
    learner = make_learner(api, tenant)
    settings.EVIDENCE_MAX_INFLATED_BYTES = 3 * 1024 * 1024
    accepted = upload(api, tenant, learner_id=learner["id"], content=_docx(2 * 1024 * 1024), name="cv.docx", content_type=DOCX)
    assert accepted.status_code == 201 and accepted.json()["contentType"] == DOCX and accepted.json()["fileName"] == "cv.docx"
    refused = upload(api, tenant, learner_id=learner["id"], content=_docx(4 * 1024 * 1024), name="cv.docx", content_type=DOCX)
    assert refused.status_code == 413


def test_an_office_file_with_a_damaged_zip_directory_is_refused(api, tenant):  # noqa: ANN001
    learner = make_learner(api, tenant)
    damaged = _docx(1024)[:-30]  # the end of central directory cut off

    response = upload(api, tenant, learner_id=learner["id"], content=damaged, name="cv.docx", content_type=DOCX)

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "file" and not Evidence.objects.exists()


def test_whitespace_controls_become_spaces():
    from learning.evidence.sniffing import safe_file_name

    assert safe_file_name("line\r\nbreak\tand  more.PNG", "image/png") == "line break and more.PNG"
    assert safe_file_name("", "application/pdf") == "evidence.pdf"
    assert len(safe_file_name("x" * 500 + ".pdf", "application/pdf")) == 200
