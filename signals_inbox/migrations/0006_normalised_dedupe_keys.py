"""Rewrite default dedupe keys in the normalised form, so a data point re-sent after the upgrade finds its need.

Only keys that equal the old default (`type:worker|site:topic casefolded`) are rewritten; keys a
sender chose are theirs. Where two open needs of one tenant now share a key (the near-duplicates the
normalisation is for), the oldest takes it and the others keep their old key until they close.
"""
from __future__ import annotations

import hashlib
import re

from django.db import migrations

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_LIMIT = 300
_ACTIVE = ("open", "offered", "authoring")


def _singular(word: str) -> str:
    # Frozen copy of learning.topics._singular as of this migration.
    if len(word) <= 3:
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _bounded(kind: str, key: str) -> str:
    return key if len(key) <= _LIMIT else f"{kind}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def rewrite(apps, schema_editor):  # noqa: ANN001, ANN201
    Need = apps.get_model("signals_inbox", "Need")
    taken: set[tuple[str, str]] = set(
        (str(tenant), key) for tenant, key in Need.objects.filter(status__in=_ACTIVE).values_list("tenant_id", "dedupe_key")
    )
    rows = Need.objects.order_by("first_seen_at", "id").values_list("id", "tenant_id", "status", "type", "worker_ref", "site_name", "topic", "dedupe_key")
    changes = []
    for pk, tenant, status, kind, worker_ref, site, topic, key in rows.iterator(chunk_size=2000):
        worker = worker_ref.split(":", 1)[1] if worker_ref else ""
        if key != _bounded(kind, f"{kind}:{worker or site}:{topic.casefold()}"):
            continue
        normal = " ".join(_singular(w) for w in _WORD.findall(topic.casefold()))[:200] or topic.casefold()
        new = _bounded(kind, f"{kind}:{worker or site.casefold()}:{normal}")
        if new == key:
            continue
        if status in _ACTIVE:
            if (str(tenant), new) in taken:
                continue
            taken.discard((str(tenant), key))
            taken.add((str(tenant), new))
        changes.append((pk, new))
    for pk, new in changes:
        Need.objects.filter(pk=pk).update(dedupe_key=new)


class Migration(migrations.Migration):
    dependencies = [("signals_inbox", "0005_replay_guard_and_closed_dedupe")]

    operations = [migrations.RunPython(rewrite, migrations.RunPython.noop)]
