"""Offer or Dismiss many needs at once: a summary to confirm, then a background run with one set of totals.

The console's selection can be a whole filtered list (10,000 needs). The confirmation page shows
what the Offer would do grouped by whom and which course, biggest cohort first, from a few grouped
queries (not a preview per need). Confirmed, a `BulkRun` keeps the ids and the choices and one
actor walks them in batches through the same services as a single Offer or Dismiss, so every need
gets its own event and audit entry; the run's page shows the totals and links to what was done.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from django.db.models import Count, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from learning.models import Assignment, CourseStatus, Learner, LearnerStatus
from signals_inbox.models import BulkKind, BulkRun, Need, Target
from signals_inbox.services import need_dismiss, need_offer
from skillhub.errors import DomainError, ValidationFailed
from skillhub.hooks import send_on_commit
from tenants.models import Tenant

# Fired with a run's id once it commits; the app connects the actor that carries it out.
bulk_run_confirmed = Signal()  # sent with run_id=… once a confirmed run commits

MAX_BULK = 10_000
# Needs carried out per step of a run; the run's totals are saved after each step.
BATCH = 200
# Failures kept with their reasons on the run (the count covers them all).
KEPT_ERRORS = 20


def error_text(exc: DomainError) -> str:
    """A service refusal in words, as the console shows it."""
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{field_name.replace('_', ' ')}: {reason}" for field_name, reason in exc.errors.items())
    return exc.message


@dataclass
class Cohort:
    """Needs an Offer would assign the same way: to whom, which course, how many needs and people."""

    who: str
    course: str
    needs: int = 0
    people: int = 0
    problem: str = ""  # set: these needs would not be offered, and this is why


@dataclass
class OfferSummary:
    cohorts: list[Cohort] = field(default_factory=list)
    problems: list[Cohort] = field(default_factory=list)
    # Different people across the cohorts: a worker who is also in a site cohort gets one assignment.
    people: int = 0

    @property
    def needs(self) -> int:
        return sum(c.needs for c in self.cohorts)


def _course_of(row: Any, chosen: Any) -> tuple[Any, str, str]:
    """Return the course an Offer would use for a need row: (id, title, problem)."""
    if chosen is not None:
        return chosen.pk, chosen.title, ""
    for prefix in ("recommended_course", "authored_course"):
        if row[f"{prefix}_id"] and row[f"{prefix}__status"] == CourseStatus.PUBLISHED:
            return row[f"{prefix}_id"], row[f"{prefix}__title"], ""
    if row["authored_course_id"]:
        return None, "", "the authored course is still a draft: publish it, or choose a course"
    return None, "", "no course fits: choose a course, or Author one"


def offer_summary(
    *, tenant: Tenant, needs: QuerySet[Need], course: Any = None, target: str = "need", learners: list[Learner] | None = None,
    group: Any = None, site: Any = None,
) -> OfferSummary:
    """Say what an Offer of these needs would do, grouped by target and course, the biggest cohort first."""
    needs = needs.filter(tenant=tenant).order_by()
    rows = list(
        needs.values(
            "target", "site_name", "learner_id",
            "recommended_course_id", "recommended_course__status", "recommended_course__title",
            "authored_course_id", "authored_course__status", "authored_course__title",
        )
    )  # fmt: skip
    active = Learner.objects.filter(tenant=tenant, status=LearnerStatus.ACTIVE)
    groups: dict[tuple[str, Any], Cohort] = {}
    problems: dict[str, Cohort] = {}
    worker_learners: dict[Any, set[Any]] = defaultdict(set)
    site_people = _site_people(active, rows) if target == "need" else {}
    fixed = _chosen_cohort(target, active, learners, group, site) if target != "need" else ("", 0)
    for row in rows:
        course_id, title, problem = _course_of(row, course)
        cohort = None
        if not problem:
            cohort, problem = _cohort_of(row, target, fixed, site_people, groups, course_id, title)
        if problem:
            problems.setdefault(problem, Cohort(who="", course="", problem=problem)).needs += 1
            continue
        assert cohort is not None
        if cohort.who == OWN_WORKER:
            worker_learners[course_id].add(row["learner_id"])
        cohort.needs += 1
    for (key, course_id), cohort in groups.items():
        if key == "worker":
            cohort.people = len(worker_learners[course_id])
    ordered = sorted(groups.values(), key=lambda c: (-c.people, -c.needs, c.who, c.course))
    if target != "need":
        people = fixed[1] if groups else 0
    else:
        people = _people_of_own_targets(needs, active, groups, ordered, bool(worker_learners))
    return OfferSummary(cohorts=ordered, problems=sorted(problems.values(), key=lambda c: -c.needs), people=people)


OWN_WORKER = "each need's own worker"


def _site_people(active: QuerySet[Learner], rows: list[Any]) -> dict[str, int]:
    """Active learners at each site the site-wide needs name, in one query."""
    sites = {row["site_name"] for row in rows if row["target"] == Target.COHORT and row["site_name"]}
    if not sites:
        return {}
    counted = active.filter(site__name__in=sites).values("site__name").annotate(n=Count("id"))
    return {entry["site__name"]: entry["n"] for entry in counted}


def _cohort_of(
    row: Mapping[str, Any], target: str, fixed: tuple[str, int], site_people: dict[str, int],
    groups: dict[tuple[str, Any], Cohort], course_id: Any, title: str,
) -> tuple[Cohort | None, str]:
    """The cohort a need's row joins (made on first use), or why it joins none."""
    if target != "need":
        return groups.setdefault((fixed[0], course_id), Cohort(who=fixed[0], course=title, people=fixed[1])), ""
    if row["target"] == Target.WORKER and row["learner_id"]:
        return groups.setdefault(("worker", course_id), Cohort(who=OWN_WORKER, course=title)), ""
    if row["target"] == Target.COHORT and row["site_name"]:
        people = site_people.get(row["site_name"], 0)
        if not people:
            return None, f"no active learners at {row['site_name']}: choose learners, a group or a site"
        site = row["site_name"]
        return groups.setdefault((f"site:{site}", course_id), Cohort(who=f"everyone at {site}", course=title, people=people)), ""
    return None, "the worker matches no learner (or is not resolved yet): choose learners, a group or a site"


def _chosen_cohort(target: str, active: QuerySet[Learner], learners: list[Learner] | None, group: Any, site: Any) -> tuple[str, int]:
    """Who an Offer to a chosen target reaches, and how many active people that is."""
    if target == "learners":
        return "chosen learners", len(learners or [])
    if target == "group":
        return f"group {group}", active.filter(groups=group).count() if group is not None else 0
    return f"everyone at {getattr(site, 'name', site)}", active.filter(site=site).count() if site is not None else 0


def _people_of_own_targets(
    needs: QuerySet[Need], active: QuerySet[Learner], groups: dict[tuple[str, Any], Cohort], ordered: list[Cohort], workers: bool
) -> int:
    """Different people reached when each need goes to its own target: the sites' people, then workers not among them."""
    cohort_sites = [key[5:] for key, _ in groups if key.startswith("site:")]
    people = sum(c.people for c in ordered if c.who.startswith("everyone at "))
    if workers:
        # The workers (a subquery, not a list of ids) who are not already counted in a site cohort.
        offered = needs.filter(target=Target.WORKER, learner__isnull=False).values("learner_id")
        people += active.filter(pk__in=offered).exclude(site__name__in=cohort_sites).count()
    return people


def bulk_run_start(
    *, tenant: Tenant, kind: str, need_ids: list[str], arguments: dict[str, Any], actor: str, summary: str = ""
) -> BulkRun:
    """Record a confirmed bulk Offer or Dismiss and queue its run once this transaction commits."""
    if not need_ids or len(need_ids) > MAX_BULK:
        raise ValidationFailed({"ids": f"choose between 1 and {MAX_BULK} needs"})
    if kind not in BulkKind.values:
        raise ValidationFailed({"kind": "must be offer or dismiss"})
    run = BulkRun.objects.create(
        tenant=tenant, kind=kind, actor=actor[:200], need_ids=list(need_ids), arguments=arguments, total=len(need_ids), summary=summary[:500]
    )
    send_on_commit(bulk_run_confirmed, sender=BulkRun, run_id=str(run.pk))
    return run


def bulk_run_execute(*, run_id: str) -> BulkRun | None:
    """Carry out a run from its position, a batch at a time; a finished (or unknown) run does nothing."""
    run = BulkRun.objects.select_related("tenant").filter(pk=run_id).first()
    if run is None or run.finished_at is not None:
        return run
    arguments = dict(run.arguments)
    if arguments.get("due_date"):
        arguments["due_date"] = date.fromisoformat(arguments["due_date"])
    while run.position < run.total:
        chunk = [str(value) for value in run.need_ids[run.position : run.position + BATCH]]
        needs = {str(need.pk): need for need in Need.objects.select_related("tenant").filter(tenant_id=run.tenant_id, pk__in=chunk)}
        for need_id in chunk:
            need = needs.get(need_id)
            try:
                if need is None:
                    raise ValidationFailed({"need": "not found (deleted since it was chosen)"})
                if run.kind == BulkKind.OFFER:
                    run.assignments += len(need_offer(need=need, actor=run.actor, **arguments))
                else:
                    need_dismiss(need=need, actor=run.actor, reason=arguments.get("reason", ""))
                run.done += 1
            except DomainError as exc:
                run.failed += 1
                if len(run.errors) < KEPT_ERRORS:
                    run.errors = [*run.errors, [need_id, need.topic if need else "", error_text(exc)]]
        run.position += len(chunk)
        run.save(update_fields=["position", "done", "failed", "assignments", "errors"])
    if run.kind == BulkKind.OFFER:
        # Different assignments behind the run's needs: a learner reached by two needs counts once.
        run.assignments = Assignment.objects.filter(tenant_id=run.tenant_id, needs__in=run.need_ids).values("pk").distinct().count()
    run.finished_at = timezone.now()
    run.save(update_fields=["assignments", "finished_at"])
    return run
