"""SCIM 2.0 routes under /scim/v2/tenants/{slug}/."""
from __future__ import annotations

from django.urls import path, re_path

from provisioning import api

urlpatterns = [
    path("ServiceProviderConfig", api.ServiceProviderConfigView.as_view(), name="scim-service-provider-config"),
    path("ResourceTypes", api.ResourceTypesView.as_view(), name="scim-resource-types"),
    path("ResourceTypes/<str:name>", api.ResourceTypesView.as_view(), name="scim-resource-type"),
    path("Schemas", api.SchemasView.as_view(), name="scim-schemas"),
    path("Schemas/<str:urn>", api.SchemasView.as_view(), name="scim-schema"),
    path("Users", api.UsersView.as_view(), name="scim-users"),
    path("Users/<str:user_id>", api.UserView.as_view(), name="scim-user"),
    path("Groups", api.GroupsView.as_view(), name="scim-groups"),
    path("Groups/<str:group_id>", api.GroupView.as_view(), name="scim-group"),
    re_path(r"^.*$", api.UnknownEndpointView.as_view(), name="scim-unknown"),
]
