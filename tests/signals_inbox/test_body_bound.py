"""The webhook body is read with a bound: a claimed or actual size over 256 KiB is 413, never a full read."""
from __future__ import annotations

import io

from django.test import RequestFactory

from signals_inbox.verification import DISCARD_BYTES, MAX_BODY_BYTES, read_body


class CountingStream(io.BytesIO):
    """A request stream that remembers how much was read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def _request(stream: CountingStream, content_length: str | None):
    request = RequestFactory().post("/api/v1/integration/x/webhook", data=b"", content_type="application/json")
    request.META["wsgi.input"] = stream
    if content_length is None:
        request.META.pop("CONTENT_LENGTH", None)
    else:
        request.META["CONTENT_LENGTH"] = content_length
    from django.core.handlers.wsgi import WSGIRequest

    return WSGIRequest(request.META)


def test_claimed_size_far_over_the_limit_is_refused_without_reading():
    claimed = DISCARD_BYTES + 1
    stream = CountingStream(b"x" * 1024)

    assert read_body(_request(stream, str(claimed))) is None
    assert stream.taken == 0


def test_claimed_size_over_the_limit_is_refused_and_drained_for_keep_alive():
    stream = CountingStream(b"x" * (MAX_BODY_BYTES + 10))

    assert read_body(_request(stream, str(MAX_BODY_BYTES + 10))) is None
    assert stream.taken == MAX_BODY_BYTES + 10  # read and dropped, never kept


def test_understated_content_length_reads_no_more_than_claimed():
    stream = CountingStream(b"x" * (MAX_BODY_BYTES * 4))

    body = read_body(_request(stream, "100"))

    assert body == b"x" * 100
    assert stream.taken <= 100 + 65536  # at most one buffered chunk past the claim


def test_body_at_the_limit_is_read_whole():
    stream = CountingStream(b"y" * MAX_BODY_BYTES)

    assert read_body(_request(stream, str(MAX_BODY_BYTES))) == b"y" * MAX_BODY_BYTES
