"""The console in a real browser (Debian's chromium through Playwright), on the `make run` demo data.

Every page's resources must load: any response of 4xx/5xx (a missing stylesheet, script or image)
fails the test, and so does any request to another host (a font service, a CDN): the console and
the API docs work on a machine without internet. Screenshots of each page land in test-artifacts/.
"""
from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from learning.services import learner_create
from tests.conftest import chromium_path
from tests.webhooks.helpers import send_due

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Console:
    """A logged-in console tab that records every failed resource and saves screenshots."""

    def __init__(self, page, base: str) -> None:  # noqa: ANN001
        self.page = page
        self.base = base
        self.failures: list[str] = []
        page.on("response", lambda response: self.failures.append(f"{response.status} {response.url}") if response.status >= 400 else None)
        page.on("request", self._same_host_only)
        page.set_default_timeout(20_000)

    def _same_host_only(self, request) -> None:  # noqa: ANN001
        url = urlsplit(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != urlsplit(self.base).netloc:
            self.failures.append(f"request to another host: {request.url}")

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")

    def shot(self, name: str, *, full_page: bool = True) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=full_page)

    def text(self) -> str:
        return self.page.inner_text("body")


@pytest.fixture
def demo(live_server, settings, tmp_path):  # noqa: ANN001, ANN201
    """The `make run` demo tenant (seed_demo), its printed admin password, and the live server's address."""
    settings.DATA_DIR = tmp_path
    call_command("seed_demo", learners=12, stdout=open("/dev/null", "w"))  # noqa: SIM115
    password = json.loads((tmp_path / "demo-credentials.json").read_text())["password"]
    return live_server.url, password


@pytest.fixture
def console(browser, demo) -> Iterator[Console]:  # noqa: ANN001
    base, password = demo
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    # Nothing leaves the machine: a request to another host is refused (and recorded as a failure).
    own = urlsplit(base).netloc
    context.route(lambda url: urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != own, lambda route: route.abort())
    tab = Console(context.new_page(), base)
    tab.go("/admin/login/")
    tab.page.fill("#id_username", "admin")
    tab.page.fill("#id_password", password)
    tab.page.click("input[type=submit]")
    tab.page.wait_for_url(re.compile(r".*/admin/signals_inbox/need/.*"))
    yield tab
    context.close()
    assert tab.failures == [], f"resources answered 4xx/5xx or came from another host: {tab.failures}"


def _row(tab: Console, topic: str):  # noqa: ANN202
    return tab.page.locator("#result_list tbody tr", has_text=topic)


def test_admin_lands_on_the_inbox_and_the_api_docs_render(console):  # noqa: ANN001
    assert "Training needs" in console.text()
    assert _row(console, "Manual Handling").count() == 1
    console.shot("inbox")
    console.go("/api/v1/docs")
    # ReDoc lays out the whole spec in the browser before it shows anything: give it time on a busy machine.
    console.page.wait_for_selector("text=Learners, courses, webhooks and training needs", timeout=45_000)
    assert "skillhub API" in console.text()
    console.shot("api-docs", full_page=False)  # the reference is very long


def test_offer_a_need_to_a_site_and_see_the_assignments(console):  # noqa: ANN001
    _row(console, "Manual Handling").get_by_role("link", name="Offer").click()
    console.page.check("input[name=target][value=site]")
    console.page.select_option("select[name=site]", label="Site A")
    with console.page.expect_navigation():
        console.page.click("input[name=preview]")
    count = int(console.page.inner_text("#offer-new-count"))
    assert count > 0
    console.shot("offer-preview")
    with console.page.expect_navigation():
        console.page.click("input[name=confirm]")
    console.page.wait_for_selector("#assignments table")
    assert console.page.locator("#assignments tbody tr").count() == count
    assert "Offered" in console.text()
    console.shot("need-detail")


def test_author_opens_the_draft_and_dismiss_takes_a_reason(console):  # noqa: ANN001
    _row(console, "Hazard Awareness").get_by_role("button", name="Author").click()
    console.page.wait_for_url(re.compile(r".*/admin/learning/course/.+/change/"))
    assert "Draft" in console.text() and "Hazard Awareness" in console.page.input_value("#id_topic")
    console.shot("authored-draft")
    console.go("/admin/signals_inbox/need/")
    _row(console, "Forklift Operation").get_by_role("link", name="Dismiss").click()
    console.page.fill("textarea[name=reason]", "Covered by the forklift refresher in March")
    console.shot("dismiss")
    with console.page.expect_navigation():
        console.page.click("input[type=submit][value=Dismiss]")
    assert "Need dismissed" in console.text()
    assert _row(console, "Forklift Operation").count() == 0


def test_completing_onboarding_on_the_readiness_board_turns_a_worker_ready(console, demo):  # noqa: ANN001
    from tenants.models import Tenant

    learner_create(tenant=Tenant.objects.get(slug="demo"), values={"first_name": "Rita", "last_name": "Ready", "site": "Head Office"})
    console.go("/admin/readiness/?site=Head+Office")
    console.shot("readiness")
    row = console.page.locator("#readiness-board tbody tr", has_text="Rita Ready")
    assert "Not ready" in row.inner_text()
    for _ in range(5):
        button = row.get_by_role("button", name=re.compile("^Mark"))
        if button.count() == 0:
            break
        with console.page.expect_navigation():
            button.first.click()
        row = console.page.locator("#readiness-board tbody tr", has_text="Rita Ready")
    assert row.get_attribute("data-ready") == "yes"
    console.shot("readiness-ready")


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        return


def test_ping_an_endpoint_and_create_an_api_key_shown_once(console, settings):  # noqa: ANN001
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        from tenants.models import Tenant
        from webhooks.services import endpoint_create

        endpoint = endpoint_create(tenant=Tenant.objects.get(slug="demo"), values={"url": f"http://127.0.0.1:{receiver.server_port}/hook"})
        console.go("/admin/webhooks/endpoint/")
        console.shot("webhooks")
        console.page.get_by_role("link", name=endpoint.url).click()
        with console.page.expect_navigation():
            console.page.get_by_role("button", name="Send test ping").click()
        assert "Ping queued as delivery" in console.text()
        send_due()  # what a worker does with the queued ping
        console.page.reload()
        assert "webhook.ping" in console.page.inner_text("#delivery-log")
        console.shot("endpoint-log")
    finally:
        receiver.shutdown()
        receiver.server_close()

    console.go("/admin/tenants/apikey/add/")
    console.page.fill("#id_name", "BI export")
    console.page.check("input[name=scopes][value='learners:read']")
    with console.page.expect_navigation():
        console.page.click("input[name=_save]")
    secret = console.page.inner_text("#secret-value")
    assert secret.startswith("shk_")
    assert console.page.get_by_role("button", name="Copy").count() == 1
    console.shot("api-key-once")
    console.go("/admin/tenants/apikey/")
    assert secret[:12] in console.text() and secret not in console.page.content()


def test_the_other_console_pages_render(console):  # noqa: ANN001
    for name, path in (
        ("unmatched", "/admin/unmatched/"),
        ("signal-map", "/admin/signal-map/"),
        ("signal-secrets", "/admin/tenants/signalsecret/"),
        ("learners", "/admin/learning/learner/"),
        ("all-records", "/admin/?apps=1"),
    ):
        console.go(path)
        assert "Server Error" not in console.text()
        console.shot(name)
    console.go("/admin/signal-map/")
    with console.page.expect_navigation():
        console.page.click("input[name=preview]")
    assert "Accepted as" in console.page.inner_text("#preview-result")
    console.shot("signal-map-dry-run")
