"""/healthz says the process serves; /readyz asks the database, the cache and the broker, briefly."""
from __future__ import annotations

import shutil
import socket
import time

import pytest

from skillhub import operations
from tests.skillhub.serving import free_port
from tests.webhooks.processes import OwnRedis


def test_healthz_answers_without_asking_any_dependency(client, settings):
    # No database access is allowed in this test: a /healthz that touched the database would fail it.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz", HTTP_HOST="10.0.0.12:8000")  # a probe by address, whatever ALLOWED_HOSTS says

    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.django_db
def test_readyz_is_200_when_every_dependency_answers(client):
    response = client.get("/readyz", HTTP_HOST="10.0.0.12:8000")

    assert response.status_code == 200
    assert response.json() == {"ready": True}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server (apt-get install redis-server)")
def test_readyz_names_the_broker_while_its_redis_is_stopped_and_recovers_when_it_is_back(client, settings, tmp_path):
    # Given a broker on a redis-server of the test's own
    redis = OwnRedis(tmp_path)
    redis.start()
    settings.DRAMATIQ_BROKER, settings.DRAMATIQ_BROKER_URL = "redis", redis.url
    settings.SKILLHUB_READINESS_TIMEOUT = 1.0
    try:
        assert client.get("/readyz").status_code == 200

        # When it stops, then /readyz is 503 and names it (and only it)
        redis.kill()
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json() == {"ready": False, "failed": ["broker"]}

        # When it is back, then ready again
        redis.start()
        assert client.get("/readyz").status_code == 200
    finally:
        redis.kill()


@pytest.mark.django_db
def test_readyz_gives_up_on_a_cache_that_accepts_but_never_answers(client, settings):
    # Given a "Redis" that accepts connections and never says a word
    port = free_port(8440, 8469)
    silent = socket.socket()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind(("127.0.0.1", port))
    silent.listen(16)
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.SKILLHUB_READINESS_TIMEOUT = 0.5
    try:
        started = time.monotonic()
        first = client.get("/readyz")
        second = client.get("/readyz")  # while the first check may still hang: no pile-up, same answer
        elapsed = time.monotonic() - started
    finally:
        silent.close()
        operations._redis.cache_clear()

    assert first.status_code == second.status_code == 503
    assert first.json()["failed"] == ["cache"]
    assert elapsed < 3.0
