"""Reading signals and needs over the API: the raw data point, filters, paging."""
from __future__ import annotations

import pytest

from tests.signals_inbox.factories import send_and_resolve

pytestmark = pytest.mark.django_db


def test_signal_detail_is_the_raw_data_point(api, client, tenant, secret):
    need = send_and_resolve(client, tenant, secret, "signal.incident", site="Site A", topic="Manual Handling", payload={"ref": "INC-2043"})
    signal = need.signals.get()

    body = api.get(f"/api/v1/tenants/{tenant.slug}/signals/{signal.pk}").json()

    assert body["event"] == "signal.incident"
    assert body["data"] == {"site": "Site A", "topic": "Manual Handling", "payload": {"ref": "INC-2043"}}
    assert body["needId"] == str(need.pk)
    assert body["deduped"] is False and body["resolvedAt"]


def test_needs_filter_by_status_topic_site_and_severity(api, client, tenant, secret):
    a = send_and_resolve(client, tenant, secret, "signal.incident", site="Site A", topic="Manual Handling", severity=4)
    send_and_resolve(client, tenant, secret, "signal.incident", site="Site B", topic="Ladders", severity=2)
    url = f"/api/v1/tenants/{tenant.slug}/needs"

    def ids(**params) -> list[str]:
        return [n["id"] for n in api.get(url, params).json()["data"]]

    assert ids(site="Site A") == [str(a.pk)]
    assert ids(severity=4) == [str(a.pk)]
    assert ids(topic="manual handlings") == [str(a.pk)]
    assert ids(status="open", site="Site A") == [str(a.pk)]
    assert ids(status="dismissed") == []
    assert len(ids()) == 2


def test_bad_need_filters_are_400(api, tenant):
    response = api.get(f"/api/v1/tenants/{tenant.slug}/needs", {"severity": 7})

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "severity"


def test_unknown_need_and_signal_ids_are_404(api, tenant):
    assert api.get(f"/api/v1/tenants/{tenant.slug}/needs/not-a-uuid").status_code == 404
    assert api.get(f"/api/v1/tenants/{tenant.slug}/signals/sig_nope").status_code == 404


def test_signals_list_pages_with_a_cursor(api, client, tenant, secret):
    for index in range(3):
        send_and_resolve(client, tenant, secret, "signal.incident", site=f"Site {index}", topic="T")
    url = f"/api/v1/tenants/{tenant.slug}/signals"

    first = api.get(url, {"limit": 2}).json()
    rest = api.get(url, {"limit": 2, "cursor": first["nextCursor"]}).json()

    assert len(first["data"]) == 2 and len(rest["data"]) == 1
    assert first["pagination"]["total"] == 3 or first["pagination"]["hasMore"] is True
