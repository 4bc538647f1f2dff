"""Batch resolution: a worker claims many signals and resolves them with the single-signal rules, in sets."""
from __future__ import annotations

import pytest
from django.utils import timezone

from learning.models import Course
from signals_inbox.models import AuditEntry, Need, NeedAction, NeedStatus, Signal, Target
from signals_inbox.services import resolution, signal_map_put, signal_resolve, signals_resolve_batch
from tests.factories import LearnerFactory, SiteFactory, TenantFactory
from tests.signals_inbox.factories import issue_secret, post_signal, published_course, signal_body
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def _queue(client, tenant, secret, event: str = "signal.credential_expiring", **data) -> str:  # noqa: ANN001
    response = post_signal(client, tenant.slug, signal_body(event, **data), secret=secret)
    assert response.status_code == 200, response.content
    return response.json()["signalId"]


def _mixed_signals(client, tenant, secret) -> tuple:  # noqa: ANN001
    """Every resolution rule once: worker by id, by email, by learner id, fallback, cohort, unmatched, courses."""
    site = SiteFactory(tenant=tenant, name="Site B")
    by_id = LearnerFactory(tenant=tenant, external_worker_id="EMP-1")
    by_email = LearnerFactory(tenant=tenant, external_worker_id="EMP-2", email="sam@acme.com", site=site)
    by_pk = LearnerFactory(tenant=tenant, external_worker_id="EMP-3")
    published_course(tenant, title="Heights", topic="Working at Heights")
    published_course(tenant, title="Forklifts", topic="Forklift Operation")
    _queue(client, tenant, secret, external_worker_id="EMP-1", topic="Working at Heights")
    _queue(client, tenant, secret, email="SAM@acme.com", topic="forklift operations")
    _queue(client, tenant, secret, learner_id=str(by_pk.pk), topic="Confined Spaces")
    _queue(client, tenant, secret, external_worker_id="W-404", email="sam@acme.com", topic="First Aid")
    _queue(client, tenant, secret, "signal.incident", site="Site A", topic="Manual Handling")
    _queue(client, tenant, secret, "signal.incident", site="Site A", topic="Manual Handling")  # the same need
    _queue(client, tenant, secret, external_worker_id="W-999", topic="Hot Work")
    _queue(client, tenant, secret, external_worker_id="EMP-1", topic="Hot Work")
    return by_id, by_email, by_pk


def _resolution(tenant) -> list[tuple]:  # noqa: ANN001
    """Each need's resolution, comparable across tenants (ids left out)."""
    rows = Need.objects.filter(tenant=tenant).select_related("learner", "recommended_course")
    return sorted(
        (n.type, n.topic, n.worker_ref.split(":")[0], n.target, n.learner.external_worker_id if n.learner else "", n.site_name,
         n.recommended_course.topic if n.recommended_course else "", n.match, n.action, n.signal_count)
        for n in rows
    )  # fmt: skip


def test_a_batch_resolves_every_rule_as_the_single_signal_path_does(client):
    batch_tenant, single_tenant = TenantFactory(), TenantFactory()
    for tenant in (batch_tenant, single_tenant):
        _mixed_signals(client, tenant, issue_secret(tenant))

    outcome = signals_resolve_batch(limit=100)
    assert outcome.claimed == 16 and outcome.failed == []
    # Undo the second tenant's batch and resolve it one signal at a time instead.
    Need.objects.filter(tenant=single_tenant).update(target=Target.PENDING, learner=None, resolved_at=None, action="", match="", recommended_course=None)
    Need.objects.filter(tenant=single_tenant).exclude(worker_ref="").update(site_name="")  # only learners gave these sites
    Signal.objects.filter(tenant=single_tenant).update(resolved_at=None)
    Event.objects.filter(tenant=single_tenant).delete()
    for signal_id in Signal.objects.filter(tenant=single_tenant).order_by("received_at", "id").values_list("pk", flat=True):
        signal_resolve(signal_id=signal_id)

    assert _resolution(batch_tenant) == _resolution(single_tenant)
    targets = {row[3] for row in _resolution(batch_tenant)}
    assert targets == {Target.WORKER, Target.COHORT, Target.UNMATCHED}
    assert Event.objects.filter(tenant=batch_tenant, type="need.created").count() == Need.objects.filter(tenant=batch_tenant).count() == 7


def test_the_batch_matches_workers_in_the_documented_order(client, tenant, secret):
    by_id, by_email, by_pk = _mixed_signals(client, tenant, secret)

    signals_resolve_batch(limit=100)

    learner_of = {n.topic: n.learner_id for n in Need.objects.filter(tenant=tenant)}
    assert learner_of["Working at Heights"] == by_id.pk
    assert learner_of["forklift operations"] == by_email.pk
    assert learner_of["Confined Spaces"] == by_pk.pk
    assert learner_of["First Aid"] == by_email.pk  # the unknown worker id falls back to the e-mail
    need = Need.objects.get(topic="forklift operations")
    assert (need.site_name, need.recommended_course.topic, need.match, need.action) == ("Site B", "Forklift Operation", "tolerant", NeedAction.OFFER)
    assert Need.objects.get(topic="Working at Heights").match == "exact"
    assert Need.objects.get(topic="Confined Spaces").action == NeedAction.AUTHOR


def test_each_need_gets_one_need_created_event_with_its_final_data(client, tenant, secret):
    _mixed_signals(client, tenant, secret)

    signals_resolve_batch(limit=3)
    signals_resolve_batch(limit=100)
    assert signals_resolve_batch(limit=100).claimed == 0

    events = Event.objects.filter(tenant=tenant, type="need.created")
    assert sorted(e.subject_id for e in events) == sorted(str(pk) for pk in Need.objects.filter(tenant=tenant).values_list("pk", flat=True))
    cohort = Need.objects.get(target=Target.COHORT)
    data = events.get(subject_id=str(cohort.pk)).data
    assert (data["id"], data["target"], data["signalCount"], data["action"]) == (str(cohort.pk), "cohort", 2, "author")
    assert not Signal.objects.filter(resolved_at__isnull=True).exists()


def test_a_hundred_signals_resolve_in_a_fixed_number_of_queries(client, tenant, secret, django_assert_max_num_queries):
    for n in range(100):
        LearnerFactory(tenant=tenant, external_worker_id=f"Q-{n}")
    ids = [_queue(client, tenant, secret, external_worker_id=f"Q-{n}", topic=f"Topic {n}") for n in range(100)]
    assert len(ids) == 100

    with django_assert_max_num_queries(12):
        outcome = signals_resolve_batch(limit=100)

    assert outcome.claimed == 100 and outcome.resolved_needs == 100
    assert Need.objects.filter(target=Target.WORKER).count() == 100


def test_a_signal_that_fails_is_released_for_its_own_retries_and_the_rest_resolve(client, tenant, secret, monkeypatch):
    good = _queue(client, tenant, secret, "signal.incident", site="Site A", topic="Manual Handling")
    bad = _queue(client, tenant, secret, "signal.incident", site="Site A", topic="Poison")
    real = resolution.apply_resolution

    def fails_on_poison(*, need, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if need.topic == "Poison":
            raise ValueError("boom")
        return real(need=need, **kwargs)

    monkeypatch.setattr(resolution, "apply_resolution", fails_on_poison)
    outcome = signals_resolve_batch(limit=10)

    assert (outcome.claimed, outcome.resolved_needs, outcome.failed) == (2, 1, [bad])
    assert Signal.objects.get(pk=good).resolved_at is not None
    failed = Signal.objects.get(pk=bad)
    assert failed.resolved_at is None and failed.retry_at > timezone.now()
    assert signals_resolve_batch(limit=10).claimed == 0  # batches leave it to its own retries

    monkeypatch.setattr(resolution, "apply_resolution", real)
    assert signal_resolve(signal_id=bad) is True  # its retry, on its own
    assert Need.objects.get(topic="Poison").target == Target.COHORT
    assert Event.objects.filter(type="need.created").count() == 2


def test_a_single_signal_that_fails_raises_and_is_kept_out_of_batches(client, tenant, secret, monkeypatch):
    bad = _queue(client, tenant, secret, "signal.incident", site="Site A", topic="Poison")
    monkeypatch.setattr(resolution, "apply_resolution", lambda **kwargs: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        signal_resolve(signal_id=bad)

    signal = Signal.objects.get(pk=bad)
    assert signal.resolved_at is None and signal.retry_at is not None
    assert Need.objects.get().resolved_at is None


def test_when_a_batch_statement_fails_its_signals_resolve_one_by_one(client, tenant, secret, monkeypatch):
    ids = [_queue(client, tenant, secret, "signal.incident", site="Site A", topic=f"Topic {n}") for n in range(3)]
    real = resolution._write_needs
    monkeypatch.setattr(resolution, "_write_needs", lambda needs: real(needs) if len(needs) == 1 else 1 / 0)

    outcome = signals_resolve_batch(limit=10)

    assert (outcome.claimed, outcome.resolved_needs, outcome.failed) == (3, 3, [])
    assert Signal.objects.filter(pk__in=ids, resolved_at__isnull=False).count() == 3


def test_auto_author_is_evaluated_once_per_topic_of_a_batch(client, tenant, secret, monkeypatch):
    signal_map_put(tenant=tenant, actor="test", mapping={}, auto_author=True)
    for n in range(4):
        _queue(client, tenant, secret, email=f"w{n}@acme.com", topic="Confined Spaces")
    _queue(client, tenant, secret, email="x@acme.com", topic="confined space")
    _queue(client, tenant, secret, email="y@acme.com", topic="Hot Work")
    calls = []
    real = resolution.auto_author_maybe
    monkeypatch.setattr(resolution, "auto_author_maybe", lambda **kw: calls.append(kw["need"].topic_key) or real(**kw))

    signals_resolve_batch(limit=100)

    assert sorted(calls) == ["confined space", "hot work"]
    course = Course.objects.get()
    assert course.created_by == "system:auto-author"
    assert Need.objects.filter(status=NeedStatus.AUTHORING, authored_course=course).count() == 5
    assert Need.objects.get(topic="Hot Work").status == NeedStatus.OPEN


def test_a_parked_need_is_matched_again_by_a_batch_when_a_resent_signal_names_a_known_worker(client, tenant, secret):
    _queue(client, tenant, secret, external_worker_id="W-404", topic="Working at Heights")
    signals_resolve_batch(limit=10)
    assert Need.objects.get().target == Target.UNMATCHED
    learner = LearnerFactory(tenant=tenant, email="sam@acme.com")
    Need.objects.update(target=Target.UNMATCHED, learner=None)  # as if the learner write had not re-matched it

    _queue(client, tenant, secret, external_worker_id="W-404", email="sam@acme.com", topic="Working at Heights")
    outcome = signals_resolve_batch(limit=10)

    assert (outcome.claimed, outcome.rematched, outcome.resolved_needs) == (1, 1, 0)
    need = Need.objects.get()
    assert (need.target, need.learner_id) == (Target.WORKER, learner.pk)
    assert AuditEntry.objects.filter(need=need, action="matched", actor="system:rematch").count() == 1
    assert Event.objects.filter(type="need.created").count() == 1


def test_the_drain_actor_resolves_the_backlog_and_retries_failures_alone(client, tenant, secret, monkeypatch, stub_broker, settings):
    from signals_inbox import actors

    for n in range(7):
        _queue(client, tenant, secret, "signal.incident", site="Site A", topic=f"Topic {n}")
    _queue(client, tenant, secret, "signal.incident", site="Site A", topic="Poison")
    stub_broker.flush_all()
    real = resolution.apply_resolution
    monkeypatch.setattr(resolution, "apply_resolution", lambda *, need, **kw: 1 / 0 if need.topic == "Poison" else real(need=need, **kw))
    settings.SIGNALS_RESOLVE_BATCH = 3

    actors.resolve_signals([])

    assert Signal.objects.filter(resolved_at__isnull=True).count() == 1
    queued = [m.actor_name for m in map(_decode, stub_broker.queues["signals"].queue)]
    assert queued == ["resolve_signal"]


def _decode(raw):  # noqa: ANN001, ANN202
    import dramatiq

    return dramatiq.Message.decode(raw)


def test_the_unresolved_filter_lists_the_backlog(client, api, secret):
    tenant = api.tenant
    _queue(client, tenant, secret, "signal.incident", site="Site A", topic="One")
    signals_resolve_batch(limit=10)
    waiting = [_queue(client, tenant, secret, "signal.incident", site="Site A", topic=f"T{n}") for n in range(2)]

    body = api.get(f"/api/v1/tenants/{tenant.slug}/signals?status=unresolved&limit=1").json()
    assert body["pagination"]["total"] == 2
    assert body["data"][0]["id"] == waiting[0] and body["data"][0]["resolvedAt"] is None
    assert api.get(f"/api/v1/tenants/{tenant.slug}/signals?status=resolved").json()["pagination"]["total"] == 1
    refused = api.get(f"/api/v1/tenants/{tenant.slug}/signals?status=stuck")
    assert refused.status_code == 400 and refused.json()["error"]["details"]["field"] == "status"
