"""A User resource built directly is, key for key and in order, what the scim2-models User dumps; its ETag too."""
from __future__ import annotations

import itertools
import uuid

import orjson
import pytest
import scim2_models as scim

from learning.models import Learner, LearnerStatus
from provisioning.models import ScimUser
from provisioning.selectors import user_json, user_model
from tenants.models import Group, Site

PROFILES = [
    None,
    ScimUser(user_name="bjensen@example.com"),
    ScimUser(user_name="Ünïcode \"quoted\"", employee_number="701984", department="Tour Operations", manager_id="26118915-6090"),
    ScimUser(user_name="dept-only", department="Guiding"),
    ScimUser(user_name="manager-only", manager_id="m-1"),
]
NAMES = [("Barbara", "Jensen"), ("Thabo", ""), ("", "Mokoena"), ("Zoë", "d'Almeida")]
EMAILS = ["", "bjensen@example.com", "thabo.m+tag@sub.example.co.za", "zoë@exämple.com"]
SITES = [None, Site(id=uuid.uuid4(), name="Cape Town"), Site(id=uuid.uuid4(), name="")]
GROUPS = [[], [Group(id=uuid.uuid4(), name="Guides")], [Group(id=uuid.uuid4(), name="A"), Group(id=uuid.uuid4(), name="")]]


def _learner(names: tuple[str, str], email: str, site: Site | None, *, worker: str, role: str, status: str) -> Learner:
    learner = Learner(id=uuid.uuid4(), tenant_id=uuid.uuid4(), first_name=names[0], last_name=names[1], email=email,
                      external_worker_id=worker, role=role, status=status)  # fmt: skip
    learner.site = site
    return learner


def _model_dump(learner: Learner, profile: ScimUser | None, groups: list[Group]) -> dict:
    return user_model(learner, profile, groups).model_dump(scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE, scim_policy=None)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.user_name if p else "no-profile")
def test_a_user_built_directly_is_byte_for_byte_the_models_dump(profile):
    cases = itertools.product(NAMES, EMAILS, SITES, GROUPS, [("", ""), ("701984", "Tour Guide")], LearnerStatus.values)
    for names, email, site, groups, (worker, role), status in cases:
        learner = _learner(names, email, site, worker=worker, role=role, status=status)

        built = user_json(learner, profile, groups)

        expected = _model_dump(learner, profile, groups)
        assert orjson.dumps(built) == orjson.dumps(expected), (names, email, site, groups, worker, role, status)


def test_an_email_the_model_refuses_fails_as_the_model_does():
    learner = _learner(("A", "B"), "not-an-email", None, worker="", role="", status=LearnerStatus.ACTIVE)

    with pytest.raises(Exception) as built:
        user_json(learner, None, [])
    with pytest.raises(Exception) as modelled:
        _model_dump(learner, None, [])

    assert type(built.value) is type(modelled.value) and str(built.value) == str(modelled.value)
