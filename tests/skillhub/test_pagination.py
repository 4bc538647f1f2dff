"""limit/offset and cursor pagination: shapes, edges, and constant-cost totals."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from learning.models import Learner
from learning.services import learner_count_recompute
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db


def _seed(tenant, count: int) -> list[str]:
    LearnerFactory.create_batch(count, tenant=tenant)
    learner_count_recompute(tenant=tenant)
    return [str(pk) for pk in Learner.objects.filter(tenant=tenant).order_by("id").values_list("id", flat=True)]


def _url(api, query: str = "") -> str:
    return f"/api/v1/tenants/{api.tenant.slug}/learners{query}"


def test_offset_page_shape(api):
    ids = _seed(api.tenant, 7)
    body = api.get(_url(api, "?limit=3&offset=2")).json()
    assert [row["id"] for row in body["data"]] == ids[2:5]
    assert body["pagination"] == {"total": 7, "limit": 3, "offset": 2, "hasMore": True}
    assert body["nextCursor"]


def test_default_limit_is_50(api):
    _seed(api.tenant, 55)
    body = api.get(_url(api)).json()
    assert len(body["data"]) == 50
    assert body["pagination"]["limit"] == 50


def test_last_page_has_no_more_and_no_cursor(api):
    ids = _seed(api.tenant, 5)
    body = api.get(_url(api, "?limit=3&offset=3")).json()
    assert [row["id"] for row in body["data"]] == ids[3:]
    assert body["pagination"]["hasMore"] is False
    assert body["nextCursor"] is None


def test_offset_past_the_end_is_an_empty_page_with_the_real_total(api):
    _seed(api.tenant, 4)
    body = api.get(_url(api, "?offset=100")).json()
    assert body["data"] == []
    assert body["pagination"] == {"total": 4, "limit": 50, "offset": 100, "hasMore": False}


@pytest.mark.parametrize(
    "query", ["?limit=0", "?limit=-1", "?limit=abc", "?offset=-5", "?offset=x", f"?offset={10**20}", f"?limit={10**20}"]
)
def test_bad_limit_or_offset_is_validation_error(api, query):
    response = api.get(_url(api, query))
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] in {"limit", "offset"}


def test_limit_over_1000_is_capped(api):
    _seed(api.tenant, 3)
    body = api.get(_url(api, "?limit=5000")).json()
    assert body["pagination"]["limit"] == 1000


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "eyJhIjoxfQ", "e30", "%00%ff", "eyJhIjoibm90LWEtdXVpZCIsIm8iOjF9", "eyJhIjogIjAxYTJcdTAwMDAiLCAibyI6IDF9"],
)
def test_garbage_cursor_is_validation_error(api, cursor):
    response = api.get(_url(api, f"?cursor={cursor}"))
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "cursor"


def test_cursor_walk_returns_every_learner_once_in_order(api):
    ids = _seed(api.tenant, 23)
    seen, cursor, offsets = [], None, []
    while True:
        query = f"?limit=5&cursor={cursor}" if cursor else "?limit=5"
        body = api.get(_url(api, query)).json()
        seen += [row["id"] for row in body["data"]]
        offsets.append(body["pagination"]["offset"])
        cursor = body["nextCursor"]
        if not cursor:
            break
    assert seen == ids
    assert offsets == [0, 5, 10, 15, 20]


def test_cursor_page_uses_keyset_not_offset(api):
    _seed(api.tenant, 10)
    cursor = api.get(_url(api, "?limit=5&status=active")).json()["nextCursor"]
    with CaptureQueriesContext(connection) as queries:
        body = api.get(_url(api, f"?limit=5&status=active&cursor={cursor}")).json()
    assert len(body["data"]) == 5
    learner_selects = [q["sql"] for q in queries.captured_queries if 'FROM "learning_learner"' in q["sql"]]
    assert learner_selects and all("OFFSET" not in sql.upper() for sql in learner_selects)


def test_prepared_cursor_page_on_postgresql_uses_keyset_not_offset():
    from learning import selectors

    assert "l.id > %s" in selectors._LEARNER_PAGE_AFTER
    assert "OFFSET" not in selectors._LEARNER_PAGE_AFTER.upper()


@pytest.mark.postgres
def test_prepared_and_orm_pages_agree(api):
    from learning.selectors import learner_list_values, learner_page_fetcher, learner_queryset

    ids = _seed(api.tenant, 12)
    fetch = learner_page_fetcher(tenant=api.tenant)
    orm_rows = list(learner_list_values(learner_queryset(tenant=api.tenant))[3:8])
    assert fetch(None, 3, 5) == orm_rows
    assert fetch(ids[2], 0, 5) == orm_rows


def test_unfiltered_total_does_not_count_rows(api):
    _seed(api.tenant, 10)
    with CaptureQueriesContext(connection) as queries:
        body = api.get(_url(api, "?limit=3")).json()
    assert body["pagination"]["total"] == 10
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_kept_total_follows_creates_and_deletes(api):
    url = _url(api)
    created = [api.post(url, {"firstName": "A", "lastName": str(i)}, format="json").json() for i in range(3)]
    api.delete(f"{url}/{created[0]['id']}")
    body = api.get(_url(api, "?limit=1")).json()
    assert body["pagination"]["total"] == 2


def test_deep_offset_page_matches_a_plain_slice(api):
    ids = _seed(api.tenant, 1030)
    body = api.get(_url(api, "?limit=20&offset=1005")).json()
    assert [row["id"] for row in body["data"]] == ids[1005:1025]
    assert body["pagination"]["hasMore"] is True


def test_filtered_list_counts_only_matches(api):
    _seed(api.tenant, 4)
    learner = Learner.objects.filter(tenant=api.tenant).first()
    learner.status = "inactive"
    learner.save()
    body = api.get(_url(api, "?status=inactive&limit=10")).json()
    assert body["pagination"]["total"] == 1
    assert body["data"][0]["id"] == str(learner.pk)


def test_a_forged_cursor_beyond_an_integer_key_is_validation_error(api):
    import base64

    import orjson

    cursor = base64.urlsafe_b64encode(orjson.dumps({"a": str(10**20), "o": 1})).rstrip(b"=").decode()
    response = api.get(f"/api/v1/tenants/{api.tenant.slug}/signals/rejected", {"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "cursor"
