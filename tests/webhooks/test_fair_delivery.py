"""Fair delivery: one endpoint's slow or dead receiver never delays another's deliveries.

Real receivers on 127.0.0.1, a real Dramatiq worker on the test broker, the sweep running beside
it, and short timeouts from settings so each test stays within seconds.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import dramatiq
import pytest

from tests.factories import TenantFactory
from tests.skillhub.serving import wait_for
from tests.webhooks.helpers import Sweeper, make_endpoint, make_learner
from tests.webhooks.receivers import SlowReceiver
from webhooks.models import Delivery, DeliveryState, Endpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def fast(settings):  # noqa: ANN001, ANN201
    """Second-scale timeouts, lease and breaker, so a hanging receiver costs seconds, not minutes."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_CONNECT_TIMEOUT = 0.5
    settings.WEBHOOKS_TOTAL_TIMEOUT = 1.0
    settings.WEBHOOKS_CLAIM_LEASE_SECONDS = 10
    settings.WEBHOOKS_QUEUE_LEASE = 3.0
    settings.WEBHOOKS_BREAKER_THRESHOLD = 3
    settings.WEBHOOKS_BREAKER_COOLDOWN = 1.0
    settings.WEBHOOKS_BREAKER_MAX_COOLDOWN = 2.0
    settings.WEBHOOKS_HANDOFF_AFTER = 0.1
    return settings


@pytest.fixture
def receivers() -> Iterator[tuple[SlowReceiver, SlowReceiver]]:
    a, b = SlowReceiver(), SlowReceiver()
    yield a, b
    a.close()
    b.close()


def _forget_stopped_workers(broker: dramatiq.Broker) -> None:
    """Drop the middleware that stopped workers leave on the broker (Dramatiq never removes it).

    Otherwise a queue declared again (after `flush_all`) gets consumers on every worker an earlier
    test stopped, and they take messages no thread will ever run.
    """
    from dramatiq.worker import _WorkerMiddleware

    broker.middleware[:] = [m for m in broker.middleware if not isinstance(m, _WorkerMiddleware)]


@pytest.fixture
def worker(stub_broker) -> Iterator[dramatiq.Worker]:  # noqa: ANN001
    """Four worker threads: fewer than the deliveries queued for the hanging receiver."""
    from skillhub.tasks import import_actors

    import_actors()
    _forget_stopped_workers(stub_broker)
    running = dramatiq.Worker(stub_broker, worker_timeout=50, worker_threads=4)
    yield running
    running.stop()
    _forget_stopped_workers(stub_broker)


def test_a_hanging_receiver_does_not_delay_another_tenants_deliveries(fast, receivers, stub_broker, worker):
    hanging, healthy = receivers
    hanging.hang = 3.0  # past the 1 s timeout
    tenant_a, tenant_b = TenantFactory(), TenantFactory()
    # One at a time, so A's deliveries also arrive strictly in sequence order once it recovers.
    endpoint_a = make_endpoint(tenant_a, hanging.url, retry_policy="exponential", max_in_flight=1)
    make_endpoint(tenant_b, healthy.url)
    for n in range(100):
        make_learner(tenant_a, n)
    assert Delivery.objects.filter(endpoint=endpoint_a, state=DeliveryState.PENDING).count() == 100

    worker.start()
    with Sweeper():
        delays = []
        for n in range(10):
            created = time.time()
            learner = make_learner(tenant_b, 1000 + n)
            assert healthy.wait_for(lambda r, n=n: len(r.answered()) >= n + 1, timeout=5), f"B's delivery {n} lost"
            delays.append(healthy.answered()[n].at - created)
            assert learner is not None
            time.sleep(0.2)
        assert max(delays) < 2.0, delays

        # A's breaker opens after three timeouts and holds the rest back.
        assert _settled(lambda: Endpoint.objects.get(pk=endpoint_a.pk).consecutive_failures >= 3)
        time.sleep(1.5)
        tried = Delivery.objects.filter(endpoint=endpoint_a, attempt_count__gt=0).count()
        assert tried < 10, "deliveries behind an open circuit are deferred, not attempted"

        hanging.hang = 0.0  # A recovers
        assert hanging.wait_for(lambda r: len({a.webhook_id for a in r.answered()}) >= 100, timeout=40)
        assert _settled(lambda: Delivery.objects.filter(endpoint=endpoint_a, state=DeliveryState.SUCCEEDED).count() == 100)

    answered = hanging.answered()
    assert Counter(a.webhook_id for a in answered).most_common(1)[0][1] == 1, "none twice"
    # Deliveries never tried before A recovered arrive in sequence order; the few A failed while
    # hanging come on their own retry schedule, each once.
    failed_while_hanging = set(
        Delivery.objects.filter(endpoint=endpoint_a, attempt_count__gt=1).values_list("sequence", flat=True)
    )
    fresh = [a.sequence for a in answered if a.sequence not in failed_while_hanging]
    assert fresh == sorted(fresh) and len(fresh) >= 90
    endpoint_a.refresh_from_db()
    assert endpoint_a.consecutive_failures == 0 and endpoint_a.enabled


def test_the_in_flight_cap_holds_at_the_receiver(fast, receivers, stub_broker, worker):
    slow, _ = receivers
    slow.delay = 0.3
    tenant = TenantFactory()
    endpoint = make_endpoint(tenant, slow.url, max_in_flight=2)
    for n in range(12):
        make_learner(tenant, n)

    worker.start()
    with Sweeper():
        assert slow.wait_for(lambda r: len(r.answered()) >= 12, timeout=20)
    assert slow.max_concurrent == 2
    assert [a.sequence for a in slow.answered()][:2] in ([1, 2], [2, 1])
    assert _settled(lambda: Delivery.objects.filter(endpoint=endpoint, state=DeliveryState.SUCCEEDED).count() == 12)



def test_endpoint_model_default_cap_comes_from_settings(fast, receivers):
    fast.WEBHOOKS_MAX_IN_FLIGHT = 6
    endpoint = make_endpoint(TenantFactory(), receivers[0].url)
    assert endpoint.max_in_flight is None
    assert Endpoint.objects.get(pk=endpoint.pk).slots.count() == 6


def _settled(condition, seconds: float = 10) -> bool:  # noqa: ANN001
    """Whether `condition` holds within `seconds`."""
    return bool(wait_for(condition, seconds, every=0.1))
