"""Exports: 202 with an id, written in keyset batches with progress, a link that expires, restarts by lease."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from learning.evidence.models import Export
from learning.evidence.services import export_policy_set, export_run, exports_expire, exports_resend_due
from learning.evidence.services import exports as exports_module
from learning.evidence.services.exports import MAX_ATTEMPTS, _claim
from tenants.models import Role
from tests.factories import LearnerFactory, TenantFactory, make_api_key
from tests.learning.evidence_helpers import client_for, url
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def _request(api, tenant, **body):  # noqa: ANN001, ANN003, ANN202
    response = api.post(url(tenant, "exports"), {"kind": "learners", "format": "csv", **body}, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def _csv(response) -> list[list[str]]:  # noqa: ANN001
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_an_export_is_accepted_written_and_downloaded(api, tenant, settings):
    settings.SKILLHUB_PUBLIC_URL = "https://skillhub.example.com"
    learners = LearnerFactory.create_batch(5, tenant=tenant)
    LearnerFactory(tenant=TenantFactory())  # another tenant's row never leaks in

    export = _request(api, tenant)
    assert export["status"] == "queued" and export["progress"] == {"rows": 0, "total": None, "percent": 0}

    assert export_run(export_id=export["id"], batch_size=2) == "done"

    shown = api.get(url(tenant, f"exports/{export['id']}")).json()
    assert shown["status"] == "done" and shown["rows"] == 5 and shown["percent"] == 100
    assert shown["downloadUrl"] == f"https://skillhub.example.com/api/v1/tenants/{tenant.slug}/exports/{export['id']}/download"
    event = Event.objects.get(tenant=tenant, type="export.ready")
    assert event.data["downloadUrl"] == shown["downloadUrl"] and event.data["rows"] == 5 and event.data["expiresAt"]
    response = api.get(url(tenant, f"exports/{export['id']}/download"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:3] == ["id", "firstName", "lastName"]
    assert [r[0] for r in rows[1:]] == sorted(str(learner.pk) for learner in learners)  # in id order
    first = next(r for r in rows[1:] if r[0] == str(learners[0].pk))
    assert first[1] == learners[0].first_name and first[6] == ""  # no site: an empty cell
    assert first[-1].endswith("Z") and "T" in first[-1]  # ISO 8601 in UTC, on every database


def test_progress_is_updated_batch_by_batch(api, tenant, monkeypatch):
    LearnerFactory.create_batch(5, tenant=tenant)
    export = _request(api, tenant)
    seen: list[tuple[int, int, int | None]] = []
    original = exports_module._batches

    def watching(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        for written in original(*args, **kwargs):
            row = Export.objects.get(pk=export["id"])
            seen.append((written, row.rows, row.total))
            yield written

    monkeypatch.setattr(exports_module, "_batches", watching)
    export_run(export_id=export["id"], batch_size=2)

    # Each batch of two is counted before the next is read; the lease is renewed with it.
    assert seen == [(2, 0, 5), (2, 2, 5), (1, 4, 5)]
    assert Export.objects.get(pk=export["id"]).rows == 5


def test_filters_narrow_the_rows_and_bad_ones_are_refused(api, tenant):
    LearnerFactory.create_batch(2, tenant=tenant)
    LearnerFactory(tenant=tenant, status="suspended")

    export = _request(api, tenant, filters={"status": "suspended"})
    export_run(export_id=export["id"])
    assert Export.objects.get(pk=export["id"]).rows == 1

    for body, field in (
        ({"kind": "learners", "filters": {"status": "asleep"}}, "filters.status"),
        ({"kind": "learners", "filters": {"colour": "red"}}, "filters.colour"),
        ({"kind": "payroll"}, "kind"),
        ({"kind": "learners", "format": "xlsx"}, "format"),
        ({"kind": "enrollments", "filters": {"learnerId": "nope"}}, "filters.learnerId"),
    ):
        response = api.post(url(tenant, "exports"), body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error"]["details"]["field"] == field
    assert Export.objects.count() == 1


@pytest.mark.parametrize("kind", ["enrollments", "assessments", "evidence"])
def test_every_kind_exports_with_its_header(api, tenant, kind):
    export = _request(api, tenant, kind=kind)
    assert export_run(export_id=export["id"]) == "done"
    rows = _csv(api.get(url(tenant, f"exports/{export['id']}/download")))
    assert rows[0][0] == "id" and len(rows) == 1


def test_a_failed_export_says_why(api, tenant, monkeypatch):
    LearnerFactory(tenant=tenant)
    export = _request(api, tenant)

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError("disk full")
        yield  # pragma: no cover

    monkeypatch.setattr(exports_module, "_batches", broken)
    assert export_run(export_id=export["id"]) == "failed"

    shown = api.get(url(tenant, f"exports/{export['id']}")).json()
    assert shown["status"] == "failed" and "disk full" in shown["error"] and shown["downloadUrl"] is None
    assert api.get(url(tenant, f"exports/{export['id']}/download")).status_code == 409
    assert not Event.objects.filter(type="export.ready").exists()


def test_a_worker_killed_mid_export_is_restarted_by_the_sweep(api, tenant, stub_broker):
    LearnerFactory.create_batch(3, tenant=tenant)
    export = _request(api, tenant)
    # A worker claims it and dies: nothing renews the lease.
    claim = _claim(export["id"], now=timezone.now())
    assert claim is not None
    _, dead_token = claim
    assert export_run(export_id=export["id"]) == "not due"  # a duplicate message while the lease holds
    Export.objects.filter(pk=export["id"]).update(lease_until=timezone.now() - timedelta(seconds=1), enqueued_at=timezone.now() - timedelta(minutes=5))

    assert exports_resend_due() == 1
    assert stub_broker.queues["exports"].qsize() >= 1
    assert export_run(export_id=export["id"]) == "done"

    row = Export.objects.get(pk=export["id"])
    assert row.status == "done" and row.rows == 3 and row.attempts == 2 and row.lease_token != dead_token


def test_an_export_that_keeps_dying_fails_instead_of_running_forever(api, tenant):
    export = _request(api, tenant)
    for _ in range(MAX_ATTEMPTS):
        assert _claim(export["id"], now=timezone.now()) is not None
        Export.objects.filter(pk=export["id"]).update(lease_until=timezone.now() - timedelta(seconds=1))

    assert export_run(export_id=export["id"]) == "failed"
    assert "stopped before finishing" in Export.objects.get(pk=export["id"]).error


def test_expired_exports_answer_410_and_the_sweep_deletes_their_files(api, tenant, media_root):
    export_policy_set(tenant=tenant, retention_hours=2)
    export = _request(api, tenant)
    export_run(export_id=export["id"])
    row = Export.objects.get(pk=export["id"])
    assert timedelta(hours=1, minutes=59) < row.expires_at - row.finished_at <= timedelta(hours=2)
    stored = Path(media_root) / row.storage_name
    assert stored.exists()

    Export.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.get(url(tenant, f"exports/{export['id']}/download"))
    assert response.status_code == 410 and response.json()["error"]["code"] == "GONE"

    assert exports_expire() == 1
    assert not stored.exists()
    assert api.get(url(tenant, f"exports/{export['id']}")).json()["status"] == "expired"
    assert api.get(url(tenant, f"exports/{export['id']}/download")).status_code == 410


def test_download_is_for_the_owning_tenant_with_exports_read_only(api, tenant):
    export = _request(api, tenant)
    export_run(export_id=export["id"])
    other = TenantFactory()

    assert client_for(make_api_key(other)).get(url(other, f"exports/{export['id']}/download")).status_code == 404
    assert client_for(make_api_key(other)).get(url(tenant, f"exports/{export['id']}/download")).status_code == 404
    no_scope = client_for(make_api_key(tenant, role=Role.ADMIN, scopes=["exports:write", "learners:read"]))
    assert no_scope.get(url(tenant, f"exports/{export['id']}/download")).status_code == 403
    reader = client_for(make_api_key(tenant, role=Role.VIEWER, scopes=["exports:read"]))
    assert reader.get(url(tenant, f"exports/{export['id']}/download")).status_code == 200


def test_the_actor_runs_the_export_by_id(api, tenant):
    from learning.evidence.actors import run_export

    export = _request(api, tenant)
    run_export.fn(export["id"])
    run_export.fn(export["id"])  # a second message finds nothing to do
    assert Export.objects.get(pk=export["id"]).status == "done"
    assert Event.objects.filter(type="export.ready").count() == 1


def test_the_scheduler_and_the_workers_find_the_export_sweeps_and_actor():
    from skillhub.scheduler import load_sweeps
    from skillhub.tasks import import_actors

    assert "learning.actors" in import_actors()
    sweeps = load_sweeps()
    assert {"learning.evidence.sweeps.resend_stalled_exports", "learning.evidence.sweeps.expire_old_exports"} <= set(sweeps)
