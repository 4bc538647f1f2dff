"""Dramatiq's Redis broker with consumers that wait for work instead of polling for it.

Dramatiq's Redis consumer polls an empty queue: it runs its fetch script, sleeps, and runs it
again. Polled often enough for a quick first delivery (every few milliseconds), the idle
consumers of every queue and delay queue in every worker process kept a core busy on a 2-core
machine with nothing to do; polled rarely, a message waits up to the poll interval.

Here every enqueue also pushes a token onto the queue's wake list, and a consumer that finds its
queue empty blocks on that list (BLPOP) until a token arrives or its idle timeout passes. A message
is picked up as soon as it is enqueued, and an idle worker costs one blocking call per consumer per
timeout. Tokens are hints, like the messages themselves are for skillhub's work: a stale token
costs one empty fetch; a message without one (requeued by Dramatiq's maintenance, or sent by a
process using the plain broker) is still fetched within the timeout.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import dq_name
from dramatiq.errors import ConnectionClosed
from dramatiq.broker import MessageProxy
from dramatiq.message import Message

# Tokens beyond this many are dropped: they only say "look", and one is as good as many.
WAKE_LIST_MAX = 10_000
# A delay queue's consumer also moves due delayed messages on between fetches, so it waits at most
# this long; a delayed retry is then late by at most this much.
DELAY_QUEUE_WAIT_SECONDS = 0.1
# A consumer with as many messages outstanding as it may prefetch waits for one to be acked.
ROOM_WAIT_SECONDS = 1.0


def wake_key(namespace: str, queue_name: str) -> str:
    return f"{namespace}:{queue_name}.wake"


class WakingRedisBroker(RedisBroker):
    """A RedisBroker whose enqueue wakes one waiting consumer of the queue."""

    @property
    def consumer_class(self) -> type:
        return _WakingConsumer

    def enqueue(self, message: Message, *, delay: int | None = None) -> Message:
        enqueued = super().enqueue(message, delay=delay)
        key = wake_key(self.namespace, enqueued.queue_name)
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(key, 1)
        pipe.ltrim(key, 0, WAKE_LIST_MAX - 1)
        pipe.execute()
        return enqueued


class _WakingConsumer(_RedisConsumer):
    def __init__(self, broker: WakingRedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)
        self.wake_key = wake_key(broker.namespace, queue_name)
        is_delay_queue = dq_name(queue_name) == queue_name
        self.wait_seconds = min(timeout / 1000, DELAY_QUEUE_WAIT_SECONDS) if is_delay_queue else timeout / 1000
        self.room = threading.Event()

    def ack(self, message: Any) -> None:
        try:
            super().ack(message)
        finally:
            self.room.set()

    def nack(self, message: Any) -> None:
        try:
            super().nack(message)
        finally:
            self.room.set()

    def __next__(self) -> Any:
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is not None:  # Dramatiq's own consumer skips these too
                        return self._proxy(data)
                    continue
                if self.outstanding_message_count >= self.prefetch:
                    # Fetching now would take nothing; wait until a worker thread acks one.
                    self.room.clear()
                    if self.outstanding_message_count >= self.prefetch:
                        self.room.wait(min(self.wait_seconds, ROOM_WAIT_SECONDS))
                    return None
                self.message_cache = self.broker.do_fetch(self.queue_name, self.prefetch - self.outstanding_message_count)
                if self.message_cache:
                    continue
                # Nothing queued: sleep on the wake list, not on a timer.
                self.broker.client.blpop([self.wake_key], timeout=max(self.wait_seconds, 0.01))
                return None
        except redis.ConnectionError as exc:
            raise ConnectionClosed(exc) from None

    def _proxy(self, data: bytes) -> Any:
        message = Message.decode(data)
        self.queued_message_ids.add(message.message_id)
        return MessageProxy(message)
