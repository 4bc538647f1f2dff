"""Vouchers (a code that enrolls, a limited number of times) and purchases (an external order that enrolls once fulfilled)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from learning.models import Course, CourseStatus, Learner
from learning.services import assignment_create
from learning.training.events import purchase_fulfilled_data, voucher_redeemed_data
from learning.training.models import LearningPath, Purchase, PurchaseStatus, Voucher, VoucherRedemption
from learning.training.services.common import record, same_tenant
from learning.training.services.paths import path_enroll
from skillhub.errors import ConflictError, NotFoundError, ValidationFailed
from tenants.models import Tenant


def _enroll(*, tenant: Tenant, learner: Learner, course: Course | None, path: LearningPath | None, source: str) -> None:
    """Enroll in the course or the path (recording their enrollment events) inside the caller's transaction."""
    if course is not None:
        if course.status != CourseStatus.PUBLISHED:
            raise ConflictError(f"The course is {course.status}: it cannot be enrolled in", field="course_id", reason=f"course {course.status}")
        assignment_create(tenant=tenant, learner=learner, course=course, source=source)
    elif path is not None:
        path_enroll(tenant=tenant, path=path, learner=learner, source=source)


def _target(tenant: Tenant, course: Course | None, path: LearningPath | None) -> None:
    if not same_tenant(tenant, course, path):
        raise NotFoundError("Course or path not found")
    if (course is None) == (path is None):
        raise ValidationFailed({"course_id": "give either a course or a path"})


def voucher_create(
    *,
    tenant: Tenant,
    code: str,
    course: Course | None = None,
    path: LearningPath | None = None,
    uses_left: int = 1,
    expires_at: Any = None,
) -> Voucher:
    """Create a voucher for a course or a path; codes are unique in the tenant (compared without case)."""
    _target(tenant, course, path)
    code = (code or "").strip().upper()
    if not code or len(code) > 64 or not code.replace("-", "").replace("_", "").isalnum():
        raise ValidationFailed({"code": "1–64 letters, digits, - or _"})
    if isinstance(uses_left, bool) or not isinstance(uses_left, int) or uses_left < 0:
        raise ValidationFailed({"uses_left": "a whole number, 0 or more"})
    try:
        with transaction.atomic():
            return Voucher.objects.create(tenant=tenant, code=code, course=course, path=path, uses_left=uses_left, expires_at=expires_at)
    except IntegrityError as exc:
        raise ConflictError("A voucher with this code exists", field="code", reason="already exists") from exc


def voucher_update(*, voucher: Voucher, uses_left: int | None = None, expires_at: Any = ..., ) -> Voucher:
    """Change how many uses a voucher has left or when it expires."""
    if uses_left is not None:
        if isinstance(uses_left, bool) or not isinstance(uses_left, int) or uses_left < 0:
            raise ValidationFailed({"uses_left": "a whole number, 0 or more"})
        voucher.uses_left = uses_left
    if expires_at is not ...:
        voucher.expires_at = expires_at
    voucher.save()
    return voucher


def voucher_delete(*, voucher: Voucher) -> None:
    """Delete a voucher (its redemptions go with it; enrollments stay)."""
    voucher.delete()


def voucher_redeem(*, tenant: Tenant, code: str, learner: Learner) -> Voucher:
    """Redeem a code for a learner: one use is taken (database-enforced), the learner enrolled, `voucher.redeemed` recorded.

    Unknown (404), expired, used up or already redeemed by this learner (409): nothing changes.
    """
    if not same_tenant(tenant, learner):
        raise NotFoundError("Learner not found")
    voucher = Voucher.objects.select_related("course", "path").filter(tenant=tenant, code=(code or "").strip().upper()).first()
    if voucher is None:
        raise NotFoundError("No voucher with this code", field="code", reason="unknown code")
    now = timezone.now()
    if voucher.expires_at is not None and voucher.expires_at <= now:
        raise ConflictError("The voucher has expired", field="code", reason="expired")
    try:
        with transaction.atomic():
            # The redemption row first: a second redemption by the same learner fails on its unique constraint.
            VoucherRedemption.objects.create(tenant=tenant, voucher=voucher, learner=learner)
            # One conditional UPDATE takes a use; concurrent redeemers queue on the row and see what is left.
            if not Voucher.objects.filter(pk=voucher.pk, uses_left__gt=0).update(uses_left=F("uses_left") - 1, updated_at=now):
                raise ConflictError("The voucher has no uses left", field="code", reason="used up")
            voucher.refresh_from_db(fields=["uses_left", "updated_at"])
            _enroll(tenant=tenant, learner=learner, course=voucher.course, path=voucher.path, source=f"voucher:{voucher.code}"[:80])
            record(
                tenant=tenant,
                event_type="voucher.redeemed",
                data=voucher_redeemed_data(voucher, learner_id=learner.pk, redeemed_at=now),
                subject_type="voucher",
            )
    except IntegrityError as exc:
        raise ConflictError("This learner has already redeemed this voucher", field="code", reason="already redeemed") from exc
    return voucher


def _purchase_values(amount: Any, currency: Any, external_order_id: Any) -> tuple[Decimal, str, str]:
    errors: dict[str, str] = {}
    order = str(external_order_id or "").strip()
    if not order or len(order) > 100:
        errors["external_order_id"] = "required, at most 100 characters"
    try:
        value = Decimal(str(amount))
        if not value.is_finite() or value < 0 or value >= Decimal("1e10"):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["amount"] = "a non-negative decimal amount, e.g. \"199.00\""
        value = Decimal(0)
    code = str(currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        errors["currency"] = "an ISO 4217 code such as ZAR or USD"
    if errors:
        raise ValidationFailed(errors)
    return value.quantize(Decimal("0.01")), code, order


def purchase_create(
    *,
    tenant: Tenant,
    learner: Learner,
    external_order_id: str,
    amount: Any,
    currency: str,
    course: Course | None = None,
    path: LearningPath | None = None,
) -> Purchase:
    """Record an order for a course or a path; the external order id is unique in the tenant."""
    _target(tenant, course, path)
    if not same_tenant(tenant, learner):
        raise NotFoundError("Learner not found")
    value, code, order = _purchase_values(amount, currency, external_order_id)
    try:
        with transaction.atomic():
            return Purchase.objects.create(
                tenant=tenant, learner=learner, course=course, path=path, external_order_id=order, amount=value, currency=code
            )
    except IntegrityError as exc:
        raise ConflictError("A purchase with this external order id exists", field="external_order_id", reason="already exists") from exc


def purchase_fulfil(*, purchase: Purchase) -> tuple[Purchase, bool]:
    """Enroll the buyer and record `purchase.fulfilled`; fulfilling again changes and sends nothing."""
    with transaction.atomic():
        locked = Purchase.objects.select_for_update(of=("self",)).select_related("tenant", "learner", "course", "path").get(pk=purchase.pk)
        if locked.status == PurchaseStatus.FULFILLED:
            return locked, False
        locked.status = PurchaseStatus.FULFILLED
        locked.fulfilled_at = timezone.now()
        locked.save(update_fields=["status", "fulfilled_at", "updated_at"])
        _enroll(tenant=locked.tenant, learner=locked.learner, course=locked.course, path=locked.path, source=f"purchase:{locked.external_order_id}"[:80])
        record(tenant=locked.tenant, event_type="purchase.fulfilled", data=purchase_fulfilled_data(locked), subject_type="purchase")
    return locked, True
