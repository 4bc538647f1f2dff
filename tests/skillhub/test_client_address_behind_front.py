"""Behind serve's front, the client's address is the one nginx names, and only for requests that came through it."""
from __future__ import annotations

from skillhub import wsgi


def _seen_address(monkeypatch, environ: dict) -> str:  # noqa: ANN001
    seen = {}

    def app(env, start_response):  # noqa: ANN001, ANN202
        seen["address"] = env.get("REMOTE_ADDR")
        return [b""]

    monkeypatch.setattr(wsgi, "_django", app)
    wsgi.application(environ, lambda *args: None)
    return seen["address"]


def test_a_request_over_the_fronts_unix_socket_takes_the_address_nginx_names(monkeypatch):
    assert _seen_address(monkeypatch, {"REMOTE_ADDR": "", "HTTP_X_REAL_IP": "203.0.113.9"}) == "203.0.113.9"


def test_a_client_connected_over_tcp_cannot_choose_its_address(monkeypatch):
    assert _seen_address(monkeypatch, {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_REAL_IP": "10.0.0.1"}) == "198.51.100.7"
