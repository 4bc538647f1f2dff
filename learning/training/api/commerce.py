"""Voucher routes (manage: scope `courses`; redeem: scope `enrollments`) and purchase routes (scope `enrollments`)."""
from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from learning.models import Course, Learner
from learning.training.api.common import TrainingFilter, detail_view, list_create_view, lookup, related
from learning.training.api.serializers import (
    PurchaseInputSerializer,
    PurchaseSerializer,
    VoucherInputSerializer,
    VoucherRedeemInputSerializer,
    VoucherSerializer,
    VoucherUpdateSerializer,
)
from learning.training.models import LearningPath, Purchase, PurchaseStatus, Voucher
from learning.training.services import commerce
from tenants.api.views import TenantApiView


class VoucherFilter(TrainingFilter):
    code = django_filters.CharFilter(method="filter_code")
    courseId = django_filters.UUIDFilter(field_name="course_id")
    pathId = django_filters.UUIDFilter(field_name="path_id")

    class Meta:
        model = Voucher
        fields: list[str] = []

    def filter_code(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(code=value.strip().upper())


class PurchaseFilter(TrainingFilter):
    learnerId = django_filters.UUIDFilter(field_name="learner_id")
    externalOrderId = django_filters.CharFilter(field_name="external_order_id")
    status = django_filters.ChoiceFilter(choices=PurchaseStatus.choices)

    class Meta:
        model = Purchase
        fields: list[str] = []


def _create_voucher(view: TenantApiView, data: dict[str, Any]) -> Voucher:
    return commerce.voucher_create(
        tenant=view.tenant,
        code=data["code"],
        course=related(Course, view.tenant, data.get("courseId"), "courseId"),
        path=related(LearningPath, view.tenant, data.get("pathId"), "pathId"),
        uses_left=data.get("usesLeft", 1),
        expires_at=data.get("expiresAt"),
    )


def _update_voucher(voucher: Voucher, data: dict[str, Any]) -> Voucher:
    return commerce.voucher_update(voucher=voucher, uses_left=data.get("usesLeft"), expires_at=data.get("expiresAt", ...))


VoucherListApi = list_create_view(
    name="vouchers", model=Voucher, scope="courses", output=VoucherSerializer, filterset=VoucherFilter,
    input_=VoucherInputSerializer, create=_create_voucher,
    doc="List vouchers, or create one for a course or a path.",
)
VoucherDetailApi = detail_view(
    name="vouchers", model=Voucher, scope="courses", output=VoucherSerializer, input_=VoucherUpdateSerializer,
    update=_update_voucher, delete=lambda voucher: commerce.voucher_delete(voucher=voucher),
)


class VoucherRedeemApi(TenantApiView):
    """Redeem a voucher code for a learner: enrolls them (`voucher.redeemed` and the enrollment events).

    404 for an unknown code; 409 when it has expired, has no uses left or this learner already redeemed it.
    """

    scope = "enrollments"

    @extend_schema(operation_id="vouchers_redeem", request=VoucherRedeemInputSerializer, responses={200: VoucherSerializer})
    def post(self, request: Request, slug: str) -> Response:
        data = VoucherRedeemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        learner = related(Learner, self.tenant, data.validated_data["learnerId"], "learnerId")
        voucher = commerce.voucher_redeem(tenant=self.tenant, code=data.validated_data["code"], learner=learner)
        return Response(VoucherSerializer(voucher).data)


def _create_purchase(view: TenantApiView, data: dict[str, Any]) -> Purchase:
    purchase = commerce.purchase_create(
        tenant=view.tenant,
        learner=related(Learner, view.tenant, data["learnerId"], "learnerId"),
        course=related(Course, view.tenant, data.get("courseId"), "courseId"),
        path=related(LearningPath, view.tenant, data.get("pathId"), "pathId"),
        external_order_id=data["externalOrderId"],
        amount=data["amount"],
        currency=data["currency"],
    )
    if data.get("fulfil"):
        purchase, _ = commerce.purchase_fulfil(purchase=purchase)
    return purchase


PurchaseListApi = list_create_view(
    name="purchases", model=Purchase, scope="enrollments", output=PurchaseSerializer, filterset=PurchaseFilter,
    input_=PurchaseInputSerializer, create=_create_purchase,
    doc="List purchases, or record an external order (`fulfil: true` fulfils it at once).",
)
PurchaseDetailApi = detail_view(name="purchases", model=Purchase, scope="enrollments", output=PurchaseSerializer)


class PurchaseFulfilApi(TenantApiView):
    """Fulfil a purchase: enrolls the learner (`purchase.fulfilled`); fulfilling again changes and sends nothing."""

    scope = "enrollments"

    @extend_schema(
        operation_id="purchases_fulfil",
        request=None,
        responses={200: OpenApiResponse(PurchaseSerializer, description="fulfilled (now or before)")},
    )
    def post(self, request: Request, slug: str, pk: str) -> Response:
        purchase, _ = commerce.purchase_fulfil(purchase=lookup(Purchase, self.tenant, pk))
        return Response(PurchaseSerializer(purchase).data)
