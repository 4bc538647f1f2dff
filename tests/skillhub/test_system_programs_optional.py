"""`make test` needs only Python: a test that needs a system program is skipped where it is missing.

The suite is collected and the tests marked for nginx, redis-server, rabbitmqctl, chromium and
pg_ctl are run with those programs hidden from PATH: each is skipped with the reason, none fails.
With SKILLHUB_REQUIRE_<PROGRAM> set (as CI sets them), a missing program fails the run instead.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.skillhub.serving import ROOT

PROGRAM_MARKERS = "nginx or redis_server or rabbitmq or browser or pg_ctl"


def _hidden_env(tmp_path, **extra: str) -> dict[str, str]:  # noqa: ANN001
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SKILLHUB_REQUIRE_") and k not in {"DATABASE_URL", "REDIS_URL", "DRAMATIQ_BROKER_URL", "SKILLHUB_NGINX"}
    }
    env.update(PATH=str(empty), SKILLHUB_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


def _pytest(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )


@pytest.mark.slow
def test_without_the_system_programs_their_tests_are_skipped_not_failed(tmp_path):
    run = _pytest(_hidden_env(tmp_path), "-m", PROGRAM_MARKERS)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    summary = out.strip().splitlines()[-1]
    assert "skipped" in summary and "failed" not in summary and "error" not in summary and "passed" not in summary, summary
    assert "needs nginx on PATH" in out
    assert "needs Debian's chromium on PATH" in out
    assert "test_sixty_four_slow_clients_neither_delay_others_nor_stay_forever[nginx]" in out or "test_slow_clients.py" in out


@pytest.mark.slow
def test_a_required_program_that_is_missing_fails_the_run(tmp_path):
    run = _pytest(_hidden_env(tmp_path, SKILLHUB_REQUIRE_NGINX="1"), "--collect-only", "tests/skillhub/test_slow_clients.py")
    assert run.returncode != 0
    assert "SKILLHUB_REQUIRE_NGINX is set but this needs nginx on PATH" in run.stdout + run.stderr
