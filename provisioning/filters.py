"""SCIM filters (RFC 7644 §3.4.2.2) as Django queries: scim2-models parses, this maps attributes to columns.

Only the attributes listed here can be filtered on; any other is an `invalidFilter` error rather
than a silent empty result, so a misspelt filter never looks like "no such user".
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import scim2_models as scim
from django.db.models import Q
from pydantic import ValidationError
from scim2_models.path import Comparison, FilterVisitor, LogicalExpr, LogicalOperator, Not, Present, ValuePath

from provisioning.scim_schema import ENTERPRISE_USER_SCHEMA, SKILLHUB_USER_SCHEMA, GroupResource, UserResource

NOTHING = Q(pk__in=[])
EVERYTHING = ~NOTHING


@dataclass(frozen=True)
class Column:
    """How one SCIM attribute is stored: the lookup path and how its values compare."""

    path: str
    # "folded": stored lower-cased (compare the lowered value exactly, so indexes serve `eq`);
    # "text": case-insensitive; "exact": case-exact; "uuid"; "datetime"; "active"; "type" (always "work").
    kind: str = "text"


_STRING_LOOKUPS = {"eq": "exact", "co": "contains", "sw": "startswith", "ew": "endswith", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}


def _string_q(column: Column, op: str, value: Any) -> Q:
    if not isinstance(value, str):
        raise scim.InvalidFilterException(detail=f"{op} on this attribute takes a string")
    lookup = _STRING_LOOKUPS[op]
    if column.kind == "folded":
        return Q(**{f"{column.path}__{lookup}": value.lower()})
    if column.kind == "text" and lookup in ("exact", "contains", "startswith", "endswith"):
        lookup = "i" + lookup
    return Q(**{f"{column.path}__{lookup}": value})


def _compare(column: Column, op: str, value: Any) -> Q:
    negate = op == "ne"
    op = "eq" if negate else op
    if column.kind == "active":
        if op != "eq" or not isinstance(value, bool):
            raise scim.InvalidFilterException(detail="active compares with eq/ne and true or false")
        query = Q(status="active") if value else ~Q(status="active")
    elif column.kind == "type":
        query = EVERYTHING if op == "eq" and str(value).lower() == "work" else NOTHING
    elif column.kind == "uuid":
        try:
            pk = uuid.UUID(str(value))
        except ValueError:
            query = NOTHING
        else:
            if op != "eq":
                raise scim.InvalidFilterException(detail="ids compare with eq or ne")
            query = Q(**{column.path: pk})
    elif column.kind == "datetime":
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise scim.InvalidFilterException(detail=f"{value!r} is not a dateTime") from exc
        lookup = {"eq": "exact", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}.get(op)
        if lookup is None:
            raise scim.InvalidFilterException(detail=f"{op} does not apply to a dateTime")
        query = Q(**{f"{column.path}__{lookup}": moment})
    else:
        query = _string_q(column, op, value)
    return ~query if negate else query


class QueryFilter(FilterVisitor[Q]):
    """Translate a parsed SCIM filter into a Q over one model, through an attribute → column table."""

    def __init__(self, columns: dict[tuple[str, str | None], Column], special: dict[tuple[str, str | None], Callable[[str, Any], Q]], prefix: str = "") -> None:
        self.columns = columns
        self.special = special
        self.prefix = prefix

    def _key(self, attr_path: Any) -> tuple[str, str | None]:
        attr = attr_path.attr.lower()
        sub = attr_path.sub_attr.lower() if attr_path.sub_attr else None
        uri = (attr_path.uri or "").lower()
        if uri and uri not in (ENTERPRISE_USER_SCHEMA.lower(), SKILLHUB_USER_SCHEMA.lower()) and not uri.startswith("urn:ietf:params:scim:schemas:core:2.0:"):
            raise scim.InvalidFilterException(detail=f"unknown schema {attr_path.uri}")
        if self.prefix:
            return self.prefix, attr
        return attr, sub

    def visit_comparison(self, node: Comparison) -> Q:
        key = self._key(node.attr_path)
        if key in self.special:
            return self.special[key](node.op.value, node.value)
        column = self.columns.get(key) or self.columns.get((key[0], None) if key[1] is None else key)
        if column is None and key[1] is None:
            column = self.columns.get((key[0], "value"))  # `emails eq "x"` compares emails.value
        if column is None:
            raise scim.InvalidFilterException(detail=f"filtering on {node.attr_path} is not supported")
        return _compare(column, node.op.value, node.value)

    def visit_present(self, node: Present) -> Q:
        key = self._key(node.attr_path)
        column = self.columns.get(key) or self.columns.get((key[0], "value"))
        if column is None:
            raise scim.InvalidFilterException(detail=f"filtering on {node.attr_path} is not supported")
        if column.kind in ("active", "uuid", "datetime", "type"):
            return EVERYTHING
        return ~Q(**{column.path: ""}) & Q(**{f"{column.path}__isnull": False})

    def visit_not(self, node: Not) -> Q:
        return ~self.visit(node.expr)

    def visit_logical_expr(self, node: LogicalExpr) -> Q:
        queries = [self.visit(term) for term in node.terms]
        result = queries[0]
        for query in queries[1:]:
            result = (result & query) if node.op == LogicalOperator.and_ else (result | query)
        return result

    def visit_value_path(self, node: ValuePath) -> Q:
        inner = QueryFilter(self.columns, self.special, prefix=node.attr_path.attr.lower())
        return inner.visit(node.val_filter)


USER_COLUMNS: dict[tuple[str, str | None], Column] = {
    ("id", None): Column("pk", "uuid"),
    ("externalid", None): Column("external_worker_id", "exact"),
    ("emails", "value"): Column("email", "folded"),
    ("emails", "type"): Column("email", "type"),
    ("name", "givenname"): Column("first_name"),
    ("name", "familyname"): Column("last_name"),
    ("displayname", None): Column("scim_display_name"),
    ("title", None): Column("role"),
    ("active", None): Column("status", "active"),
    ("meta", "lastmodified"): Column("updated_at", "datetime"),
    ("meta", "created"): Column("created_at", "datetime"),
    ("employeenumber", None): Column("scim__employee_number", "exact"),
    ("department", None): Column("scim__department"),
    ("site", None): Column("site__name"),
    ("groups", "value"): Column("groups__id", "uuid"),
}


def _user_name(op: str, value: Any) -> Q:
    """userName: the SCIM identity's, or for a learner no SCIM client has claimed yet, its email."""
    claimed = _compare(Column("scim__user_name_key", "folded"), op, value)
    unclaimed = Q(scim__isnull=True) & _compare(Column("email", "folded"), op, value)
    return claimed | unclaimed


USER_SPECIAL: dict[tuple[str, str | None], Callable[[str, Any], Q]] = {("username", None): _user_name}

GROUP_COLUMNS: dict[tuple[str, str | None], Column] = {
    ("id", None): Column("pk", "uuid"),
    ("displayname", None): Column("name"),
    ("members", "value"): Column("learners__id", "uuid"),
    ("meta", "created"): Column("created_at", "datetime"),
}


def _parse(text: str, model: Any) -> Any:
    try:
        return scim.ScimFilter[model](text).ast
    except scim.SCIMException:
        raise
    except (ValidationError, ValueError) as exc:
        raise scim.InvalidFilterException(detail=f"invalid filter: {exc}"[:300]) from exc


def user_filter_q(text: str) -> Q:
    """Return the Q a SCIM filter over Users stands for; InvalidFilterException when it cannot be served."""
    return QueryFilter(USER_COLUMNS, USER_SPECIAL).visit(_parse(text, UserResource))


def group_filter_q(text: str) -> Q:
    """Return the Q a SCIM filter over Groups stands for."""
    return QueryFilter(GROUP_COLUMNS, {}).visit(_parse(text, GroupResource))
