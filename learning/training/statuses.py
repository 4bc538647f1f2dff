"""Document 002's class and class-enrollment status codes, and the one table of allowed transitions."""
from __future__ import annotations

from django.db import models

from skillhub.errors import ValidationFailed


class ClassStatus(models.IntegerChoices):
    SCHEDULED = 0, "Scheduled"
    GUARANTEED_TO_RUN = 1, "Guaranteed To Run"
    CANCELLED = 2, "Cancelled"
    RESCHEDULED = 3, "Rescheduled"
    TENTATIVE = 4, "Tentative"
    REQUESTED = 5, "Requested"
    DENIED = 6, "Denied"
    COMPLETED = 7, "Completed"


class EnrollmentStatus(models.IntegerChoices):
    REQUEST = 0, "Request"
    CANCEL = 10, "Cancel"
    WAITLIST = 20, "Waitlist"
    APPROVE = 30, "Approve"
    DENY = 40, "Deny"
    AUDIT = 50, "Audit"
    ENROLL = 60, "Enroll"


C, E = ClassStatus, EnrollmentStatus

# status → the statuses it may move to. Anything not listed is illegal (a 400 naming both states).
TRANSITIONS: dict[type[models.IntegerChoices], dict[int, frozenset[int]]] = {
    ClassStatus: {
        C.REQUESTED: frozenset({C.SCHEDULED, C.TENTATIVE, C.DENIED, C.CANCELLED}),
        C.TENTATIVE: frozenset({C.SCHEDULED, C.GUARANTEED_TO_RUN, C.RESCHEDULED, C.CANCELLED}),
        C.SCHEDULED: frozenset({C.GUARANTEED_TO_RUN, C.RESCHEDULED, C.TENTATIVE, C.CANCELLED, C.COMPLETED}),
        C.GUARANTEED_TO_RUN: frozenset({C.RESCHEDULED, C.CANCELLED, C.COMPLETED}),
        C.RESCHEDULED: frozenset({C.SCHEDULED, C.GUARANTEED_TO_RUN, C.TENTATIVE, C.CANCELLED, C.COMPLETED}),
        C.CANCELLED: frozenset(),
        C.DENIED: frozenset(),
        C.COMPLETED: frozenset(),
    },
    EnrollmentStatus: {
        E.REQUEST: frozenset({E.APPROVE, E.ENROLL, E.WAITLIST, E.DENY, E.CANCEL}),
        E.WAITLIST: frozenset({E.ENROLL, E.APPROVE, E.DENY, E.CANCEL}),
        E.APPROVE: frozenset({E.ENROLL, E.AUDIT, E.CANCEL}),
        E.ENROLL: frozenset({E.AUDIT, E.CANCEL}),
        E.AUDIT: frozenset({E.ENROLL, E.CANCEL}),
        E.DENY: frozenset(),
        E.CANCEL: frozenset(),
    },
}
# The statuses a new class or a new enrollment may start in.
INITIAL: dict[type[models.IntegerChoices], frozenset[int]] = {
    ClassStatus: frozenset({C.SCHEDULED, C.TENTATIVE, C.REQUESTED, C.GUARANTEED_TO_RUN}),
    EnrollmentStatus: frozenset({E.REQUEST, E.ENROLL, E.APPROVE, E.AUDIT}),
}
# Classes that still take enrollments, and enrollment statuses that hold a seat or wait for one.
OPEN_CLASS = frozenset({C.SCHEDULED, C.GUARANTEED_TO_RUN, C.RESCHEDULED, C.TENTATIVE})
SEATED = frozenset({E.APPROVE, E.ENROLL, E.AUDIT})
LIVE_ENROLLMENT = frozenset({E.REQUEST, E.WAITLIST, E.APPROVE, E.ENROLL, E.AUDIT})


def label(choices: type[models.IntegerChoices], code: int) -> str:
    """Return `Name (code)` for messages."""
    return f"{choices(code).label} ({code})"


def status_json(choices: type[models.IntegerChoices], code: int | None) -> dict[str, object] | None:
    """Return a status as the API and the webhooks show it: its number and its name."""
    return None if code is None else {"code": int(code), "name": choices(code).label}


def parse_status(choices: type[models.IntegerChoices], value: object, *, field: str = "status") -> int:
    """Accept a status as its code (0, "0") or its name ("Guaranteed To Run", "guaranteed_to_run"); raise ValidationFailed."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        code = int(value)
        if code in choices.values:
            return code
    elif isinstance(value, str):
        wanted = value.strip().lower().replace("_", " ")
        for member in choices:
            if member.label.lower() == wanted:
                return int(member.value)
    names = ", ".join(f"{m.value} {m.label}" for m in choices)
    raise ValidationFailed({field: f"unknown status {value!r}; one of {names}"})


def check_transition(choices: type[models.IntegerChoices], old: int, new: int) -> None:
    """Raise ValidationFailed (400) naming both states when `old` → `new` is not in the table."""
    if new not in TRANSITIONS[choices][old]:
        kind = "class" if choices is ClassStatus else "enrollment"
        allowed = ", ".join(label(choices, code) for code in sorted(TRANSITIONS[choices][old])) or "none (final)"
        raise ValidationFailed(
            {"status": f"{kind} status cannot change from {label(choices, old)} to {label(choices, new)}; allowed: {allowed}"},
            f"Illegal {kind} status transition from {label(choices, old)} to {label(choices, new)}",
        )


def check_initial(choices: type[models.IntegerChoices], code: int) -> None:
    """Raise ValidationFailed when a new class or enrollment may not start in `code`."""
    if code not in INITIAL[choices]:
        allowed = ", ".join(label(choices, c) for c in sorted(INITIAL[choices]))
        raise ValidationFailed({"status": f"a new one cannot start as {label(choices, code)}; allowed: {allowed}"})
