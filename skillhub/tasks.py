"""Discovery of every app's Dramatiq actors and periodic sweeps."""
from __future__ import annotations

import importlib
import importlib.util

from django.apps import apps


def import_app_modules(module_name: str) -> list[str]:
    """Import `<app>.<module_name>` for every installed app that has one; return their names."""
    imported = []
    for config in apps.get_app_configs():
        dotted = f"{config.name}.{module_name}"
        if importlib.util.find_spec(config.name) and importlib.util.find_spec(dotted) is not None:
            importlib.import_module(dotted)
            imported.append(dotted)
    return imported


def import_actors() -> list[str]:
    """Declare every app's actors on the configured broker."""
    from skillhub import broker  # noqa: F401

    return import_app_modules("actors")
