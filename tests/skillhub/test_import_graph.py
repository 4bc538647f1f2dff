"""The import graph of the apps runs one way: the import-linter contracts of `.importlinter` hold.

Those contracts (also run by `make lint`) put the kernel below the apps and the apps in one stack,
and refuse any cycle between the modules or packages of an app, counting every import wherever it
is written (module top, inside a function, `TYPE_CHECKING`).
"""

from __future__ import annotations

import os
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_hold(monkeypatch):
    monkeypatch.chdir(ROOT)  # the root packages are found from the working directory
    assert lint_imports(config_filename=os.fspath(ROOT / ".importlinter"), no_cache=True, no_logo=True) == 0


def test_an_upward_import_would_break_them(monkeypatch):
    # A kernel module that imports an app (removed again at once): the layers contract must fail.
    monkeypatch.chdir(ROOT)
    probe = ROOT / "skillhub" / "_layer_probe.py"
    probe.write_text("import signals_inbox.models  # noqa: F401\n")
    try:
        broken = lint_imports(config_filename=os.fspath(ROOT / ".importlinter"), no_cache=True, no_logo=True)
    finally:
        probe.unlink()
    assert broken != 0
