"""Groups (with members) and sites over the API: thin views over `learning.roster.services`."""
from __future__ import annotations

from typing import Any, Callable

from django.db.models import Count, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from learning.roster import services
from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, page_serializer, paginate, parse_page_request
from skillhub.api.serializers import StrictSerializer
from skillhub.ids import uuid_or_none
from tenants.api.views import TenantApiView
from tenants.models import Group, Site, Tenant


def _iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _page_by_name(request: Request, rows: QuerySet[Any], to_json: Callable[[Any], dict[str, Any]]) -> Response:
    """One page of groups or sites, narrowed to an exact `name` when one is asked for."""
    page_request = parse_page_request(request.query_params)
    if request.query_params.get("name"):
        rows = rows.filter(name=request.query_params["name"])
    page = paginate(rows, page_request)
    return Response(page.body([to_json(row) for row in page.rows]))


# --- groups -----------------------------------------------------------------------------------


class GroupOutput(serializers.Serializer):
    """A learner group; its members are `GET /learners?group=<id>`."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    memberCount = serializers.IntegerField()
    createdAt = serializers.DateTimeField()


class GroupCreateInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    learnerIds = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=services.MAX_MEMBERS_PER_CALL)


class GroupUpdateInput(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    learnerIds = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=services.MAX_MEMBERS_PER_CALL,
        help_text="The whole membership: learners not listed leave the group",
    )
    addLearnerIds = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=services.MAX_MEMBERS_PER_CALL)
    removeLearnerIds = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=services.MAX_MEMBERS_PER_CALL)


def _groups(tenant: Tenant) -> QuerySet[Group]:
    return Group.objects.filter(tenant=tenant).annotate(member_count=Count("learners")).order_by("id")


def group_json(group: Group) -> dict[str, Any]:
    count = getattr(group, "member_count", None)
    return {
        "id": str(group.pk),
        "name": group.name,
        "memberCount": count if count is not None else group.learners.count(),
        "createdAt": _iso(group.created_at),
    }


class GroupListCreateApi(TenantApiView):
    """List the tenant's groups, or create one (optionally with members)."""

    scope = "groups"

    @extend_schema(
        operation_id="groups_list",
        parameters=[OpenApiParameter("name", str, description="Exact group name")] + PAGE_OPENAPI_PARAMETERS,
        responses={200: page_serializer(GroupOutput)},
    )
    def get(self, request: Request, slug: str) -> Response:
        return _page_by_name(request, _groups(self.tenant), group_json)

    @extend_schema(operation_id="groups_create", request=GroupCreateInput, responses={201: GroupOutput})
    def post(self, request: Request, slug: str) -> Response:
        data = GroupCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        group = services.group_create(tenant=self.tenant, name=values["name"], learner_ids=values.get("learnerIds", []))
        return Response(group_json(group), status=status.HTTP_201_CREATED)


class GroupDetailApi(TenantApiView):
    """Read, rename, change the members of, or delete one group."""

    scope = "groups"

    def _group(self, group_id: str) -> Group:
        pk = uuid_or_none(group_id)
        group = _groups(self.tenant).filter(pk=pk).first() if pk else None
        if group is None:
            raise Http404
        return group

    @extend_schema(operation_id="groups_read", responses={200: GroupOutput})
    def get(self, request: Request, slug: str, group_id: str) -> Response:
        return Response(group_json(self._group(group_id)))

    @extend_schema(
        operation_id="groups_update",
        request=GroupUpdateInput,
        responses={200: GroupOutput},
        description="Each learner whose groups change records `learner.updated`.",
    )
    def patch(self, request: Request, slug: str, group_id: str) -> Response:
        group = self._group(group_id)
        data = GroupUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.group_update(
            group=group,
            name=values.get("name"),
            learner_ids=values.get("learnerIds"),
            add_ids=values.get("addLearnerIds", []),
            remove_ids=values.get("removeLearnerIds", []),
        )
        return Response(group_json(self._group(group_id)))

    @extend_schema(operation_id="groups_delete", responses={204: None}, description="Its learners stay; they leave the group.")
    def delete(self, request: Request, slug: str, group_id: str) -> Response:
        services.group_delete(group=self._group(group_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- sites ------------------------------------------------------------------------------------


class SiteOutput(serializers.Serializer):
    """A site; its learners are `GET /learners?site=<name>`."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    learnerCount = serializers.IntegerField()
    createdAt = serializers.DateTimeField()


class SiteInput(StrictSerializer):
    name = serializers.CharField(max_length=200)


def _sites(tenant: Tenant) -> QuerySet[Site]:
    return Site.objects.filter(tenant=tenant).annotate(learner_count=Count("learners")).order_by("id")


def site_json(site: Site) -> dict[str, Any]:
    count = getattr(site, "learner_count", None)
    return {
        "id": site.pk,
        "name": site.name,
        "learnerCount": count if count is not None else site.learners.count(),
        "createdAt": _iso(site.created_at),
    }


class SiteListCreateApi(TenantApiView):
    """List the tenant's sites, or create one."""

    scope = "sites"

    @extend_schema(
        operation_id="sites_list",
        parameters=[OpenApiParameter("name", str, description="Exact site name")] + PAGE_OPENAPI_PARAMETERS,
        responses={200: page_serializer(SiteOutput)},
    )
    def get(self, request: Request, slug: str) -> Response:
        return _page_by_name(request, _sites(self.tenant), site_json)

    @extend_schema(operation_id="sites_create", request=SiteInput, responses={201: SiteOutput})
    def post(self, request: Request, slug: str) -> Response:
        data = SiteInput(data=request.data)
        data.is_valid(raise_exception=True)
        site = services.site_create(tenant=self.tenant, name=data.validated_data["name"])
        return Response(site_json(site), status=status.HTTP_201_CREATED)


class SiteDetailApi(TenantApiView):
    """Read or rename one site."""

    scope = "sites"

    def _site(self, site_id: str) -> Site:
        site = _sites(self.tenant).filter(pk=int(site_id)).first() if site_id.isdigit() and len(site_id) < 18 else None
        if site is None:
            raise Http404
        return site

    @extend_schema(operation_id="sites_read", responses={200: SiteOutput})
    def get(self, request: Request, slug: str, site_id: str) -> Response:
        return Response(site_json(self._site(site_id)))

    @extend_schema(
        operation_id="sites_update",
        request=SiteInput,
        responses={200: SiteOutput},
        description="A rename shows in the site's learners and moves their `updatedAt`, so incremental syncs pick it up.",
    )
    def patch(self, request: Request, slug: str, site_id: str) -> Response:
        site = self._site(site_id)
        data = SiteInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.site_rename(site=site, name=data.validated_data["name"])
        return Response(site_json(self._site(site_id)))
