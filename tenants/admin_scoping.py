"""A ModelAdmin base that closes the console per tenant: rows, choices, filters, actions and URLs.

A console user administers the tenants of their memberships (superusers all of them). Inherit
`TenantScopedAdmin` and set `tenant_field` to the lookup path from the model to its tenant
(`"tenant"` by default, e.g. `"settings__tenant"` or `"delivery__tenant"`).
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.filters import RelatedFieldListFilter
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from tenants.models import Role, Tenant, TenantMembership

_CACHE_ATTR = "_console_tenant_roles"


def tenant_roles(request: HttpRequest) -> dict[Any, str]:
    """Return {tenant id: role} of the request's user, read once per request."""
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is None:
        user_id: Any = request.user.pk  # the console login is a saved user
        cached = dict(TenantMembership.objects.filter(user_id=user_id).values_list("tenant_id", "role"))
        setattr(request, _CACHE_ATTR, cached)
    return cached


def scoped_tenants(request: HttpRequest) -> QuerySet[Tenant]:
    """Return the tenants the console user administers (every tenant for a superuser)."""
    if request.user.is_superuser:
        return Tenant.objects.all()
    return Tenant.objects.filter(pk__in=list(tenant_roles(request)))


def can_write(request: HttpRequest, tenant_id: Any) -> bool:
    """Say whether the user may change the tenant's rows (a superuser, or an "admin" member)."""
    return request.user.is_superuser or tenant_roles(request).get(tenant_id) == Role.ADMIN


def tenant_path(model: type[models.Model]) -> str | None:
    """Return the lookup path from a model to its tenant, or None if it belongs to none."""
    if model is Tenant:
        return "pk"
    registered = admin.site._registry.get(model)
    if isinstance(registered, TenantScopedAdmin):
        return registered.tenant_field
    try:
        field = model._meta.get_field("tenant")
    except FieldDoesNotExist:
        return None
    return "tenant" if getattr(field, "related_model", None) is Tenant else None


def scope_queryset(request: HttpRequest, queryset: QuerySet) -> QuerySet:
    """Limit any queryset to the user's tenants (users: to themselves); unknown models to nothing."""
    if request.user.is_superuser:
        return queryset
    model = queryset.model
    if model is get_user_model():
        return queryset.filter(pk=request.user.pk)
    path = tenant_path(model)
    if path is None:
        return queryset.none()
    lookup = "pk__in" if path == "pk" else f"{path}__in"
    return queryset.filter(**{lookup: list(tenant_roles(request))})


class ScopedRelatedFieldListFilter(RelatedFieldListFilter):
    """A related-object list filter that lists only the user's tenants' objects."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        related = field.remote_field.model
        queryset = scope_queryset(request, related._default_manager.all())
        return [(obj.pk, str(obj)) for obj in queryset[:500]]

    def has_output(self) -> bool:
        # Django drops a filter with fewer than two choices, and the value it consumed with it: a user of one
        # tenant given `?tenant__id__exact=<another>` would see (and "select all" would act on) every own row.
        # A filter that holds a value always applies it; a foreign or unknown one matches nothing.
        return bool(self.used_parameters) or super().has_output()


def _object_tenant_id(obj: models.Model, path: str) -> Any:
    if path == "pk":
        return obj.pk
    value: Any = obj
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value.pk


class TenantScopedAdmin(admin.ModelAdmin):
    """Show, offer and act on only the rows of tenants the console user administers."""

    tenant_field = "tenant"

    # --- rows and URLs --------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope_queryset(request, super().get_queryset(request))

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> HttpResponse:
        # Another tenant's object typed by hand (change, delete, history) is "not found", like a missing one.
        raise Http404("Not found")

    # --- choices --------------------------------------------------------------------------

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            base = self.get_field_queryset(None, db_field, request)
            kwargs["queryset"] = scope_queryset(request, base if base is not None else db_field.remote_field.model._default_manager.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            base = self.get_field_queryset(None, db_field, request)
            kwargs["queryset"] = scope_queryset(request, base if base is not None else db_field.remote_field.model._default_manager.all())
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # A row never moves to another tenant: its tenant is fixed once it exists.
        if obj is not None and self.tenant_field == "tenant" and "tenant" not in readonly:
            return (*readonly, "tenant")
        return readonly

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        if self.tenant_field == "tenant" and "tenant" not in initial:
            tenants = list(scoped_tenants(request).values_list("pk", flat=True)[:2])
            if len(tenants) == 1:
                initial["tenant"] = tenants[0]  # most console users administer one tenant: preselect it
        return initial

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (SameTenantFormMixin, form), {})

    # --- filters --------------------------------------------------------------------------

    def get_list_filter(self, request: HttpRequest) -> Any:
        scoped: list[Any] = []
        for item in super().get_list_filter(request):
            if isinstance(item, str):
                try:
                    field = get_fields_from_path(self.model, item)[-1]
                except (FieldDoesNotExist, NotRelationField):
                    field = None
                if field is not None and field.is_relation:
                    # A relation filter (also through a path such as "step__tenant") lists only the user's tenants' rows.
                    scoped.append((item, ScopedRelatedFieldListFilter))
                    continue
            scoped.append(item)
        return scoped

    # --- permissions and actions ----------------------------------------------------------

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None:
            return can_write(request, _object_tenant_id(obj, self.tenant_field))
        return allowed

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        if allowed and obj is not None:
            return can_write(request, _object_tenant_id(obj, self.tenant_field))
        return allowed

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if request.user.is_superuser:
            return actions
        # A viewer reads; acting on rows needs the admin role in at least one tenant (each row is re-checked).
        if not any(role == Role.ADMIN for role in tenant_roles(request).values()):
            return {}
        return actions

    def writable(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """Narrow an action's queryset to rows of tenants where the user has the admin role."""
        if request.user.is_superuser:
            return queryset
        admin_of = [tenant_id for tenant_id, role in tenant_roles(request).items() if role == Role.ADMIN]
        lookup = "pk__in" if self.tenant_field == "pk" else f"{self.tenant_field}__in"
        return queryset.filter(**{lookup: admin_of})


class SameTenantFormMixin(forms.BaseForm):
    """Refuse a form whose chosen related objects belong to another tenant than the row's own."""

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        instance = getattr(self, "instance", None)
        tenant = cleaned.get("tenant")
        if tenant is None and getattr(instance, "tenant_id", None) is not None:
            tenant = instance.tenant  # type: ignore[union-attr]
        if not isinstance(tenant, Tenant):
            return cleaned
        for name, value in cleaned.items():
            if name == "tenant" or value is None:
                continue
            values = list(value) if isinstance(value, QuerySet | list | tuple) else [value]
            for item in values:
                item_tenant = getattr(item, "tenant_id", None)
                if isinstance(item, models.Model) and item_tenant is not None and item_tenant != tenant.pk:
                    self.add_error(name, "Choose one of this tenant's own.")
                    break
        return cleaned
