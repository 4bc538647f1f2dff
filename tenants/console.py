"""Which tenant a console page shows: `?tenant=<slug>` among the user's tenants, else their first."""
from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest

from tenants.admin_scoping import can_write, scoped_tenants
from tenants.models import Tenant


@dataclass(frozen=True)
class ConsoleTenant:
    """The tenant a page is about, the others the user may switch to, and whether they may act."""

    tenant: Tenant
    choices: list[Tenant]
    writable: bool


def console_tenant(request: HttpRequest) -> ConsoleTenant:
    """Return the page's tenant; a slug the user does not administer is "not found"."""
    choices = list(scoped_tenants(request).order_by("slug")[:200])
    slug = (request.GET.get("tenant") or request.POST.get("tenant") or "").strip()
    if slug:
        tenant = next((t for t in choices if t.slug == slug), None)
        if tenant is None:
            tenant = scoped_tenants(request).filter(slug=slug).first()
        if tenant is None:
            raise Http404("No such tenant")
    elif choices:
        tenant = choices[0]
    else:
        raise Http404("You administer no tenant yet")
    return ConsoleTenant(tenant=tenant, choices=choices, writable=can_write(request, tenant.pk))
