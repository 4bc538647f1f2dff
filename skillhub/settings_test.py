"""Settings for the test suite: the environment's database and cache, a stub broker."""
from __future__ import annotations

from skillhub.settings import *  # noqa: F403

# Tests drive actors themselves; tests of a real broker build their own from DRAMATIQ_BROKER_URL.
DRAMATIQ_BROKER = "stub"
WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
WEBHOOKS_VALIDATE_EVENTS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests serve static files from the apps (no collectstatic step), through the same WhiteNoise middleware.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The anonymous /api/ limit is tested on its own (tests/console/test_throttling.py, with a small rate);
# elsewhere the suite's many unauthenticated calls from one address must not trip it.
ANONYMOUS_API_RATE = "100000/m"
