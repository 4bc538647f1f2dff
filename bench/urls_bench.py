"""The project's URLs plus `/bench/bare`, the ceiling every benchmark is a ratio to, and
`/bench/scim-bare`, the same with a SCIM create's parse and answer."""
import uuid

import orjson
from django.conf import settings
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


urlpatterns = [path("bench/bare", bare), path("bench/scim-bare", scim_bare), *project_urlpatterns]
