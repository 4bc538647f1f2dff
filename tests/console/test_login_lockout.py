"""Console sign-in: guessing is slowed per username with a growing, bounded delay; no one can lock another person
out; an address is refused only when it fails on many usernames."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from skillhub.console import lockout
from tests.console.factories import PASSWORD, console_user
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

ATTACKER, OFFICE = "203.0.113.7", "198.51.100.4"


class Clock:
    """The lockout module's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):  # noqa: ANN001, ANN201
    clock = Clock()
    monkeypatch.setattr(lockout, "time", SimpleNamespace(time=clock.time))
    return clock


@pytest.fixture
def target():  # noqa: ANN201
    tenant = TenantFactory()
    console_user(tenant, "bystander")
    return console_user(tenant, "target")


def _login(client: Client, username: str, password: str, address: str = ATTACKER):  # noqa: ANN202
    return client.post(reverse("admin:login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def _signed_in(response) -> bool:  # noqa: ANN001
    return response.status_code == 302


def test_ten_wrong_guesses_no_longer_lock_the_user_out_and_the_right_password_works_after_the_delay(clock, target):  # noqa: ANN001
    attacker = Client()
    answers = []
    for _ in range(10):
        answer = _login(attacker, "target", "wrong-password")
        answers.append(answer.status_code)
        if answer.status_code == 429:
            clock.advance(int(answer["Retry-After"]))
            assert _login(attacker, "target", "wrong-password").status_code == 200
    assert answers[:5] == [200] * 5  # five free failures

    refused = _login(Client(), "target", PASSWORD, OFFICE)
    assert refused.status_code == 429 and b"Too many failed sign-in attempts" in refused.content
    wait = int(refused["Retry-After"])
    assert 1 <= wait <= 60
    clock.advance(wait)
    assert _signed_in(_login(Client(), "target", PASSWORD, OFFICE))


def test_the_delay_doubles_and_never_exceeds_the_cap(clock, target, settings):  # noqa: ANN001
    settings.CONSOLE_LOGIN_MAX_DELAY = 60
    attacker = Client()
    for _ in range(5):
        _login(attacker, "target", "wrong-password")
    waits = []
    for _ in range(12):
        refused = _login(attacker, "target", "wrong-password")
        assert refused.status_code == 429
        waits.append(int(refused["Retry-After"]))
        clock.advance(waits[-1])
        assert _login(attacker, "target", "wrong-password").status_code == 200  # one checked guess per delay
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60]
    clock.advance(60)
    assert _signed_in(_login(Client(), "target", PASSWORD, OFFICE))


def test_only_one_guess_is_checked_per_delay_however_many_arrive_at_once(clock, target):  # noqa: ANN001
    def attempt() -> object:
        return RequestFactory().post("/admin/login/", {"username": "target", "password": "x"}, REMOTE_ADDR=ATTACKER)

    burst = [lockout.login_wait(attempt()) for _ in range(20)]
    assert burst.count(None) == 5  # the free ones, even though none has failed yet
    for _ in range(5):
        lockout.login_failed(attempt())
    clock.advance(1)
    after_delay = [lockout.login_wait(attempt()) for _ in range(20)]
    assert after_delay.count(None) == 1


def test_a_browser_that_signed_in_before_is_not_delayed_by_someone_elses_guesses(clock, target):  # noqa: ANN001
    own_browser = Client()
    assert _signed_in(_login(own_browser, "target", PASSWORD, OFFICE))
    own_browser.post(reverse("admin:logout"))
    for _ in range(30):
        _login(Client(), "target", "wrong-password", f"192.0.2.{_ + 1}")
    assert _login(Client(), "target", PASSWORD, OFFICE).status_code == 429  # a new browser waits

    assert _signed_in(_login(own_browser, "target", PASSWORD, OFFICE))


def test_the_device_cookie_is_for_its_own_user_and_has_its_own_free_failures(clock, target):  # noqa: ANN001
    own_browser = Client()
    assert _signed_in(_login(own_browser, "target", PASSWORD, OFFICE))
    own_browser.post(reverse("admin:logout"))
    for _ in range(8):
        _login(Client(), "bystander", "wrong-password", f"192.0.2.{_ + 1}")
    assert _login(own_browser, "bystander", PASSWORD, OFFICE).status_code == 429  # not bystander's device
    for _ in range(5):
        assert _login(own_browser, "target", "wrong-password", OFFICE).status_code == 200
    for _ in range(8):
        _login(Client(), "target", "wrong-password", f"192.0.2.{_ + 100}")
    assert _login(own_browser, "target", PASSWORD, OFFICE).status_code == 429  # its free failures are spent


def test_a_user_behind_the_attackers_address_is_unaffected(clock, target):  # noqa: ANN001
    for _ in range(10):
        _login(Client(), "target", "wrong-password", ATTACKER)
    assert _signed_in(_login(Client(), "bystander", PASSWORD, ATTACKER))


def test_an_address_failing_on_many_usernames_is_refused_for_the_window(clock, target):  # noqa: ANN001
    for index in range(10):
        assert _login(Client(), f"nobody{index}", "wrong-password", ATTACKER).status_code == 200
    refused = _login(Client(), "bystander", PASSWORD, ATTACKER)
    assert refused.status_code == 429 and 500 < int(refused["Retry-After"]) <= 600
    assert _signed_in(_login(Client(), "bystander", PASSWORD, OFFICE))
    clock.advance(601)
    assert _signed_in(_login(Client(), "bystander", PASSWORD, ATTACKER))


def test_successful_logins_do_not_count(target):  # noqa: ANN001
    for _ in range(12):
        assert _signed_in(_login(Client(), "target", PASSWORD, "203.0.113.20"))


def test_a_cache_that_does_not_answer_does_not_refuse_sign_in(target, monkeypatch):  # noqa: ANN001
    def down(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise ConnectionError("cache down")

    for name in ("get", "add", "incr", "set"):
        monkeypatch.setattr(lockout.cache, name, down)
    assert _login(Client(), "target", "wrong-password").status_code == 200
    assert _signed_in(_login(Client(), "target", PASSWORD))


def test_a_request_without_a_client_address_is_counted_not_refused_with_an_error(target):  # noqa: ANN001
    assert Client().post(reverse("admin:login"), {"username": "x", "password": "y"}, REMOTE_ADDR="").status_code == 200
