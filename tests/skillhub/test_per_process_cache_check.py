"""Start-up warns when rate-limit counters would live in each process's memory while several processes serve."""
from __future__ import annotations

from django.core.checks import run_checks
from django.test import override_settings

from skillhub.checks import per_process_cache_warning

REDIS_CACHE = {"default": {"BACKEND": "skillhub.cache.SkillhubRedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "check"}}


def _warned() -> bool:
    return any(message.id == "skillhub.W002" for message in run_checks())


@override_settings(CACHES=LOCAL_CACHE)
def test_several_web_processes_on_a_per_process_cache_are_warned_about(monkeypatch):
    monkeypatch.setenv("SKILLHUB_WEB_PROCESSES", "4")

    assert _warned()
    assert "4x" in per_process_cache_warning(web_processes=4, scaled_out=False)


@override_settings(CACHES=LOCAL_CACHE, DRAMATIQ_BROKER="redis")
def test_scaled_out_workers_on_a_per_process_cache_are_warned_about(monkeypatch):
    monkeypatch.delenv("SKILLHUB_WEB_PROCESSES", raising=False)

    assert _warned()


@override_settings(CACHES=LOCAL_CACHE, DRAMATIQ_BROKER="embedded")
def test_the_embedded_default_with_one_process_is_fine(monkeypatch):
    monkeypatch.delenv("SKILLHUB_WEB_PROCESSES", raising=False)

    assert not _warned()


@override_settings(CACHES=REDIS_CACHE, DRAMATIQ_BROKER="redis")
def test_a_shared_cache_is_fine_with_any_number_of_processes(monkeypatch):
    monkeypatch.setenv("SKILLHUB_WEB_PROCESSES", "16")

    assert not _warned()
