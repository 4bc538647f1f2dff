"""The delivery path's statements (webhooks/engine/statements.py) repeat a few rules; each copy must say the same."""

from __future__ import annotations

import re

from tenants.models import Tenant
from webhooks.engine import statements
from webhooks.models import Attempt, Delivery, Endpoint, EndpointSlot, Event

ALL = {name: sql for name, sql in vars(statements).items() if name.isupper() and isinstance(sql, str)}

CAP = re.compile(r"\(CASE WHEN p\.circuit_open_until > %\(now\)s THEN 0.*?END\)", re.S)
DUE = re.compile(r"\(\(d\.state = 'pending' AND d\.next_attempt_at <= %\(now\)s\).*?\)\)", re.S)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_every_copy_of_the_cap_rule_is_the_same():
    copies = {_one_line(m.group(0)) for sql in ALL.values() for m in CAP.finditer(sql)}
    assert copies == {
        "(CASE WHEN p.circuit_open_until > %(now)s THEN 0 WHEN p.consecutive_failures >= %(threshold)s THEN 1 "
        "ELSE COALESCE(p.max_in_flight, %(default_cap)s) END)"
    }


def test_every_copy_of_the_due_rule_is_the_same():
    copies = {_one_line(m.group(0)) for sql in ALL.values() for m in DUE.finditer(sql)}
    assert copies == {
        "((d.state = 'pending' AND d.next_attempt_at <= %(now)s) OR (d.state = 'sending' AND d.claimed_until < %(now)s))"
    }


def test_the_statements_name_the_models_tables():
    tables = {m._meta.db_table for m in (Attempt, Delivery, Endpoint, EndpointSlot, Event, Tenant)}
    named = {t for sql in ALL.values() for t in re.findall(r"\b(?:webhooks|tenants)_[a-z]+\b", sql)}
    assert named <= tables


def test_every_postgresql_statement_has_its_portable_twins():
    assert {name for name in ALL if name.endswith("_PG")} == set(statements.TWINS)
    assert all(twin in ALL for twins in statements.TWINS.values() for twin in twins)
