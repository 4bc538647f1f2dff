"""Settings for the test suite: the environment's database and cache, a stub broker."""
from __future__ import annotations

from skillhub.settings import *  # noqa: F403

# Tests drive actors themselves; tests of a real broker build their own from DRAMATIQ_BROKER_URL.
DRAMATIQ_BROKER = "stub"
WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
WEBHOOKS_VALIDATE_EVENTS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Uploaded evidence and exports of a test run go to a directory of their own, removed at exit.
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="skillhub-test-media-"))
atexit.register(shutil.rmtree, MEDIA_ROOT, True)
STORAGES = {
    **STORAGES,  # noqa: F405
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(MEDIA_ROOT)}},
    # Tests serve static files from the apps (no collectstatic step), through the same WhiteNoise middleware.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The anonymous /api/ limit is tested on its own (tests/console/test_throttling.py, with a small rate);
# elsewhere the suite's many unauthenticated calls from one address must not trip it.
ANONYMOUS_API_RATE = "100000/m"
