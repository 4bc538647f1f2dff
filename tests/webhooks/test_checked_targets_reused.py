"""A target host's checked answer is reused for a few seconds, and the guard still holds.

Without reuse every POST would ask the resolver again (a DNS query each). A connection still goes
only to an address that was checked; an answer that changes is checked when the entry runs out,
and a refused answer is never kept.
"""

from __future__ import annotations

import pytest

from webhooks.engine import transport

PUBLIC = "93.184.216.34"


@pytest.fixture
def counting_dns(monkeypatch, settings):
    settings.WEBHOOKS_RESOLVE_CACHE_SECONDS = 5
    table = {"hooks.example.com": [PUBLIC]}
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return list(table[host])

    monkeypatch.setattr(transport, "resolve", resolve)
    return table, asked


def test_a_hosts_answer_is_asked_once_for_many_posts(counting_dns):
    _, asked = counting_dns
    for _ in range(5):
        assert transport.check_target("https://hooks.example.com/a").address == PUBLIC

    assert asked == ["hooks.example.com"]


def test_an_answer_rebound_to_a_private_address_is_refused_once_the_entry_runs_out(counting_dns, monkeypatch):
    table, _ = counting_dns
    clock = [1000.0]
    monkeypatch.setattr(transport.time, "monotonic", lambda: clock[0])
    assert transport.check_target("https://hooks.example.com/a").address == PUBLIC

    table["hooks.example.com"] = ["10.0.0.5"]
    assert transport.check_target("https://hooks.example.com/a").address == PUBLIC  # the checked answer, still pinned
    clock[0] += 6
    with pytest.raises(transport.TargetRefused, match="private address"):
        transport.check_target("https://hooks.example.com/a")


def test_a_refusal_is_not_kept(counting_dns):
    table, asked = counting_dns
    table["hooks.example.com"] = ["127.0.0.1"]
    with pytest.raises(transport.TargetRefused):
        transport.check_target("https://hooks.example.com/a")
    table["hooks.example.com"] = [PUBLIC]

    assert transport.check_target("https://hooks.example.com/a").address == PUBLIC
    assert asked == ["hooks.example.com", "hooks.example.com"]


def test_saving_an_endpoint_checks_its_host_now(counting_dns):
    _, asked = counting_dns
    transport.check_target("https://hooks.example.com/a")
    transport.check_target("https://hooks.example.com/a", fresh=True)

    assert asked == ["hooks.example.com", "hooks.example.com"]
