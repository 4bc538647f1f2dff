"""Demo learners for `manage.py seed_demo`."""
from __future__ import annotations

import random
from typing import Callable

from learning.models import Learner
from learning.services import learner_create
from learning.training import demo as training_demo
from tenants.models import Tenant
from tenants.services import site_get_or_create

FIRST = ["Thabo", "Lerato", "Sipho", "Naledi", "Johan", "Aisha", "Pieter", "Zanele", "Kagiso", "Megan"]
LAST = ["Mokoena", "Dlamini", "Naidoo", "van Wyk", "Botha", "Khumalo", "Pillay", "Smith", "Nkosi", "Jacobs"]
SITES = ["Site A", "Site B", "Head Office"]


def seed(*, tenant: Tenant, learners: int, log: Callable[[str], None]) -> None:
    """Create sites and learners until the tenant has `learners` of them."""
    for name in SITES:
        site_get_or_create(tenant=tenant, name=name)
    existing = Learner.objects.filter(tenant=tenant).count()
    rng = random.Random(7)
    for index in range(existing, learners):
        first, last = FIRST[index % len(FIRST)], LAST[(index * 7) % len(LAST)]
        learner_create(
            tenant=tenant,
            values={
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}.{index}@demo.example".lower().replace(" ", ""),
                "external_worker_id": f"W-{1000 + index}",
                "site": rng.choice(SITES),
                "role": rng.choice(["Operator", "Supervisor", "Artisan"]),
            },
        )
        if (index + 1) % 10 == 0 or index + 1 == learners:
            log(f"  learners {index + 1}/{learners}")
    training_demo.seed(tenant=tenant, log=log)
