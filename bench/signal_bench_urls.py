"""The project's URLs plus `POST /bench/bare`: the same middleware, no work — the ceiling for ingest."""
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from skillhub.urls import urlpatterns as project_urlpatterns


@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    request.read(256 * 1024 + 1)  # read the body like the webhook does, so only the work differs
    return JsonResponse({"ok": True, "applied": True, "signalId": "sig_bare", "deduped": False})


urlpatterns = [path("bench/bare", bare), *project_urlpatterns]
