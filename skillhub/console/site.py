"""The console's admin site: throttled login, the console pages beside the model pages, a tenant picker."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, cast

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from skillhub.console.lockout import login_failed, login_succeeded, login_wait


@dataclass(frozen=True)
class ConsolePage:
    """A console page hung under /admin/: its route, view and URL name."""

    route: str
    view: Callable[..., HttpResponse]
    name: str


class ConsoleAutocompleteJsonView(AutocompleteJsonView):
    """Autocomplete answers labelled by the model admin's `autocomplete_label(obj)` when it has one."""

    def serialize_result(self, obj: Any, to_field_name: str) -> dict[str, Any]:
        result = super().serialize_result(obj, to_field_name)
        label = getattr(self.model_admin, "autocomplete_label", None)
        if label is not None:
            result["text"] = label(obj)
        return result


class ConsoleAdminSite(admin.AdminSite):
    """The Django admin as the tenant admin's workplace."""

    site_header = "skillhub console"
    site_title = "skillhub console"
    index_title = "Console"
    enable_nav_sidebar = True

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self._pages: list[ConsolePage] = []
        self._menu: list[tuple[int, str, str]] = []

    def register_page(self, route: str, view: Callable[..., HttpResponse], *, name: str) -> None:
        """Add a console page at /admin/<route> (URL name `admin:<name>`), behind the staff login."""
        self._pages.append(ConsolePage(route, view, name))

    def add_menu_link(self, title: str, url_name: str, *, order: int) -> None:
        """Show a link to a console page or model page (URL name under `admin:`) in the console bar."""
        self._menu.append((order, title, url_name))

    def get_urls(self) -> list[Any]:
        from skillhub.console.secrets import secret_once_view

        pages = [path(page.route, self.admin_view(page.view), name=page.name) for page in self._pages]
        pages.append(path("secret/<str:handle>/", self.admin_view(secret_once_view), name="console_secret_once"))
        return pages + super().get_urls()

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        if request.user.is_authenticated and request.user.is_staff:
            menu = []
            for _, title, url_name in sorted(self._menu):
                url = reverse(f"{self.name}:{url_name}")
                menu.append({"title": title, "url": url, "active": request.path.startswith(url)})
            context["console_menu"] = menu
        return context

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        return ConsoleAutocompleteJsonView.as_view(admin_site=self)(request)  # type: ignore[return-value]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # The Training needs inbox is where a tenant admin lands; ?apps shows every model.
        if "apps" not in request.GET and self._menu:
            return redirect(reverse(f"{self.name}:{sorted(self._menu)[0][2]}"))
        return super().index(request, extra_context)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method == "POST":
            wait = login_wait(request)
            if wait is not None:
                when = f"{wait} second{'s' if wait != 1 else ''}" if wait < 120 else f"{(wait + 59) // 60} minutes"
                context = {
                    **self.each_context(request),
                    "title": "Log in",
                    "app_path": request.get_full_path(),
                    "form": AuthenticationForm(request),
                    "username": request.user.get_username(),
                    "throttled_message": (
                        "Too many failed sign-in attempts for this user or from this address. "
                        f"Try again in {when}."
                    ),
                    **(extra_context or {}),
                }
                refused = TemplateResponse(request, "admin/console/login_throttled.html", context, status=429)
                refused["Retry-After"] = str(wait)
                return refused
            response = super().login(request, extra_context)
            if request.user.is_authenticated:
                login_succeeded(request, response)
            else:
                login_failed(request)
            return response
        return super().login(request, extra_context)


def console_site() -> ConsoleAdminSite:
    """Return `admin.site`, which the console's admin app makes a ConsoleAdminSite."""
    return cast(ConsoleAdminSite, admin.site)
