"""What a `dramatiq` worker process imports: Django, the broker and every app's actors."""
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillhub.settings")
django.setup()

from skillhub.tasks import import_actors  # noqa: E402

import_actors()
