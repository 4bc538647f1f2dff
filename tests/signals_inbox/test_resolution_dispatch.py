"""On a network broker, committed signal ids go to the resolution actor in small batches."""
from __future__ import annotations

import json

import pytest

from signals_inbox import dispatch

pytestmark = pytest.mark.django_db


def test_batched_ids_are_sent_as_one_message_per_batch(stub_broker, monkeypatch):
    monkeypatch.setattr(dispatch, "_batching", lambda: True)
    monkeypatch.setattr(dispatch, "BATCH_SIZE", 2)
    monkeypatch.setattr(dispatch, "_run", lambda: None)  # no background thread: flush by hand

    for signal_id in ("sig_a", "sig_b", "sig_c"):
        dispatch.send_resolution(signal_id=signal_id)
    sent = dispatch.flush()

    messages = [json.loads(raw) for raw in stub_broker.queues["signals"].queue]
    assert sent == 3
    assert [(m["actor_name"], m["args"]) for m in messages] == [("resolve_signals", [["sig_a", "sig_b"]]), ("resolve_signal", ["sig_c"])]
    assert dispatch.flush() == 0


def test_without_a_network_broker_each_id_is_sent_at_once(stub_broker):
    dispatch.send_resolution(signal_id="sig_now")

    messages = [json.loads(raw) for raw in stub_broker.queues["signals"].queue]
    assert [(m["actor_name"], m["args"]) for m in messages] == [("resolve_signal", ["sig_now"])]
