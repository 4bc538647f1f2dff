"""Whatever bytes a receiver answers with, the attempt is recorded and the delivery moves on.

A receiver is a stranger's server: its status line, headers and body may be anything, including
NUL (which PostgreSQL text refuses), invalid UTF-8, a gzip body that is empty, corrupt or a bomb.
Each answer must end the attempt, so a delivery never loops on its lease and its endpoint's
failures still count towards disabling it.
"""

from __future__ import annotations

import gzip
import time
from datetime import timedelta

import pytest
from django.db import DataError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from tests.factories import TenantFactory
from tests.webhooks.helpers import make_endpoint, make_learner
from tests.webhooks.receivers import RawReceiver
from webhooks.engine import delivery as delivery_module
from webhooks.engine.delivery import send as send_delivery
from webhooks.models import Attempt, Delivery, DeliveryState

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw_receiver():
    server = RawReceiver()
    yield server
    server.close()


def _answer(status: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    return status + b"\r\n" + b"".join(name + b": " + value + b"\r\n" for name, value in headers) + b"\r\n" + body


def _deliver_once(tenant, url: str, **endpoint_values) -> Delivery:  # noqa: ANN001
    endpoint = make_endpoint(tenant, url, **endpoint_values)
    make_learner(tenant)
    delivery = Delivery.objects.get(endpoint=endpoint)
    send_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def _assert_attempt_ended(delivery: Delivery) -> Attempt:
    """The delivery's one attempt is recorded and the delivery is no longer in flight."""
    attempts = list(delivery.attempts.all())
    assert len(attempts) == 1, "the answer left no attempt"
    assert delivery.state != DeliveryState.SENDING and delivery.claimed_until is None
    attempt = attempts[0]
    for text in (attempt.response_body, attempt.error, delivery.last_error):
        assert "\x00" not in text
        text.encode("utf-8")  # storable as UTF-8: no lone surrogates
    return attempt


def test_a_nul_in_the_body_is_recorded_and_the_delivery_succeeds(tenant, raw_receiver, allow_private):
    raw_receiver.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\x00"

    delivery = _deliver_once(tenant, raw_receiver.url)

    attempt = _assert_attempt_ended(delivery)
    assert delivery.state == DeliveryState.SUCCEEDED
    assert attempt.status_code == 200 and attempt.response_body == "ok\ufffd"


def test_invalid_utf8_and_nul_in_headers_are_recorded(tenant, raw_receiver, allow_private):
    raw_receiver.answer = _answer(
        b"HTTP/1.1 503 Sl\x00w d\xffwn",
        [(b"Retry-After", b"\x00\xfe"), (b"X-J\x00nk", b"a\x00b\xc3\x28"), (b"Content-Length", b"6")],
        b"\xff\xfe\x00\xc3\x28!",
    )

    delivery = _deliver_once(tenant, raw_receiver.url)

    attempt = _assert_attempt_ended(delivery)
    assert attempt.status_code == 503 and delivery.state == DeliveryState.PENDING
    assert attempt.response_body == "\ufffd\ufffd\ufffd\ufffd(!"


@pytest.mark.parametrize(
    "body",
    [b"", b"not gzip at all", gzip.compress(b"truncated " * 50)[:20]],
    ids=["empty", "corrupt", "truncated"],
)
def test_a_gzip_body_that_does_not_decompress_is_recorded(tenant, raw_receiver, allow_private, body):
    raw_receiver.answer = _answer(
        b"HTTP/1.1 200 OK", [(b"Content-Encoding", b"gzip"), (b"Content-Length", str(len(body)).encode())], body
    )

    delivery = _deliver_once(tenant, raw_receiver.url)

    _assert_attempt_ended(delivery)
    assert delivery.state == DeliveryState.SUCCEEDED


def test_a_gzip_bomb_is_inflated_only_as_far_as_the_excerpt(tenant, raw_receiver, allow_private):
    bomb = gzip.compress(b"\x00" * (200 * 1024 * 1024), compresslevel=9)  # 200 MiB in about 200 KiB
    raw_receiver.answer = _answer(
        b"HTTP/1.1 200 OK", [(b"Content-Encoding", b"gzip"), (b"Content-Length", str(len(bomb)).encode())], bomb
    )
    started = time.monotonic()

    delivery = _deliver_once(tenant, raw_receiver.url)

    attempt = _assert_attempt_ended(delivery)
    assert delivery.state == DeliveryState.SUCCEEDED
    assert attempt.response_body == "\ufffd" * 4096  # the first 4 KiB, NULs made safe
    assert time.monotonic() - started < 5


def test_a_gzip_answer_is_excerpted_decompressed(tenant, raw_receiver, allow_private):
    body = gzip.compress("thanks, received ✓".encode())
    raw_receiver.answer = _answer(
        b"HTTP/1.1 200 OK", [(b"Content-Encoding", b"gzip"), (b"Content-Length", str(len(body)).encode())], body
    )

    attempt = _assert_attempt_ended(_deliver_once(tenant, raw_receiver.url))

    assert attempt.response_body == "thanks, received ✓"


def test_an_answer_that_cannot_be_recorded_still_ends_the_attempt(tenant, raw_receiver, allow_private, monkeypatch):
    raw_receiver.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    real_record = delivery_module.record_attempt
    calls = []

    def refusing_once(claimed, result, **kwargs):  # noqa: ANN001, ANN003, ANN202
        calls.append(result)
        if len(calls) == 1:
            raise DataError("text fields cannot contain NUL characters")
        return real_record(claimed, result, **kwargs)

    monkeypatch.setattr(delivery_module, "record_attempt", refusing_once)

    delivery = _deliver_once(tenant, raw_receiver.url)

    attempt = _assert_attempt_ended(delivery)
    assert attempt.error == "the answer could not be recorded: DataError"
    assert attempt.status_code == 200 and delivery.state == DeliveryState.SUCCEEDED  # it was delivered


def test_failures_recorded_from_hostile_answers_disable_the_endpoint(tenant, raw_receiver, allow_private):
    raw_receiver.answer = b"HTTP/1.1 500 \x00\r\nConnection: close\r\nContent-Length: 4\r\n\r\nno\x00\xff"
    endpoint = make_endpoint(tenant, raw_receiver.url)
    make_learner(tenant)
    delivery = Delivery.objects.get(endpoint=endpoint)
    now = timezone.now() + timedelta(seconds=1)

    for _ in range(5):
        assert send_delivery(delivery_id=delivery.pk, now=now) is not None
        delivery.refresh_from_db()
        now = delivery.next_attempt_at or now

    endpoint.refresh_from_db()
    assert delivery.attempts.count() == 5 and delivery.state == DeliveryState.FAILED
    assert endpoint.enabled is False and raw_receiver.requests == 5


# --- the property: any bytes at all ------------------------------------------------------------

_status_lines = st.one_of(
    st.binary(max_size=40),
    st.builds(
        lambda version, code, reason: version + b" " + str(code).encode() + b" " + reason,
        st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"ICY", b""]),
        st.integers(min_value=0, max_value=1200),
        st.binary(max_size=20),
    ),
)
_headers = st.lists(
    st.one_of(
        st.tuples(st.binary(max_size=20), st.binary(max_size=40)),
        st.tuples(
            st.sampled_from([b"Content-Encoding", b"Content-Length", b"Retry-After", b"Transfer-Encoding", b"Content-Type"]),
            st.one_of(st.sampled_from([b"gzip", b"deflate", b"chunked", b"0", b"3", b"99999", b"-1"]), st.binary(max_size=12)),
        ),
    ),
    max_size=5,
)
_bodies = st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(gzip.compress))


def _any_bytes_end_in_an_attempt(receiver: RawReceiver, status: bytes, headers, body: bytes) -> None:  # noqa: ANN001
    receiver.answer = _answer(status, headers, body)
    tenant = TenantFactory()
    delivery = _deliver_once(tenant, receiver.url, retry_policy="exponential")
    _assert_attempt_ended(delivery)


_PROPERTY = hypothesis_settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_PROPERTY
@given(status=_status_lines, headers=_headers, body=_bodies)
def test_any_answer_bytes_end_in_a_recorded_attempt(raw_receiver, allow_private, status, headers, body):
    _any_bytes_end_in_an_attempt(raw_receiver, status, headers, body)


@pytest.mark.postgres
@pytest.mark.parametrize("hot_path", [True, False], ids=["prepared-statements", "portable"])
@_PROPERTY
@given(status=_status_lines, headers=_headers, body=_bodies)
def test_any_answer_bytes_end_in_a_recorded_attempt_on_postgres(raw_receiver, allow_private, settings, hot_path, status, headers, body):
    settings.DATABASE_POSTGRES_STATEMENTS = hot_path
    _any_bytes_end_in_an_attempt(raw_receiver, status, headers, body)
