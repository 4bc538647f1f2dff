"""The one reader of the environment: typed, and a bad value fails loudly, naming the variable.

Settings, `manage.py serve`, the gunicorn configuration and the front all read variables through
these functions and nothing else, so "4.7" for an integer is refused everywhere with the same
ImproperlyConfigured message, never truncated to 4 in one place and refused in another.
"""
from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_INTEGER = re.compile(r"[+-]?[0-9]+")


def env_str(name: str, default: str = "") -> str:
    """Return the variable as a stripped string, or the default when unset."""
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    """Return the variable as a boolean; anything but a clear yes/no is an error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    """Return the variable as a number of at least `minimum`, or the default when unset."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}") from None
    if not value >= minimum:  # also refuses NaN
        raise ImproperlyConfigured(f"{name} must be at least {minimum:g}; got {raw!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated variable as a list of non-empty items."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, schemes: tuple[str, ...]) -> str:
    """Return a URL variable whose scheme is one of `schemes`, or "" when unset."""
    value = env_str(name)
    if not value:
        return ""
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in schemes:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name} must start with one of {allowed}; got {value.split('://', 1)[0]!r}")
    return value


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Return the variable as an integer of at least `minimum` (and at most `maximum`), or the default when unset."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    # Digits only: int() alone would take "4_000", and a float reader would turn "4.7" into 4.
    if not _INTEGER.fullmatch(raw.strip()):
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}")
    value = int(raw.strip())
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}; got {value}")
    return value


def env_json_object(name: str) -> dict:
    """Return the variable parsed as a JSON object, or {} when unset."""
    import json

    raw = env_str(name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object; got {type(value).__name__}")
    return value


def env_rate(name: str, default: str) -> str:
    """Return a django-ratelimit rate such as `10/10m` or `300/m` (count / optional number + s, m, h or d)."""
    value = env_str(name, default)
    if not re.fullmatch(r"[1-9][0-9]*/[1-9]?[0-9]*[smhd]", value):
        raise ImproperlyConfigured(f"{name} must look like 10/10m or 300/m (count/period in s, m, h or d); got {value!r}")
    return value
