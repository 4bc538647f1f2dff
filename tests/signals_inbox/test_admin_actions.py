"""The Django admin: needs with Offer/Author/Dismiss actions, the editable signal map, reprocessing rejects."""
from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from learning.models import Assignment, Course
from signals_inbox.models import InboxSettings, Need, NeedStatus, RejectedSignal
from tests.factories import LearnerFactory
from tests.signals_inbox.factories import post_signal, published_course, send_and_resolve

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    get_user_model().objects.create_superuser(username="root", password="pw-123456", email="r@x.y")
    client.login(username="root", password="pw-123456")
    return client


def _act(admin_client, action: str, need: Need, **extra: str):
    data = {"action": action, "_selected_action": [str(need.pk)], "index": 0, **extra}
    return admin_client.post("/admin/signals_inbox/need/", data, follow=True)


def test_admin_pages_render(admin_client, client, tenant, secret):
    need = send_and_resolve(client, tenant, secret, "signal.incident", site="A", topic="T")

    for url in (
        "/admin/signals_inbox/need/",
        f"/admin/signals_inbox/need/{need.pk}/change/",
        "/admin/signals_inbox/signal/",
        "/admin/signals_inbox/inboxsettings/add/",
        "/admin/signals_inbox/rejectedsignal/",
        "/admin/signals_inbox/auditentry/",
        "/admin/learning/course/",
    ):
        assert admin_client.get(url).status_code == 200, url


def test_offer_author_and_dismiss_actions(admin_client, client, tenant, secret):
    LearnerFactory(tenant=tenant, email="a@b.c")
    published_course(tenant, title="WAH", topic="Working at Heights")
    offered = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Working at Heights")
    authored = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Confined Spaces")
    dismissed = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Ladders")

    offer_form = _act(admin_client, "offer", offered)
    assert offer_form.context["ids"] == str(offered.pk) and not offer_form.redirect_chain  # the selection stays in the POST
    preview = admin_client.post("/admin/signals_inbox/need/offer/", {"ids": str(offered.pk), "target": "need", "preview": "1"})
    previewed = preview.context["fingerprint"]
    admin_client.post("/admin/signals_inbox/need/offer/", {"ids": str(offered.pk), "target": "need", "previewed": previewed, "confirm": "1"})
    _act(admin_client, "author", authored)
    dismiss_form = _act(admin_client, "dismiss", dismissed)
    admin_client.post("/admin/signals_inbox/need/dismiss/", {"ids": dismiss_form.context["ids"], "reason": "covered by toolbox talk"})

    assert Need.objects.get(pk=offered.pk).status == NeedStatus.OFFERED
    assert Assignment.objects.get().learner.email == "a@b.c"
    assert Need.objects.get(pk=authored.pk).status == NeedStatus.AUTHORING
    assert Course.objects.filter(status="draft", topic="Confined Spaces").exists()
    assert Need.objects.get(pk=dismissed.pk).dismiss_reason == "covered by toolbox talk"


def test_dismiss_without_reason_changes_nothing(admin_client, client, tenant, secret):
    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Ladders")

    response = admin_client.post(f"/admin/signals_inbox/need/{need.pk}/dismiss/", {"reason": ""})

    assert response.status_code == 200
    assert Need.objects.get(pk=need.pk).status == NeedStatus.OPEN


def test_signal_map_is_editable_in_the_admin(admin_client, tenant):
    response = admin_client.post(
        "/admin/signals_inbox/inboxsettings/add/",
        {
            "tenant": str(tenant.pk),
            "auto_author": "on",
            "auto_author_threshold": "4",
            "authoring_quota_monthly": "2",
            "entries-TOTAL_FORMS": "1",
            "entries-INITIAL_FORMS": "0",
            "entries-0-type": "near_miss",
            "entries-0-topic": "Hazard Awareness",
            "entries-0-category": "",
            "entries-0-severity": "4",
        },
        follow=True,
    )

    assert response.status_code == 200
    row = InboxSettings.objects.get(tenant=tenant)
    assert (row.auto_author, row.auto_author_threshold, row.authoring_quota_monthly) == (True, 4, 2)
    assert [(e.type, e.topic, e.severity) for e in row.entries.all()] == [("near_miss", "Hazard Awareness", 4)]


def test_reprocess_action_accepts_a_fixed_rejected_signal(admin_client, client, tenant, secret):
    post_signal(client, tenant.slug, json.dumps({"event": "signal.near_miss", "data": {"site": "A"}}).encode(), secret=secret)
    rejected = RejectedSignal.objects.get()
    rejected.body = json.dumps({"event": "signal.near_miss", "data": {"site": "A", "topic": "Hazards"}})
    rejected.save()

    admin_client.post("/admin/signals_inbox/rejectedsignal/", {"action": "reprocess", "_selected_action": [str(rejected.pk)], "index": 0}, follow=True)

    rejected.refresh_from_db()
    assert rejected.reprocessed_signal_id
    assert Need.objects.get().topic == "Hazards"


def test_the_signal_list_filters_the_resolution_backlog(admin_client, client, tenant, secret):
    resolved = send_and_resolve(client, tenant, secret, "signal.incident", site="A", topic="Resolved")
    waiting = post_signal(client, tenant.slug, json.dumps({"event": "signal.incident", "data": {"site": "A", "topic": "Waiting"}}).encode(), secret=secret)
    waiting_id = waiting.json()["signalId"]

    page = admin_client.get("/admin/signals_inbox/signal/?resolution=waiting").content.decode()
    done = admin_client.get("/admin/signals_inbox/signal/?resolution=resolved").content.decode()

    assert waiting_id in page and resolved.signals.get().id not in page
    assert resolved.signals.get().id in done and waiting_id not in done
