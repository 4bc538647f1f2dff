"""The project's URLs plus `/bench/bare`, the ceiling every benchmark is a ratio to."""
from django.http import JsonResponse
from django.urls import path

from skillhub.urls import urlpatterns as project_urlpatterns


def bare(request):  # noqa: ANN001, ANN201
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare), *project_urlpatterns]
