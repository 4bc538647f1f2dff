"""The project's URLs plus `/bench/bare`, the ceiling every benchmark is a ratio to."""
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from skillhub.urls import urlpatterns as project_urlpatterns


@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    """The same middleware and body read as a real endpoint, and no work."""
    request.read(settings.SIGNAL_MAX_BODY_BYTES + 1)
    return JsonResponse({"ok": True, "applied": True, "signalId": "sig_bare", "deduped": False})


urlpatterns = [path("bench/bare", bare), *project_urlpatterns]
