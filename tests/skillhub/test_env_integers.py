"""Whole numbers from the environment are read one way: "4.7" is refused, naming the variable, never truncated."""
from __future__ import annotations

import importlib

import pytest
from django.core.exceptions import ImproperlyConfigured

from skillhub.env import env_int


@pytest.mark.parametrize("raw", ["4.7", "4.0", "4_000", "four", "0x10", "1e3"])
def test_anything_but_digits_is_refused_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SKILLHUB_TEST_COUNT", raw)
    with pytest.raises(ImproperlyConfigured, match="SKILLHUB_TEST_COUNT must be a whole number"):
        env_int("SKILLHUB_TEST_COUNT", 1)


@pytest.mark.parametrize(("raw", "expected"), [("7", 7), (" 12 ", 12), ("+3", 3), ("", 5)])
def test_whole_numbers_and_unset_values(monkeypatch, raw, expected):
    monkeypatch.setenv("SKILLHUB_TEST_COUNT", raw)
    assert env_int("SKILLHUB_TEST_COUNT", 5) == expected


def test_bounds_name_the_variable(monkeypatch):
    monkeypatch.setenv("SKILLHUB_TEST_COUNT", "0")
    with pytest.raises(ImproperlyConfigured, match="SKILLHUB_TEST_COUNT must be at least 1"):
        env_int("SKILLHUB_TEST_COUNT", 5, minimum=1)


def test_gunicorn_configuration_reads_through_the_same_parser(monkeypatch):
    import skillhub.gunicorn_conf as conf

    monkeypatch.setenv("SKILLHUB_WEB_THREADS", "4.7")
    with pytest.raises(ImproperlyConfigured, match="SKILLHUB_WEB_THREADS must be a whole number"):
        importlib.reload(conf)
    monkeypatch.setenv("SKILLHUB_WEB_THREADS", "6")
    assert importlib.reload(conf).threads == 6


def test_serve_reads_its_client_timeout_through_the_same_parser(monkeypatch):
    from skillhub.management.commands.serve import Command

    monkeypatch.setenv("SKILLHUB_CLIENT_TIMEOUT", "2.5")
    with pytest.raises(ImproperlyConfigured, match="SKILLHUB_CLIENT_TIMEOUT must be a whole number"):
        Command().create_parser("manage.py", "serve")
