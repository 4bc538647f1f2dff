"""The CSV import in a real browser: from the learner list, upload, preview, import, progress."""
from __future__ import annotations

import pytest

from learning.models import Learner
from provisioning.imports import learner_import_run
from provisioning.models import LearnerImport
from tests.console.test_browser import browser, console, demo  # noqa: F401  (the console fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = "firstName,lastName,email,externalWorkerId,site\nAyanda,Zulu,ayanda@example.com,CSV-1,Site A\nBongani,Khumalo,bongani@example.com,CSV-2,Site B\nBroken,Row,not-an-email,CSV-3,\n"


def test_csv_import_preview_then_import_with_progress(console, tmp_path):  # noqa: F811, ANN001
    csv_file = tmp_path / "new-starters.csv"
    csv_file.write_text(CSV)
    console.go("/admin/learning/learner/")
    console.page.click("#import-learners")
    console.page.wait_for_selector("text=Import a CSV file")
    console.shot("learner-import-upload")
    console.page.set_input_files("input[type=file]", str(csv_file))
    with console.page.expect_navigation():
        console.page.click("input[name=_preview]")

    assert console.page.inner_text("#preview-created") == "2"
    assert console.page.inner_text("#preview-failed") == "1"
    assert "not-an-email" not in console.text() and "Enter a valid email address" in console.text()
    assert not Learner.objects.filter(external_worker_id__startswith="CSV-").exists()
    console.shot("learner-import-preview")

    with console.page.expect_navigation():
        console.page.click("#start-import")
    assert "Importing 3 rows" in console.text()
    learner_import_run(import_id=str(LearnerImport.objects.get().pk))  # what the worker does with the message
    console.page.reload()
    assert console.page.get_attribute("#content-main", "data-status") == "done"
    assert console.page.inner_text("#done-created") == "2"
    console.shot("learner-import-done")
    assert set(Learner.objects.filter(external_worker_id__startswith="CSV-").values_list("external_worker_id", flat=True)) == {"CSV-1", "CSV-2"}
