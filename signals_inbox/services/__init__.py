"""Writes of the signal inbox: ingest, resolution, Offer/Author/Dismiss, closing needs, the signal map.

Each service that changes a need records its `need.*` event in the same transaction and an
audit entry saying who did it.
"""
from __future__ import annotations

from signals_inbox.services.audit import audit_record
from signals_inbox.services.ingest import IngestResult, rejected_signal_reprocess, signal_ingest, signal_reject
from signals_inbox.services.needs import (
    auto_author_maybe,
    need_author,
    need_close_if_complete,
    need_dismiss,
    OfferPreview,
    need_offer,
    need_offer_preview,
    needs_close_for_assignment,
)
from signals_inbox.services.rematch import needs_rematch_learner, needs_rematch_learners, needs_rematch_unmatched
from signals_inbox.services.resolution import (
    BatchOutcome,
    batch_size,
    signal_resolve,
    signals_resolve_batch,
)
from signals_inbox.services.signing import signal_signing_put, webhook_id_release, webhook_id_take
from signals_inbox.services.signal_map import inbox_settings_ensure, map_entry_values, signal_map_preview, signal_map_put

__all__ = [
    "BatchOutcome",
    "IngestResult",
    "audit_record",
    "auto_author_maybe",
    "batch_size",
    "inbox_settings_ensure",
    "map_entry_values",
    "need_author",
    "need_close_if_complete",
    "need_dismiss",
    "OfferPreview",
    "need_offer",
    "need_offer_preview",
    "needs_close_for_assignment",
    "needs_rematch_learner",
    "needs_rematch_learners",
    "needs_rematch_unmatched",
    "rejected_signal_reprocess",
    "signal_ingest",
    "signal_map_preview",
    "signal_map_put",
    "signal_reject",
    "signal_signing_put",
    "signal_resolve",
    "signals_resolve_batch",
    "webhook_id_release",
    "webhook_id_take",
]
