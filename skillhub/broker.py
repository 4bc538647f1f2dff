"""The Dramatiq broker, chosen once from settings; every actors module imports this first."""
from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker
from django.conf import settings

from skillhub.logcontext import ActorContext


def build_broker(kind: str, url: str = "") -> dramatiq.Broker:
    """Return a broker for `kind` ("embedded", "stub", "redis" or "amqp")."""
    if kind in ("embedded", "stub"):
        # In-process queues: `serve` runs the workers in the same process as the web threads,
        # and the database sweeps re-enqueue anything a restart drops.
        broker: dramatiq.Broker = StubBroker()
        broker.emit_after("process_boot")
        return broker
    if kind == "redis":
        import redis

        from skillhub.redis_wake import WakingRedisBroker

        # A bounded connect: a broker host that vanished must not hang the request that enqueues.
        pool = redis.ConnectionPool.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        return WakingRedisBroker(connection_pool=pool)
    if kind == "amqp":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise ValueError(f"unknown broker kind {kind!r}")


broker = build_broker(settings.DRAMATIQ_BROKER, settings.DRAMATIQ_BROKER_URL)
# Each message's log lines carry its own id, never the fields of the message the thread ran before.
broker.add_middleware(ActorContext())
dramatiq.set_broker(broker)
