"""The project's URLs plus `/bench/bare`, the ceiling every benchmark is a ratio to,
`/bench/scim-bare`, the same with a SCIM create's parse and answer, and `/bench/scim-writes/<slug>`,
which also makes a SCIM create's durable writes in plain SQL."""
import uuid
from datetime import datetime, timezone

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from skillhub.urls import urlpatterns as project_urlpatterns


@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    """The same middleware and body read as a real endpoint, and no work."""
    request.read(settings.SIGNAL_MAX_BODY_BYTES + 1)
    return JsonResponse({"ok": True, "applied": True, "signalId": "sig_bare", "deduped": False})


@csrf_exempt
def scim_bare(request: HttpRequest) -> HttpResponse:
    """What a SCIM POST /Users does without skillhub's work: parse the JSON body, answer a User of the same shape.

    No key, no validation, no database: the ceiling the SCIM create is a ratio to.
    """
    user = orjson.loads(request.read(settings.API_MAX_BODY_BYTES + 1))
    user_id = str(uuid.uuid4())
    location = f"{settings.SKILLHUB_PUBLIC_URL}/scim/v2/Users/{user_id}"
    body = {
        **user,
        "id": user_id,
        "displayName": f"{user['name']['givenName']} {user['name']['familyName']}",
        "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-01T00:00:00Z",
                 "location": location, "version": 'W/"00000000000000000000"'},
    }
    response = HttpResponse(orjson.dumps(body), status=201, content_type="application/scim+json")
    response["ETag"] = body["meta"]["version"]
    response["Location"] = location
    return response


_WRITES = (
    "INSERT INTO learning_learner (id, tenant_id, first_name, last_name, email, external_worker_id, sa_id_number, role, "
    "status, group_ids, created_at, updated_at) VALUES (%(id)s, %(tenant)s, %(given)s, %(family)s, %(email)s, %(external)s, "
    "'', '', 'active', '[]', %(now)s, %(now)s); "
    "INSERT INTO provisioning_scimuser (learner_id, tenant_id, user_name, user_name_key, employee_number, department, "
    "manager_id, updated_at) VALUES (%(id)s, %(tenant)s, %(user)s, lower(%(user)s), '', '', '', %(now)s); "
    "INSERT INTO webhooks_event (id, tenant_id, type, data, subject_type, subject_id, created_at) "
    "VALUES (%(event)s, %(tenant)s, 'learner.created', %(data)s, 'learner', %(id)s, %(now)s); "
    "INSERT INTO tenants_auditevent (tenant_id, actor, actor_kind, object_type, object_id, action, changed_fields, details, "
    "created_at) VALUES (%(tenant)s, 'scim:bench', 'scim', 'learner', %(id)s, 'created', '[]', '{}', %(now)s)"
)


@csrf_exempt
def scim_writes(request: HttpRequest, slug: str) -> HttpResponse:
    """What a SCIM POST /Users does without skillhub: parse, find the tenant, write the learner, its SCIM name,
    its event and its audit row in one transaction, answer. The ceiling a SCIM create is a ratio to."""
    user = orjson.loads(request.read(settings.API_MAX_BODY_BYTES + 1))
    user_id, now = str(uuid.uuid4()), datetime.now(timezone.utc)
    email = user["emails"][0]["value"]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenants_tenant WHERE slug = %s", [slug])
        tenant = cursor.fetchone()[0]
        data = {"id": user_id, "firstName": user["name"]["givenName"], "lastName": user["name"]["familyName"], "email": email}
        cursor.execute(_WRITES, {
            "id": user_id, "tenant": tenant, "given": user["name"]["givenName"], "family": user["name"]["familyName"],
            "email": email, "external": user.get("externalId", ""), "user": user["userName"], "now": now,
            "event": f"evt_{uuid.uuid4().hex}", "data": orjson.dumps(data).decode(),
        })  # fmt: skip
    location = f"{settings.SKILLHUB_PUBLIC_URL}/scim/v2/Users/{user_id}"
    body = {**user, "id": user_id, "meta": {"resourceType": "User", "created": now.isoformat(), "location": location}}
    response = HttpResponse(orjson.dumps(body), status=201, content_type="application/scim+json")
    response["Location"] = location
    return response


urlpatterns = [
    path("bench/bare", bare),
    path("bench/scim-bare", scim_bare),
    path("bench/scim-writes/<slug:slug>", scim_writes),
    *project_urlpatterns,
]
