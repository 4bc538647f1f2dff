"""Django settings, read from the environment; with nothing set, the embedded default runs."""
from __future__ import annotations

import ipaddress
import logging
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from skillhub.env import env_bool, env_float, env_int, env_json_object, env_list, env_rate, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("SKILLHUB_DATA_DIR", str(BASE_DIR / "data")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or "skillhub-embedded-insecure-key-set-SECRET_KEY-in-production"
if not DEBUG and not env_str("SECRET_KEY") and env_str("DATABASE_URL"):
    # The scaled-out mode is production: refuse to sign sessions with a public key.
    raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver", "[::1]"])

# The port `make run` / `serve` listens on; printed URLs follow it unless SKILLHUB_PUBLIC_URL says otherwise.
PORT = env_int("PORT", 8000, minimum=1, maximum=65535)
SKILLHUB_PUBLIC_URL = env_url("SKILLHUB_PUBLIC_URL", ("http", "https")).rstrip("/") or f"http://127.0.0.1:{PORT}"
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)
# How long a worker's claim on a delivery lasts; it must outlive the 15 s limit of one POST.
WEBHOOKS_CLAIM_LEASE_SECONDS = env_int("WEBHOOKS_CLAIM_LEASE_SECONDS", 60, minimum=20)
# Check every recorded event's data against its published schema (tests, and development with DEBUG).
WEBHOOKS_VALIDATE_EVENTS = env_bool("WEBHOOKS_VALIDATE_EVENTS", DEBUG)
# Fair delivery (docs/webhooks.md, "Fair delivery"): deliveries in flight at once per endpoint unless
# the endpoint sets its own `maxInFlight`; the circuit breaker opens after this many consecutive
# timeouts or connection failures and probes again after the cool-down (doubling up to the maximum).
WEBHOOKS_MAX_IN_FLIGHT = env_int("WEBHOOKS_MAX_IN_FLIGHT", 4, minimum=1)
WEBHOOKS_BREAKER_THRESHOLD = env_int("WEBHOOKS_BREAKER_THRESHOLD", 3, minimum=1)
WEBHOOKS_BREAKER_COOLDOWN = env_float("WEBHOOKS_BREAKER_COOLDOWN", 30.0, minimum=0.1)
WEBHOOKS_BREAKER_MAX_COOLDOWN = env_float("WEBHOOKS_BREAKER_MAX_COOLDOWN", 600.0, minimum=0.1)
# Timeouts of one POST (docs/contract.md, section 3: 5 s to connect, 15 s in all); tests shorten them. The lease
# of a claim (and of its in-flight place) is WEBHOOKS_CLAIM_LEASE_SECONDS above.
WEBHOOKS_CONNECT_TIMEOUT = env_float("WEBHOOKS_CONNECT_TIMEOUT", 5.0, minimum=0.01)
WEBHOOKS_TOTAL_TIMEOUT = env_float("WEBHOOKS_TOTAL_TIMEOUT", 15.0, minimum=0.01)
# A place reserved for a delivery's broker message is freed if the message has not come by then.
WEBHOOKS_QUEUE_LEASE = env_float("WEBHOOKS_QUEUE_LEASE", 30.0, minimum=0.1)
# A worker thread waits this long for an answer, then leaves the POST to the process's send threads.
WEBHOOKS_HANDOFF_AFTER = env_float("WEBHOOKS_HANDOFF_AFTER", 0.25, minimum=0.0)
WEBHOOKS_SEND_THREADS = env_int("WEBHOOKS_SEND_THREADS", 64, minimum=1)
# How long a target host's checked addresses are reused (0: resolve and check before every POST).
WEBHOOKS_RESOLVE_CACHE_SECONDS = env_float("WEBHOOKS_RESOLVE_CACHE_SECONDS", 5.0, minimum=0.0)
# A worker thread whose receiver answers at once keeps sending that endpoint's next deliveries for
# this long, then queues the next one behind every other endpoint's (a turn of the rotation).
# PostgreSQL keeps attempts in partitions of this many consecutive ids, made this many ahead (webhooks/partitions.py).
WEBHOOKS_ATTEMPT_PARTITION_ROWS = env_int("WEBHOOKS_ATTEMPT_PARTITION_ROWS", 1_000_000, minimum=1000)
WEBHOOKS_ATTEMPT_PARTITIONS_AHEAD = env_int("WEBHOOKS_ATTEMPT_PARTITIONS_AHEAD", 5, minimum=1)
WEBHOOKS_TURN_SECONDS = env_float("WEBHOOKS_TURN_SECONDS", 0.5, minimum=0.0)
# The most of its endpoint's next due deliveries a worker claims at once within a turn (one
# statement records a set and claims the next): one round trip per set instead of per delivery.
# A set claims fewer when the receiver's pace would not fit them in what is left of the turn.
WEBHOOKS_TURN_SET = env_int("WEBHOOKS_TURN_SET", 64, minimum=1, maximum=256)

INSTALLED_APPS = [
    # The Django admin with the console's site (login throttling, console pages).
    "skillhub.console.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_ratelimit",
    "skillhub.apps.SkillhubConfig",
    "tenants",
    "learning",
    "webhooks",
    "signals_inbox",
    "provisioning",
]

MIDDLEWARE = [
    # A request id, one log line and the request metrics for every request, including those answered early.
    "skillhub.requestlog.RequestObservationMiddleware",
    # /healthz, /readyz and /metrics, before host checks: probes and scrapes come by address.
    "skillhub.operations.OperationsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, ReDoc, console) straight from the web process, compressed and cached for a year.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "skillhub.middleware.ApiErrorMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Floods of /api/ without a credential that verifies are refused per client address (django-ratelimit, shared cache).
    "tenants.api.throttle.AnonymousApiThrottleMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Console writes are audited as the signed-in user (tenants.audit).
    "tenants.middleware.ConsoleActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "skillhub.urls"
WSGI_APPLICATION = "skillhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
# Every SQLite database, the embedded default's or one named by DATABASE_URL=sqlite:///…, gets:
# WAL, so the web threads read while a worker writes; IMMEDIATE transactions, so a transaction
# takes the write lock when it begins and waits for it (a deferred one that reads and then
# writes fails at once with "database is locked" when another writer got there first); and a
# busy timeout to wait in.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
}
DATABASE_URL = env_url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    try:
        # Persistent connections: reconnecting per request costs most of the ingest throughput.
        # No per-request health check (an extra SELECT 1 round trip each): a connection that died
        # with a database restart fails one request and is then replaced.
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "skillhub.sqlite3"),
            "OPTIONS": dict(SQLITE_OPTIONS),
            "TEST": {"NAME": DATA_DIR / "test-skillhub.sqlite3"},
        }
    }
# On PostgreSQL the hot paths run hand-written statements (off: their portable twins, as on SQLite;
# the parity tests turn it off), prepared server-side once per connection (off behind a
# transaction-pooling proxy that cannot keep prepared statements).
DATABASE_POSTGRES_STATEMENTS = True
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (rate-limit counters live here) -------------------------------------------
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "skillhub.cache.SkillhubRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "skillhub"}}

# --- Dramatiq -------------------------------------------------------------------------
# "" = the embedded default: an in-process broker whose workers run inside `serve`.
DRAMATIQ_BROKER_URL = env_url("DRAMATIQ_BROKER_URL", ("redis", "rediss", "amqp", "amqps"))
# rediss:// and amqps:// are the TLS forms of the same brokers (stripping an "s" would make "redi").
_BROKER_KINDS = {"redis": "redis", "rediss": "redis", "amqp": "amqp", "amqps": "amqp"}
DRAMATIQ_BROKER = "embedded" if not DRAMATIQ_BROKER_URL else _BROKER_KINDS[DRAMATIQ_BROKER_URL.split("://", 1)[0].lower()]

# --- auth, i18n, static ---------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("SKILLHUB_STATIC_ROOT", str(DATA_DIR / "static")))

# SkillhubRedisCache is Django's RedisCache with a shared client; django-ratelimit only knows the parent by name.
# Without REDIS_URL the embedded default serves from one web process, whose local memory is the shared cache.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001", *([] if REDIS_URL else ["django_ratelimit.E003"])]

# --- console throttling (counted in the shared cache) -------------------------------------------
RATELIMIT_USE_CACHE = "default"
# Failed console sign-ins per username before each further attempt waits a doubling delay, and its cap
# in seconds (skillhub/console/lockout.py): guessing is slowed, nobody is locked out for long.
CONSOLE_LOGIN_FREE_FAILURES = env_int("CONSOLE_LOGIN_FREE_FAILURES", 5, minimum=1)
CONSOLE_LOGIN_MAX_DELAY = env_int("CONSOLE_LOGIN_MAX_DELAY", 60, minimum=1)
# Different usernames one address may fail on within the period before that address is refused.
CONSOLE_LOGIN_ADDRESS_USERNAMES = env_rate("CONSOLE_LOGIN_ADDRESS_USERNAMES", "10/10m")
# Requests to /api/ without a valid credential, per client address.
ANONYMOUS_API_RATE = env_rate("ANONYMOUS_API_RATE", "300/m")
# Beyond that limit, database lookups of keys the caches do not know, per client address (then 429 without one).
ANONYMOUS_API_LOOKUPS = env_rate("ANONYMOUS_API_LOOKUPS", "60/m")
MEDIA_ROOT = Path(env_str("SKILLHUB_MEDIA_ROOT", str(DATA_DIR / "media")))
LOGIN_URL = "/admin/login/"
# Messages live in the server-side session, not in a cookie: the console shows a new API key,
# signal secret or staff token once as a message, and a signed cookie is readable by anyone who sees it.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- files: evidence uploads and exports go through Django's storage API -----------------
# Local files under MEDIA_ROOT by default; any backend by setting, e.g. S3 with django-storages:
# SKILLHUB_STORAGE_BACKEND=storages.backends.s3.S3Storage SKILLHUB_STORAGE_OPTIONS='{"bucket_name": "…"}'
STORAGES = {
    "default": {
        "BACKEND": env_str("SKILLHUB_STORAGE_BACKEND") or "django.core.files.storage.FileSystemStorage",
        "OPTIONS": env_json_object("SKILLHUB_STORAGE_OPTIONS")
        or ({} if env_str("SKILLHUB_STORAGE_BACKEND") else {"location": str(MEDIA_ROOT)}),
    },
    # Hashed names + gzip/brotli copies: WhiteNoise serves them with far-future, immutable caching.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# An upload over this many bytes is refused with 413 while it streams in; nothing is stored.
EVIDENCE_MAX_UPLOAD_BYTES = env_int("EVIDENCE_MAX_UPLOAD_BYTES", 25 * 1024 * 1024, minimum=1)
# A zip-based upload (DOCX, XLSX, PPTX) whose parts declare more than this once inflated is refused (413).
EVIDENCE_MAX_INFLATED_BYTES = env_int("EVIDENCE_MAX_INFLATED_BYTES", 100 * 1024 * 1024, minimum=1)
# Content types accepted for evidence, recognised from the file's bytes (learning/evidence/sniffing.py).
EVIDENCE_ALLOWED_TYPES = env_list(
    "EVIDENCE_ALLOWED_TYPES",
    [
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "video/mp4",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ],
)
# Rows an export worker reads per keyset batch (and between progress updates).
EXPORTS_BATCH_SIZE = env_int("EXPORTS_BATCH_SIZE", 5000, minimum=1)
# Hours an export file lives when the tenant has not set its own retention.
EXPORTS_DEFAULT_RETENTION_HOURS = env_int("EXPORTS_DEFAULT_RETENTION_HOURS", 24, minimum=1)

# Bodies above this are refused with 413 before anything is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# The request body limits, in one table (skillhub/limits.py): the application, the front `serve`
# starts and the nginx configuration it writes all enforce these, each answering 413 in the shape
# of the path (the API's error envelope, or the signal webhook's own).
API_MAX_BODY_BYTES = 1024 * 1024
# POST /learners/bulk: 10,000 rows of a few hundred bytes each.
LEARNER_BULK_MAX_BODY_BYTES = 8 * 1024 * 1024
SIGNAL_MAX_BODY_BYTES = 256 * 1024
# Room for the multipart envelope around an evidence file (EVIDENCE_MAX_UPLOAD_BYTES above).
UPLOAD_FORM_ALLOWANCE = 1024 * 1024
# Console forms and anything else outside /api/ (Django's own form limits still apply within it).
OTHER_MAX_BODY_BYTES = 10 * 1024 * 1024

# The signed signal webhook's path (it answers in its own shape, not the API's).
SIGNALS_INTEGRATION_PREFIX = "/api/v1/integration/"
# The apps' routes with a body limit of their own, most specific first: name, path pattern (a regex
# Python and nginx both read), the settings whose sum is the limit, and the shape of the 413.
# skillhub/limits.py puts the API's own limit and everything else's after these.
BODY_LIMIT_ROUTES = [
    ("signal webhook", "^" + re.escape(SIGNALS_INTEGRATION_PREFIX), ("SIGNAL_MAX_BODY_BYTES",), "signal"),
    ("evidence upload", r"^/api/v1/tenants/[^/]+/evidence/?$", ("EVIDENCE_MAX_UPLOAD_BYTES", "UPLOAD_FORM_ALLOWANCE"), "api"),
    ("bulk learner import", r"^/api/v1/tenants/[^/]+/learners/bulk/?$", ("LEARNER_BULK_MAX_BODY_BYTES",), "api"),
    ("SCIM", r"^/scim/", ("API_MAX_BODY_BYTES",), "scim"),
]
# Committed signal ids go to the resolution actor in small batches on a network broker (off: one message each).
SIGNALS_BATCH_RESOLUTION_SENDS = True
# Signals a resolution worker claims and resolves per transaction.
SIGNALS_RESOLVE_BATCH = 250
# A re-sent data point with an unchanged payload re-opens a dismissed or resolved need only this long after it closed.
SIGNALS_REOPEN_AFTER_DAYS = env_int("SIGNALS_REOPEN_AFTER_DAYS", 90, minimum=1)
# Dotted path of the class that drafts a course outline for a need; "" is the built-in generator.
SIGNALS_OUTLINE_AUTHOR = ""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.api.permissions.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["skillhub.api.renderers.OrjsonRenderer"],
    # Bodies are JSON; a route that takes more says so itself (evidence uploads: multipart; webhook create: form
    # fields too), and the OpenAPI document lists exactly what each route parses.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "skillhub.api.pagination.LimitOffsetCursorPagination",
    "EXCEPTION_HANDLER": "skillhub.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "skillhub API",
    "DESCRIPTION": "Learners, courses, webhooks and training needs, tenant by tenant.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "webhooks.openapi.add_event_webhooks",
        "webhooks.openapi.add_contract_components",
        "skillhub.api.openapi.document_errors",
        "skillhub.api.openapi.document_idempotency",
    ],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One component per status vocabulary (several models have a field named `status`).
    "ENUM_NAME_OVERRIDES": {
        "LearnerStatusEnum": "learning.models.LearnerStatus.values",
        "CourseStatusEnum": "learning.models.CourseStatus.values",
        "AssignmentStatusEnum": "learning.models.AssignmentStatus.values",
        "NeedStatusEnum": "signals_inbox.models.NeedStatus.values",
        "DeliveryStateEnum": "webhooks.models.DeliveryState.values",
        "QuizAttemptStatusEnum": "learning.training.models.QuizAttemptStatus.values",
        "PurchaseStatusEnum": "learning.training.models.PurchaseStatus.values",
        "NeedTargetEnum": "signals_inbox.models.Target.values",
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# --- operations: logs, metrics, readiness (README "Operations") ------------------------------
LOG_FORMAT = env_str("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json; got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "skillhub.logcontext.RedactFilter"},
        "context": {"()": "skillhub.logcontext.ContextFilter"},
    },
    "formatters": {
        "plain": {
            "()": "logging.Formatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s%(context)s",
            "defaults": {"context": ""},
        },
        "json": {"()": "skillhub.logcontext.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["redact", "context"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
if LOG_FORMAT == "json":
    # Python warnings become log records too, so that every line on stderr is one JSON object.
    logging.captureWarnings(True)
# Where every process of this machine counts its metrics (prometheus_client's multiprocess mode);
# `manage.py serve` sets it (under the data directory) for the processes it starts.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# /metrics is closed unless one of these is set: a bearer token, or addresses/networks (CIDR).
SKILLHUB_METRICS_TOKEN = env_str("SKILLHUB_METRICS_TOKEN")
SKILLHUB_METRICS_ALLOW = env_list("SKILLHUB_METRICS_ALLOW", [])
for _network in SKILLHUB_METRICS_ALLOW:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"SKILLHUB_METRICS_ALLOW must list addresses or networks (CIDR); got {_network!r}") from None
# Seconds /readyz waits for the database, the cache and the broker (asked at once).
SKILLHUB_READINESS_TIMEOUT = env_float("SKILLHUB_READINESS_TIMEOUT", 2.0, minimum=0.1)
