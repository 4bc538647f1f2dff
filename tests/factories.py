"""factory_boy factories for the rows tests need; services do the writes where they matter."""
from __future__ import annotations

import factory

from learning.models import Learner
from tenants.models import SCOPES, Group, Plan, Role, Site, Tenant
from tenants.services import api_key_create


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.Sequence(lambda n: f"Tenant {n}")
    plan = Plan.STANDARD


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Site {n}")


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Group {n}")


class LearnerFactory(factory.django.DjangoModelFactory):
    """A learner row written directly (no event); use learner_create to test behaviour."""

    class Meta:
        model = Learner

    tenant = factory.SubFactory(TenantFactory)
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    email = factory.Sequence(lambda n: f"learner{n}@example.com")
    external_worker_id = factory.Sequence(lambda n: f"W-{n}")


def make_api_key(tenant: Tenant, *, role: str = Role.ADMIN, scopes: list[str] | None = None, **kwargs) -> str:
    """Create an API key for the tenant and return the raw bearer key."""
    return api_key_create(
        tenant=tenant, name=kwargs.pop("name", "test key"), role=role, scopes=list(SCOPES) if scopes is None else scopes, **kwargs
    ).raw_key
