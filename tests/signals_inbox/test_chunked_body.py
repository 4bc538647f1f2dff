"""A signed signal sent with `Transfer-Encoding: chunked` (no Content-Length) is read whole, within 256 KiB."""
from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest

from signals_inbox.models import Signal
from signals_inbox.verification import MAX_BODY_BYTES
from skillhub.wsgi import application
from tests.signals_inbox.factories import sign, signal_body

pytestmark = pytest.mark.django_db(transaction=True)


def _post_chunked(slug: str, body: bytes, signature: str) -> tuple[int, dict]:
    """Call the WSGI application as gunicorn does for a chunked request: no Content-Length, decoded input."""
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": f"/api/v1/integration/{slug}/webhook",
            "CONTENT_TYPE": "application/json",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "HTTP_X_SKILLHUB_SIGNATURE": signature,
            "SERVER_NAME": "testserver",
            "HTTP_HOST": "testserver",
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
        }
    )
    environ.pop("CONTENT_LENGTH", None)
    status: list[str] = []
    chunks = application(environ, lambda s, headers, exc_info=None: status.append(s))
    answer = b"".join(chunks)
    return int(status[0].split()[0]), json.loads(answer)


def test_a_correctly_signed_chunked_signal_is_recorded(tenant, secret):
    body = signal_body(email="chunked@acme.com", topic="Working at Heights")

    status, answer = _post_chunked(tenant.slug, body, sign(secret, body))

    assert status == 200, answer
    assert Signal.objects.get(pk=answer["signalId"]).data["email"] == "chunked@acme.com"


def test_a_wrongly_signed_chunked_signal_is_still_a_bad_signature(tenant, secret):
    body = signal_body(email="chunked@acme.com", topic="Working at Heights")

    status, answer = _post_chunked(tenant.slug, body, sign("not-the-secret", body))

    assert (status, answer) == (401, {"error": "bad_signature"})


def test_a_chunked_body_over_256_kib_is_payload_too_large(tenant, secret):
    body = signal_body(email="big@acme.com", topic="WAH", payload={"pad": "x" * MAX_BODY_BYTES})

    status, answer = _post_chunked(tenant.slug, body, sign(secret, body))

    assert (status, answer) == (413, {"error": "payload_too_large"})
    assert not Signal.objects.exists()
