"""Author drafts a course seeded from the need's signals; Dismiss closes a need with a reason."""
from __future__ import annotations

import pytest

from learning.models import Course, CourseStatus
from signals_inbox.authoring import BuiltinOutlineAuthor, SignalDigest
from signals_inbox.models import AuditEntry, Need, NeedStatus
from tests.signals_inbox.factories import send_and_resolve
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def test_author_creates_a_draft_seeded_from_the_signals(api, client, tenant, secret):
    need = send_and_resolve(
        client, tenant, secret, "signal.incident", site="Site A", topic="Confined Spaces", payload={"ref": "INC-2043", "summary": "gas alarm"}
    )
    send_and_resolve(client, tenant, secret, "signal.incident", site="Site A", topic="Confined Spaces", payload={"ref": "INC-2044"})

    response = api.post(f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}/author")

    assert response.status_code == 201, response.json()
    course = Course.objects.get()
    assert course.status == CourseStatus.DRAFT
    assert course.topic == "Confined Spaces"
    assert course.authored_from_need == str(need.pk)
    outline = course.outline
    assert outline["audience"] == {"sites": ["Site A"], "signalTypes": ["incident"]}
    assert any("ref: INC-2043" in fact for fact in outline["sourceFacts"])
    assert any(module["title"] == "Learning from the incident" for module in outline["modules"])
    assert all(module["objectives"] for module in outline["modules"])
    assert len(outline["quiz"]["questions"]) >= 4
    need.refresh_from_db()
    assert need.status == NeedStatus.AUTHORING
    assert need.authored_course == course
    assert Event.objects.get(type="need.authored").data["courseId"] == str(course.pk)
    assert AuditEntry.objects.filter(action="authored", need=need).exists()


def test_authoring_twice_is_a_conflict(api, client, tenant, secret):
    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Confined Spaces")
    api.post(f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}/author")

    response = api.post(f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}/author")

    assert response.status_code == 409
    assert Course.objects.count() == 1


def test_authoring_backend_is_replaceable_by_setting(api, client, tenant, secret, settings):
    settings.SIGNALS_OUTLINE_AUTHOR = "tests.signals_inbox.test_author_and_dismiss.FixedAuthor"
    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Confined Spaces")

    api.post(f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}/author")

    assert Course.objects.get().outline == {"title": "Fixed: Confined Spaces", "signals": 1}


class FixedAuthor:
    """A stand-in text-generation backend."""

    def draft_outline(self, topic: str, signals: list[SignalDigest]) -> dict:
        return {"title": f"Fixed: {topic}", "signals": len(signals)}


def test_builtin_outline_covers_each_signal_type():
    outline = BuiltinOutlineAuthor().draft_outline(
        "Working at Heights",
        [SignalDigest(type="credential_expiring", severity=3, payload={"expires_at": "2026-07-15"}), SignalDigest(type="role_assigned")],
    )

    titles = [module["title"] for module in outline["modules"]]
    assert titles[0] == "Introduction to Working at Heights"
    assert "Refresher: what has changed since you qualified" in titles and "Ready for the new role" in titles
    assert outline["title"] == "Working at Heights refresher"
    assert outline["priority"] == "soon"


def test_dismiss_needs_a_reason(api, client, tenant, secret):
    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic="WAH")

    response = api.post(f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}/dismiss", {"reason": "  "}, format="json")

    assert response.status_code == 400
    need.refresh_from_db()
    assert need.status == NeedStatus.OPEN


def test_dismiss_closes_the_need_and_records_it(api, client, tenant, secret):
    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic="WAH")

    response = api.post(f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}/dismiss", {"reason": "Licence renewed offline"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "dismissed"
    need.refresh_from_db()
    assert (need.status, need.dismiss_reason) == (NeedStatus.DISMISSED, "Licence renewed offline")
    assert need.closed_at is not None
    assert Event.objects.get(type="need.dismissed").data["reason"] == "Licence renewed offline"
    assert AuditEntry.objects.get(action="dismissed").details == {"reason": "Licence renewed offline"}


def test_a_changed_data_point_after_dismissal_opens_a_new_need(client, tenant, secret):
    from signals_inbox.services import need_dismiss

    first = send_and_resolve(client, tenant, secret, email="a@b.c", topic="WAH", payload={"expires": "2025-01-31"})
    need_dismiss(need=first, actor="test", reason="handled")

    second = send_and_resolve(client, tenant, secret, email="a@b.c", topic="WAH", payload={"expires": "2026-01-31"})

    assert second.pk != first.pk
    assert Need.objects.filter(status=NeedStatus.OPEN).count() == 1
