"""What every log line says about the work it belongs to: request id, tenant, and the ids concerned.

A request (skillhub.requestlog) or a delivery (webhooks.engine.delivery) binds its fields once; every
line logged while it runs carries them, whichever module logs it. The fields live in a context
variable, so threads never see each other's; work handed to another thread takes a copy along
(`contextvars.copy_context`). Two logging filters run on the handler: one adds the fields to the
record, the other removes credentials that should never have reached a log line.
"""
from __future__ import annotations

import contextvars
import logging
import re
from typing import Any

from dramatiq.middleware import Middleware
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

_fields: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("skillhub_log_fields", default={})


def bind(**fields: Any) -> None:
    """Add fields to every line logged from here on in this context (None or "" removes one)."""
    current = dict(_fields.get())
    for name, value in fields.items():
        if value is None or value == "":
            current.pop(name, None)
        else:
            current[name] = value
    _fields.set(current)


def start(**fields: Any) -> contextvars.Token[dict[str, Any]]:
    """Begin a unit of work with exactly these fields; `end(token)` restores what was there before."""
    return _fields.set({name: value for name, value in fields.items() if value not in (None, "")})


def end(token: contextvars.Token[dict[str, Any]]) -> None:
    _fields.reset(token)


def clear() -> None:
    _fields.set({})


def current() -> dict[str, Any]:
    return dict(_fields.get())


class ContextFilter(logging.Filter):
    """Put the bound fields on each record (as attributes, which the JSON formatter writes out)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _fields.get()
        for name, value in fields.items():
            if not hasattr(record, name):
                setattr(record, name, value)
        # The plain format shows them after the message.
        record.context = "".join(f" {name}={value}" for name, value in fields.items())
        return True


# Credentials by their shapes: API keys, signal and endpoint secrets, bearer tokens, Basic
# credentials, Standard Webhooks signatures and the signal webhook's hex HMACs. Nothing logs them
# on purpose; this keeps one that slipped into an exception message out of the log.
_CREDENTIALS = re.compile(
    r"(?i)\b(?:shk|sig_secret|whsec)_[A-Za-z0-9_\-+/=]{6,}"
    r"|\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}"
    r"|\bv1,[A-Za-z0-9+/=]{20,}"
    r"|\b[0-9a-fA-F]{64}\b"
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return _CREDENTIALS.sub(REDACTED, text)


class RedactFilter(logging.Filter):
    """Replace anything shaped like a credential in the message and the traceback."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # Formatted once here, redacted; both formatters use exc_text when exc_info is gone.
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class ActorContext(Middleware):
    """Each Dramatiq message starts with no fields but its own id (a worker thread runs many)."""

    def before_process_message(self, broker: Any, message: Any) -> None:
        start(messageId=message.message_id, actor=message.actor_name)

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None, exception: Any = None) -> None:
        clear()

    def after_skip_message(self, broker: Any, message: Any) -> None:
        clear()


class JsonFormatter(OrjsonFormatter):
    """One JSON object per line: time, level, logger, message, then the bound fields and extras."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "exc_info": "exception"})
        kwargs.setdefault("timestamp", "time")
        # `context` is the plain format's rendering; `request` is Django's request object (its repr has the query string).
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "context", "request", "server_time"])
        super().__init__(*args, **kwargs)
