"""Database expressions shared by the apps' selectors."""
from __future__ import annotations

from typing import Any

from django.db.models import CharField, Func


class IsoTimestamp(Func):
    """A UTC timestamp rendered as ISO 8601 text by the database itself.

    Large list pages spend much of their time turning timestamps into datetimes and back into
    text; letting the database format them skips both steps.
    """

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores UTC datetimes on SQLite as 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        return self.as_sql(compiler, connection, template="replace(%(expressions)s, ' ', 'T') || 'Z'", **extra)
