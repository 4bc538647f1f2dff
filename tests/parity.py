"""Running a hot path on its PostgreSQL statements or on its portable twin, for the parity tests."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from skillhub import db


@contextmanager
def statements_path(settings: Any, monkeypatch: Any, *modules: Any, fast: bool) -> Iterator[list[int]]:
    """Run the PostgreSQL statements (fast) or the portable twins; count prepared-cursor uses in `modules`."""
    settings.DATABASE_POSTGRES_STATEMENTS = fast
    uses: list[int] = []
    real = db.prepared_cursor

    @contextmanager
    def counting() -> Iterator[Any]:
        uses.append(1)
        with real() as cursor:
            yield cursor

    with monkeypatch.context() as patch:
        for module in modules:
            patch.setattr(module, "prepared_cursor", counting)
        yield uses
