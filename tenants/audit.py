"""The audit log of writes: who acts (a context every entry point sets) and what each write changed.

Every entry point names its actor once: the API (`tenants.api.views`, an API key), the console
(`skillhub.middleware.ConsoleActorMiddleware`, a staff user), the admin API (a staff user), SCIM
(`scim_actor`, the key's prefix) and operator commands (`OperatorCommand`, the command's name).
While an actor is set, every save, delete and many-to-many change of a tenant-owned model is
recorded in the same transaction as the write (field names only, never values), so a service
needs no code of its own to be audited; `audit_record` is there for what is not a row change
(an Offer, a rotation), `audit_record_many` for bulk writes that bypass model signals,
`record_created` for one row a raw statement inserted. Inside `batched()` the rows of a block's
writes are held and inserted together as the block ends, still in its transaction (one statement
where a SCIM create wrote one per saved row). Work done by workers and sweeps sets no actor and
records nothing.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save


@dataclass(frozen=True)
class Actor:
    """Who writes: a kind (one per kind of entry point) and the label the audit log shows."""

    kind: str
    label: str


# One label form per kind of actor.
API_KEY, SCIM, USER, COMMAND, SYSTEM = "api-key", "scim", "user", "command", "system"
ACTOR_KINDS = (API_KEY, SCIM, USER, COMMAND, SYSTEM)

_current: ContextVar[Actor | None] = ContextVar("skillhub_actor", default=None)
# The rows held by the innermost `batched()` block, or None outside one.
_held: ContextVar[list[Any] | None] = ContextVar("skillhub_audit_held", default=None)


def api_key_actor(api_key: Any) -> Actor:
    """The actor behind an API key: its visible prefix (never the secret)."""
    return Actor(API_KEY, f"api-key:{api_key.prefix}")


def scim_actor(api_key: Any) -> Actor:
    """The actor behind a SCIM bearer token (an API key of scope `scim`): its prefix."""
    return Actor(SCIM, f"scim:{api_key.prefix}")


def console_actor(user: Any) -> Actor:
    """The actor behind a console session or staff token: the user's login name."""
    return Actor(USER, f"user:{user.get_username()}")


def command_actor(name: str) -> Actor:
    """The actor behind an operator command: the command's name."""
    return Actor(COMMAND, f"command:{name}")


def system_actor(what: str) -> Actor:
    """Work skillhub does by itself (a sweep, an automatic match)."""
    return Actor(SYSTEM, f"system:{what}")


def current_actor() -> Actor | None:
    """Return the actor of the write in progress, or None outside any entry point."""
    return _current.get()


def current_label() -> str:
    """Return the label of the actor the entry point named, for records that keep who acted as text.

    The signal inbox's own trail (`signals_inbox.AuditEntry.actor`) stores this very label, so one
    staff user reads `user:<login>` whether the write came from the console, the admin or a staff token.
    """
    actor = _current.get()
    if actor is None:
        raise LookupError("no actor is named here; every entry point that writes names one (tenants.audit)")
    return actor.label


def set_actor(actor: Actor | None) -> Token[Actor | None]:
    """Name the actor from here on; pass the token to `reset_actor` when the entry point ends."""
    return _current.set(actor)


def reset_actor(token: Token[Actor | None]) -> None:
    _current.reset(token)


@contextmanager
def acting_as(actor: Actor | None) -> Iterator[Actor | None]:
    """Run a block of writes as `actor`."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


class OperatorCommand(BaseCommand):
    """A management command whose writes are audited as `command:<its name>`."""

    def execute(self, *args: Any, **options: Any) -> Any:
        name = type(self).__module__.rsplit(".", 1)[-1]
        with acting_as(command_actor(name)):
            return super().execute(*args, **options)


# --- recording ---------------------------------------------------------------------------------

# Rows skillhub writes as bookkeeping of work (outbox, deliveries, counters) or that are audit themselves.
NOT_AUDITED = frozenset(
    {
        "tenants.auditevent",
        "tenants.idempotencyrecord",
        "webhooks.event",
        "webhooks.delivery",
        "webhooks.attempt",
        "webhooks.endpointslot",
        "learning.learnercount",
        "signals_inbox.signal",
        "signals_inbox.rejectedsignal",
        "signals_inbox.auditentry",
    }
)
# Fields every row has whose change says nothing.
_QUIET_FIELDS = frozenset({"id", "tenant", "created_at", "updated_at", "last_used_at"})
_SNAPSHOT = "_audit_snapshot"


def object_type(model: type[models.Model]) -> str:
    """The name the audit log gives a model's rows (`learner`, `apikey`, `group`)."""
    return model._meta.model_name or model.__name__.lower()


def audit_record(
    *,
    tenant: Any,
    object_type: str,
    object_id: Any,
    action: str,
    changed_fields: Iterable[str] = (),
    details: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> Any:
    """Record one write by `actor` (default: the current one, else `system`); return the event.

    Inside `batched()` the event is held (unsaved) and inserted when the block ends.
    """
    event = _event(
        tenant_id=getattr(tenant, "pk", tenant),
        who=actor or current_actor() or system_actor("unattributed"),
        object_type=object_type,
        object_id=object_id,
        action=action,
        changed_fields=changed_fields,
        details=details,
    )
    held = _held.get()
    if held is not None:
        held.append(_row(event))
    else:
        event.save(force_insert=True)
    return event


def audit_record_many(
    *,
    tenant: Any,
    object_type: str,
    items: Iterable[tuple[Any, str, Iterable[str]]],
    actor: Actor | None = None,
) -> int:
    """Record many writes of one kind of object, each (object id, action, changed field names); return how many.

    For bulk writes that bypass model signals: the rows go in with the writes, in the caller's
    transaction, in one COPY on PostgreSQL.
    """
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.utils import timezone

    who = actor or current_actor() or system_actor("unattributed")
    db = connections[DEFAULT_DB_ALIAS]  # resolved once: 10,000 rows, 10,000 lookups through the proxy saved
    field = {f.name: f for f in _columns()}.__getitem__
    # What every row shares is prepared once; a bulk import's rows differ in id, action and fields only.
    # The values are in the order of `_columns()` (the model's field order).
    tenant_key = field("tenant").get_db_prep_save(getattr(tenant, "pk", tenant), db)
    label, kind, what = who.label[:200], who.kind, object_type[:60]
    no_details = field("details").get_db_prep_save({}, db)
    now = field("created_at").get_db_prep_save(timezone.now(), db)
    changed_field = field("changed_fields")
    rows = [
        [tenant_key, label, kind, what, str(object_id)[:64], action[:40], changed_field.get_db_prep_save(sorted(set(changed)), db), no_details, now]
        for object_id, action, changed in items
    ]
    held = _held.get()
    if held is not None:
        held.extend(rows)
    else:
        _insert(rows)
    return len(rows)


@contextmanager
def batched() -> Iterator[None]:
    """Hold the audit rows of the block's writes and insert them together when it ends without an error.

    Use it inside the transaction of the writes (so the rows commit or roll back with them); an
    enclosing `batched()` block inserts the rows of the blocks within it.
    """
    if _held.get() is not None:
        yield
        return
    held: list[Any] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
    _insert(held)


def _event(
    *,
    tenant_id: Any,
    who: Actor,
    object_type: str,
    object_id: Any,
    action: str,
    changed_fields: Iterable[str] = (),
    details: dict[str, Any] | None = None,
) -> Any:
    from django.utils import timezone

    from tenants.models import AuditEvent

    return AuditEvent(
        tenant_id=tenant_id,
        actor=who.label[:200],
        actor_kind=who.kind,
        object_type=object_type[:60],
        object_id=str(object_id)[:64],
        action=action[:40],
        changed_fields=sorted(set(changed_fields)),
        details=details or {},
        created_at=timezone.now(),
    )


@functools.cache
def _columns() -> tuple[models.Field, ...]:
    from tenants.models import AuditEvent

    return tuple(f for f in AuditEvent._meta.concrete_fields if not f.primary_key)


def _row(event: Any) -> list[Any]:
    """An unsaved event as the values of its row (the columns of `_columns`)."""
    from django.db import DEFAULT_DB_ALIAS, connections

    db = connections[DEFAULT_DB_ALIAS]
    return [f.get_db_prep_save(getattr(event, f.attname), db) for f in _columns()]


def _insert(rows: list[list[Any]]) -> None:
    from skillhub.db import insert_rows
    from tenants.models import AuditEvent

    # Prepared on PostgreSQL: one to a few rows go in after nearly every audited write.
    insert_rows(AuditEvent._meta.db_table, [str(f.column) for f in _columns()], rows, prepare=True)


def _tracked_fields(instance: models.Model) -> list[models.Field]:
    return [f for f in instance._meta.concrete_fields if f.name not in _QUIET_FIELDS]


def created_fields(instance: models.Model) -> list[str]:
    """The fields a new row was given (what its `created` entry names): those with a value."""
    return [f.name for f in _tracked_fields(instance) if getattr(instance, f.attname) not in (None, "", [], {})]


def _snapshot(sender: Any, instance: models.Model, **kwargs: Any) -> None:
    if _current.get() is None:
        return
    values = instance.__dict__
    instance.__dict__[_SNAPSHOT] = {f.attname: values[f.attname] for f in _tracked_fields(instance) if f.attname in values}


def _tenant_id(instance: models.Model) -> Any:
    from tenants.models import Tenant

    if isinstance(instance, Tenant):
        return instance.pk
    return getattr(instance, "tenant_id", None)


def _saved(sender: Any, instance: models.Model, created: bool, raw: bool = False, update_fields: Any = None, **kwargs: Any) -> None:
    actor = _current.get()
    tenant_id = _tenant_id(instance)
    if actor is None or raw or tenant_id is None:
        return
    fields = _tracked_fields(instance)
    if created:
        changed = created_fields(instance)
    elif update_fields is not None:
        names = {f.name for f in fields}
        changed = [name for name in update_fields if name in names]
    else:
        before = instance.__dict__.get(_SNAPSHOT)
        if before is None:
            changed = [f.name for f in fields]
        else:
            changed = [f.name for f in fields if f.attname in before and before[f.attname] != getattr(instance, f.attname)]
    _snapshot(sender, instance)
    if not created and not changed:
        return
    audit_record(
        tenant=tenant_id,
        object_type=object_type(sender),
        object_id=instance.pk,
        action="created" if created else "updated",
        changed_fields=changed,
        actor=actor,
    )


def record_created(instance: models.Model) -> None:
    """Record a row a raw statement inserted (no `save()`, so no signal) as saving it would have."""
    _saved(type(instance), instance, created=True)


def _deleted(sender: Any, instance: models.Model, origin: Any = None, **kwargs: Any) -> None:
    from tenants.models import Tenant

    actor = _current.get()
    tenant_id = _tenant_id(instance)
    if actor is None or tenant_id is None:
        return
    # A tenant's own deletion takes its audit log with it; nothing can be recorded against it.
    if isinstance(origin, Tenant) or getattr(origin, "model", None) is Tenant:
        return
    audit_record(tenant=tenant_id, object_type=object_type(sender), object_id=instance.pk, action="deleted", actor=actor)


def _m2m_field_name(model: type[models.Model], through: Any) -> str:
    for field in model._meta.get_fields():
        if not field.many_to_many:
            continue
        if getattr(field, "auto_created", False) and not getattr(field, "concrete", False):
            if getattr(field, "through", None) is through:
                return str(field.get_accessor_name())  # type: ignore[union-attr]  # a reverse relation
        elif getattr(field.remote_field, "through", None) is through:
            return field.name
    return "members"


def _m2m_changed(sender: Any, instance: models.Model, action: str, pk_set: Any = None, **kwargs: Any) -> None:
    actor = _current.get()
    if actor is None or action not in ("post_add", "post_remove", "post_clear"):
        return
    tenant_id = _tenant_id(instance)
    if tenant_id is None or type(instance)._meta.label_lower in NOT_AUDITED:
        return
    name = _m2m_field_name(type(instance), sender)
    verb = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    ids = sorted(str(pk) for pk in (pk_set or ()))
    audit_record(
        tenant=tenant_id,
        object_type=object_type(type(instance)),
        object_id=instance.pk,
        action="updated",
        changed_fields=[name],
        details={verb: ids[:100], "count": len(ids)} if ids else {verb: "all"},
        actor=actor,
    )


def audited_models() -> list[type[models.Model]]:
    """Return the models whose writes are recorded: the tenant and every row that belongs to one."""
    from django.apps import apps

    from tenants.models import Tenant

    found = []
    for model in apps.get_models():
        if model._meta.label_lower in NOT_AUDITED or model._meta.abstract or model._meta.proxy:
            continue
        try:
            tenant_field = model._meta.get_field("tenant")
        except Exception:  # noqa: BLE001  (FieldDoesNotExist: not tenant-owned)
            tenant_field = None
        if model is Tenant or getattr(tenant_field, "related_model", None) is Tenant:
            found.append(model)
    return found


def connect() -> None:
    """Attach the recorder to every audited model (called once from the app's `ready`)."""
    for model in audited_models():
        uid = f"audit:{model._meta.label_lower}"
        post_init.connect(_snapshot, sender=model, dispatch_uid=f"{uid}:init", weak=False)
        post_save.connect(_saved, sender=model, dispatch_uid=f"{uid}:save", weak=False)
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"{uid}:delete", weak=False)
    m2m_changed.connect(_m2m_changed, dispatch_uid="audit:m2m", weak=False)
