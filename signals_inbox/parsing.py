"""Parse and validate a signal body into the fields a need is made of (document 004's field table)."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

import orjson

from learning.topics import topic_key, topic_label, topic_normal

# Built-in meaning of document 004's recognised types; a tenant's signal map and the signal's
# own fields both override these (explicit field > tenant map > built-in > severity 2).
TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "credential_expiring": {"category": "Refresher", "severity": 3},
    "credential_expired": {"category": "Refresher", "severity": 4},
    "incident": {"category": "Incident follow-up", "severity": 3},
    "role_assigned": {"category": "Role readiness", "severity": 2},
    "policy_updated": {"category": "Policy briefing", "severity": 2},
    "onboarding_gap": {"category": "Onboarding", "severity": 3},
}
DEFAULT_SEVERITY = 2
WORKER_KEYS = ("external_worker_id", "email", "learner_id")
_TEXT_LIMITS = {
    "external_worker_id": 100,
    "email": 254,
    "learner_id": 64,
    "site": 200,
    "topic": 200,
    "category": 100,
    "dedupe_key": 200,
}
_TYPE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
_DEDUPE_KEY_LIMIT = 300


class InvalidSignal(Exception):
    """The body authenticated but is not a valid signal; `detail` says what is wrong."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class MapEntry:
    topic: str = ""
    category: str = ""
    severity: int | None = None


@dataclass(frozen=True)
class ParsedSignal:
    """A valid signal with the signal map applied: everything ingest needs to record it."""

    event: str
    type: str
    data: dict[str, Any]
    data_json: str
    worker_key: str  # which of WORKER_KEYS named the worker first, "" for a cohort
    worker_value: str
    site: str
    topic: str
    topic_key: str
    category: str
    severity: int
    dedupe_key: str
    payload_json: str

    @property
    def worker_ref(self) -> str:
        return f"{self.worker_key}:{self.worker_value}" if self.worker_key else ""

    def worker_lookup(self) -> dict[str, str]:
        """Return the worker keys the signal gave, for learning.selectors.learner_find."""
        return {key: _text_or_empty(self.data.get(key)) for key in WORKER_KEYS}


def _text_or_empty(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return ""
    return str(value).strip()


def _text_field(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if name in ("external_worker_id", "learner_id") and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # HR systems often send numeric ids
    if not isinstance(value, str):
        raise InvalidSignal(f"data.{name} must be a string")
    text = " ".join(value.split())
    if len(text) > _TEXT_LIMITS[name]:
        raise InvalidSignal(f"data.{name} must be at most {_TEXT_LIMITS[name]} characters")
    return text


def _signal_type(event: Any, data: Mapping[str, Any]) -> tuple[str, str]:
    if not isinstance(event, str) or not event:
        raise InvalidSignal("event is required: 'signal.<type>', or 'signal' with data.type")
    given = data.get("type")
    if given is not None and not isinstance(given, str):
        raise InvalidSignal("data.type must be a string")
    if event == "signal":
        if not given:
            raise InvalidSignal("event 'signal' needs data.type")
        kind = given
    elif event.startswith("signal."):
        kind = event[len("signal.") :]
        if given and given.strip().lower() != kind.strip().lower():
            raise InvalidSignal(f"event type {kind[:64]!r} and data.type {given[:64]!r} disagree")
    else:
        raise InvalidSignal("event must be 'signal.<type>', or 'signal' with data.type")
    kind = kind.strip().lower()
    if not _TYPE.match(kind):
        raise InvalidSignal("the signal type must be 1-64 of a-z, 0-9, '_', '-', '.', ':' (starting with a letter or digit)")
    return event[:100], kind


def _severity(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSignal("data.severity must be an integer from 1 to 4")
    if not 1 <= value <= 4:
        raise InvalidSignal("data.severity must be from 1 (low) to 4 (blocking)")
    return value


def _dumps(value: Any) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError as exc:  # orjson writes at most 254 levels of nesting
        raise InvalidSignal("data is nested too deeply (at most 250 levels)") from exc
    if "\\u0000" in text:
        # PostgreSQL's jsonb cannot hold NUL characters; refuse them everywhere for one behaviour.
        raise InvalidSignal("NUL characters (\\u0000) are not allowed")
    return text


def default_dedupe_key(kind: str, who: str, topic_key: str) -> str:
    """Return the dedupe key of a signal that names none: type, worker (or site), normalised topic."""
    dedupe_key = f"{kind}:{who}:{topic_key}"
    if len(dedupe_key) > _DEDUPE_KEY_LIMIT:
        dedupe_key = f"{kind}:sha256:{hashlib.sha256(dedupe_key.encode()).hexdigest()}"
    return dedupe_key


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for name, _value in pairs:
        if name in seen:
            raise InvalidSignal(f"duplicate JSON key {name[:64]!r}: each key may appear once in an object")
        seen.add(name)
    return {}  # only the check matters; orjson builds the document


def _load_document(body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the body's JSON object and its `data` object, or raise InvalidSignal."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidSignal(f"body is not valid JSON: {str(exc)[:120]}") from exc
    # orjson keeps the last of duplicate keys silently; a sender that repeats one means something we cannot guess.
    try:
        json.loads(body, object_pairs_hook=_refuse_duplicate_keys)
    except RecursionError as exc:
        raise InvalidSignal("data is nested too deeply (at most 250 levels)") from exc
    except ValueError:
        pass  # orjson accepted it; the standard parser is only here to see repeated keys
    if not isinstance(document, dict):
        raise InvalidSignal("body must be a JSON object with 'event' and 'data'")
    data = document.get("data", {})
    if not isinstance(data, dict):
        raise InvalidSignal("data must be a JSON object")
    return document, data


def _topic(given: str, kind: str, entry: MapEntry) -> str:
    topic = topic_label(given or entry.topic)
    if not topic:
        raise InvalidSignal(f"no topic: send data.topic, or map type {kind!r} to a topic in the signal map")
    return topic


def _worker(fields: Mapping[str, str]) -> tuple[str, str]:
    """The field that names the worker and its value; ("", "") for a site's signal (one of the two is required)."""
    worker_key = next((key for key in WORKER_KEYS if fields[key]), "")
    if not worker_key and not fields["site"]:
        raise InvalidSignal("a signal needs a worker (data.external_worker_id, data.email or data.learner_id) or data.site")
    return worker_key, fields[worker_key] if worker_key else ""


def _category_and_severity(kind: str, entry: MapEntry, category: str, severity: int | None) -> tuple[str, int]:
    """What the signal says, else the signal map's defaults, else the built-in defaults of its type."""
    builtin = TYPE_DEFAULTS.get(kind, {})
    return (
        category or entry.category or builtin.get("category", ""),
        severity or entry.severity or builtin.get("severity") or DEFAULT_SEVERITY,
    )


def parse_signal(body: bytes, signal_map: Mapping[str, MapEntry]) -> ParsedSignal:
    """Return the validated signal in `body` with map defaults applied, or raise InvalidSignal."""
    document, data = _load_document(body)
    event, kind = _signal_type(document.get("event"), data)
    fields = {name: _text_field(data, name) for name in _TEXT_LIMITS}
    fields["email"] = fields["email"].lower()
    explicit_severity = _severity(data.get("severity"))
    worker_key, worker_value = _worker(fields)
    entry = signal_map.get(kind) or MapEntry()
    topic = _topic(fields["topic"], kind, entry)
    category, severity = _category_and_severity(kind, entry, fields["category"], explicit_severity)
    # The default key forgives what course matching forgives, bar word order: "Chemical Spill Response"
    # and "chemical spill responses" from one site are one need (case, spacing, punctuation, plurals).
    who = worker_value or fields["site"].casefold()
    return ParsedSignal(
        event=event,
        type=kind,
        data=data,
        data_json=_dumps(data),
        worker_key=worker_key,
        worker_value=worker_value,
        site=fields["site"],
        topic=topic,
        topic_key=topic_key(topic) or topic.casefold(),
        category=category,
        severity=severity,
        dedupe_key=fields["dedupe_key"] or default_dedupe_key(kind, who, topic_normal(topic) or topic.casefold()),
        payload_json=_dumps(data.get("payload", {})),
    )
