"""Through the front `manage.py serve` starts, each body limit of settings' table answers 413 in its path's shape.

A 20 MiB evidence upload passes; one over EVIDENCE_MAX_UPLOAD_BYTES, an API JSON body over
API_MAX_BODY_BYTES and a signal over SIGNAL_MAX_BODY_BYTES are refused by the front or the app,
whichever sees them first, but always in the API's JSON error shape (the signal webhook's own).
"""
from __future__ import annotations

import json

import pytest
import requests

from tests.learning.evidence_helpers import PDF
from tests.skillhub.serving import demo_env, serve

MIB = 1024 * 1024


def _pdf(size: int) -> bytes:
    return PDF + b"\n%" + b"0" * (size - len(PDF) - 2)


@pytest.mark.slow
@pytest.mark.parametrize(
    "front", [pytest.param("granian", id="default"), pytest.param("nginx", marks=pytest.mark.nginx, id="nginx")]
)
def test_a_twenty_mib_upload_passes_and_each_limit_answers_413_in_its_shape(tmp_path, front):
    env = demo_env(tmp_path)
    with serve(tmp_path, env, "--front", front) as served:
        auth = {"Authorization": f"Bearer {served.credentials['apiKey']}"}
        evidence = f"{served.base}/api/v1/tenants/demo/evidence"
        listed = requests.get(f"{served.base}/api/v1/tenants/demo/learners", headers=auth, timeout=30)
        assert listed.status_code == 200, listed.text[:500]
        learners = listed.json()["data"]
        form = {"learnerId": learners[0]["id"], "title": "Site induction video"}

        uploaded = requests.post(
            evidence, headers=auth, data=form, files={"file": ("induction.pdf", _pdf(20 * MIB), "application/pdf")}, timeout=120
        )
        assert uploaded.status_code == 201, uploaded.text[:500]
        assert uploaded.json()["size"] == 20 * MIB

        too_big = requests.post(
            evidence, headers=auth, data=form, files={"file": ("big.pdf", _pdf(27 * MIB), "application/pdf")}, timeout=120
        )
        assert too_big.status_code == 413
        assert too_big.headers["Content-Type"].startswith("application/json")
        assert too_big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

        json_body = json.dumps({"firstName": "A", "lastName": "B", "pad": "x" * (2 * MIB)})
        api = requests.post(
            f"{served.base}/api/v1/tenants/demo/learners",
            data=json_body,
            headers={**auth, "Content-Type": "application/json"},
            timeout=60,
        )
        assert api.status_code == 413
        assert api.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

        signal = requests.post(
            f"{served.base}/api/v1/integration/demo/webhook",
            data=b"{" + b" " * (300 * 1024) + b"}",
            headers={"Content-Type": "application/json", "X-Skillhub-Signature": "00"},
            timeout=60,
        )
        assert signal.status_code == 413
        assert signal.json() == {"error": "payload_too_large"}

        # A chunked body over the limit has no Content-Length to refuse early: it is counted as it comes.
        chunked = requests.post(
            f"{served.base}/api/v1/tenants/demo/learners",
            data=iter([b"x" * MIB, b"x" * MIB]),
            headers={**auth, "Content-Type": "application/json"},
            timeout=60,
        )
        assert chunked.status_code == 413
        assert chunked.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
