"""The one settings module. Every environment variable the platform reads is read here.

VENTANILLA_ENV selects the profile:
- ``development`` (default): insecure defaults are allowed so ``make run`` works on a laptop.
- ``production``: refuses to start without SECRET_KEY and ALLOWED_HOSTS.
- ``test``: used by the test suite (fast password hashing, tasks run immediately).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("VENTANILLA_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "si", "sí"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


ENVIRONMENT = os.environ.get("VENTANILLA_ENV", "development")
if ENVIRONMENT not in {"development", "production", "test"}:
    raise ImproperlyConfigured("VENTANILLA_ENV must be development, production or test.")
IS_PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DEBUG", default=False)
if IS_PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required in production.")
    SECRET_KEY = "development-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if IS_PRODUCTION else "localhost,127.0.0.1,[::1]")
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Public address of the site, used in links inside e-mails (the worker has no request).
SITE_URL = os.environ.get("SITE_URL", f"http://localhost:{os.environ.get('PORT', '8000')}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "ventanilla.core",
    "ventanilla.accounts",
    "ventanilla.catalog",
    "ventanilla.citizens",
    "ventanilla.tickets",
    "ventanilla.notifications",
    "ventanilla.channels",
    "ventanilla.paper",
    "ventanilla.imports",
    "ventanilla.surveys",
    "ventanilla.reports",
    "ventanilla.routing",
    "ventanilla.sla",
    "ventanilla.api",
    "ventanilla.open311",
    "ventanilla.portal",
    "ventanilla.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ventanilla.core.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ventanilla.urls"
WSGI_APPLICATION = "ventanilla.wsgi.application"
ASGI_APPLICATION = "ventanilla.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite (WAL, immediate transactions so concurrent writers queue instead of failing) is the
# embedded default; PostgreSQL through DATABASE_URL in production.
DEFAULT_SQLITE_PATH = VAR_DIR / "ventanilla.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}")
_database = dj_database_url.parse(
    DATABASE_URL, conn_max_age=0 if DATABASE_URL.startswith("sqlite") else 60
)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    if _database["NAME"] not in ("", ":memory:"):
        Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    # The test database is a file, not memory, so threads share it and the concurrency tests
    # exercise SQLite's real locking too.
    _database.setdefault("TEST", {})["NAME"] = os.environ.get(
        "SQLITE_TEST_NAME", str(VAR_DIR / "test-ventanilla.sqlite3")
    )
else:
    _database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:after-login"
LOGOUT_REDIRECT_URL = "portal:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = 60 * 60 * 8  # one working day
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS", "31536000" if IS_PRODUCTION else "0")
)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "es-cl"
LANGUAGES = [("es-cl", _("Español (Chile)")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Santiago"  # shown to people; stored in UTC (USE_TZ)
USE_I18N = True
USE_TZ = True

# --- Static files and uploads --------------------------------------------------------------------
STATIC_URL = "/static/"
# Project-wide assets (base stylesheet and script); apps keep theirs in <app>/static/.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Uploads are never served by URL: they are read through permission-checked views.
MEDIA_URL = "/_private-media-not-served/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    # S3-compatible object storage (MinIO, Ceph, AWS…); credentials come from the usual
    # AWS_* variables read by django-storages.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
ATTACHMENT_MAX_FILES = int(os.environ.get("ATTACHMENT_MAX_FILES", "5"))
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
# A citizen's message on a ticket closed less than this many days ago reopens it.
TICKET_REOPEN_WINDOW_DAYS = int(os.environ.get("TICKET_REOPEN_WINDOW_DAYS", "30"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Cache and public API -------------------------------------------------------------------
# The API throttles count in the cache, which must be shared by every process: Redis when
# REDIS_URL/CACHE_URL is set, else the database cache (table made by migration api/0002).
_cache_url = os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL", "")
if ENVIRONMENT == "test":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif _cache_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": _cache_url}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                          "LOCATION": "ventanilla_cache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ventanilla.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [
        "ventanilla.api.throttling.ApiKeyRateThrottle",
        "ventanilla.api.throttling.AnonIpRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": os.environ.get("API_RATE_KEY", "600/min"),
        "anon": os.environ.get("API_RATE_ANON", "60/min"),
        "staff": os.environ.get("API_RATE_STAFF", "600/min"),
    },
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ventanilla.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ventanilla API",
    "DESCRIPTION": "API pública de Ventanilla: ingreso y seguimiento de requerimientos, "
                   "catálogos. Autenticación: `Authorization: Api-Key vk_...`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "TicketStageEnum": "ventanilla.tickets.models.ResponseStage",
        "AnswerStageEnum": ["plan", "final"],
    },
}

# --- E-mail ---------------------------------------------------------------------------------
# Without EMAIL_HOST the messages go to the log (console backend), so `make run` needs no server.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Ventanilla <no-responder@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Background tasks ------------------------------------------------------------------------
# django-tasks with the database backend by default (no extra service): ``ventanilla worker``
# (started by ``ventanilla serve``) runs ``db_worker`` for every queue below. TASKS_BACKEND=rq
# keeps the queue in Redis (REDIS_URL) and the same command runs RQ workers instead: it
# takes the queue's writes off a busy PostgreSQL primary; it is not faster per worker
# (bench/bench_queue.py). Run ``migrate`` once after switching (django-rq's migrations).
# Either way a lost notification job loses nothing: the outbox row is the truth and the
# worker's periodic outbox replay re-queues it. TASKS_BACKEND=immediate runs them inline (tests).
_tasks_backend = os.environ.get(
    "TASKS_BACKEND", "immediate" if ENVIRONMENT == "test" else "database"
)
TASK_QUEUES = ["default", "notifications"]
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "rq": "django_tasks_rq.RQBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "dummy": "django_tasks.backends.dummy.DummyBackend",
        }[_tasks_backend],
        "QUEUES": TASK_QUEUES,
    }
}
# Task processes per ``ventanilla worker`` (each one claims one task at a time).
WORKER_PROCESSES = int(os.environ.get("WORKER_PROCESSES", "1"))
# Finished task rows (database backend) older than this are deleted by the worker each hour.
TASK_RESULT_RETENTION_DAYS = int(os.environ.get("TASK_RESULT_RETENTION_DAYS", "7"))
# The Redis-backed queue. Only with TASKS_BACKEND=rq are django-rq's apps installed, so the
# default installation carries no Redis admin pages or checks. Redis should run with
# appendonly yes / appendfsync everysec and maxmemory-policy noeviction.
TASKS_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
RQ_QUEUES = {name: {"URL": TASKS_REDIS_URL, "DEFAULT_TIMEOUT": 300} for name in TASK_QUEUES}
RQ = {
    "JOB_CLASS": "django_tasks_rq.Job",
    # In-process worker (no fork per job: ~30 times cheaper per job than RQ's default).
    "WORKER_CLASS": "ventanilla.notifications.tasks.TaskWorker",
}
if _tasks_backend == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8"))

if ENVIRONMENT == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Provider channels (issue 5) -------------------------------------------------------------
# Where each institution receives is a ``channels.ChannelEndpoint`` row (admin); what is
# secret or deployment-wide is here, from the environment. Tests point the base URLs at
# local fake provider servers.
# Meta (WhatsApp Cloud API, Messenger, Instagram): one app per deployment.
META_APP_SECRET = os.environ.get("META_APP_SECRET", "")  # checks X-Hub-Signature-256
META_VERIFY_TOKEN = os.environ.get("META_VERIFY_TOKEN", "")  # the webhook handshake
META_ACCESS_TOKEN = os.environ.get("META_ACCESS_TOKEN", "")  # Graph API calls
META_GRAPH_BASE_URL = os.environ.get("META_GRAPH_BASE_URL", "https://graph.facebook.com/v21.0")
# Approved template sent outside WhatsApp's 24-hour customer-service window.
WHATSAPP_NOTICE_TEMPLATE = os.environ.get("WHATSAPP_NOTICE_TEMPLATE", "ventanilla_aviso")
WHATSAPP_NOTICE_TEMPLATE_LANGUAGE = os.environ.get("WHATSAPP_NOTICE_TEMPLATE_LANGUAGE", "es")
# Twilio (SMS).
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "https://api.twilio.com")
# Most segments one outbound SMS may use (GSM-7: 153 characters each, UCS-2: 67).
SMS_MAX_SEGMENTS = int(os.environ.get("SMS_MAX_SEGMENTS", "3"))
# How long the personal tracking link sent by SMS/WhatsApp stays valid.
TRACKING_LINK_MAX_AGE_DAYS = int(os.environ.get("TRACKING_LINK_MAX_AGE_DAYS", "365"))
# Write á as a, etc. when that keeps an SMS in GSM-7 (160 characters a part instead of 70).
SMS_TRANSLITERATE = env_bool("SMS_TRANSLITERATE", default=True)
# Timeout for calls to provider APIs, in seconds.
PROVIDER_HTTP_TIMEOUT = float(os.environ.get("PROVIDER_HTTP_TIMEOUT", "15"))
# Inbound e-mail: the IMAP mailbox `ventanilla fetch-mail` polls (also run by the worker
# every FETCH_MAIL_EVERY seconds when IMAP_HOST is set), and the SMTP/LMTP receiver
# (`ventanilla receive-mail`).
IMAP_HOST = os.environ.get("IMAP_HOST", "")
IMAP_PORT = int(os.environ.get("IMAP_PORT", "993"))
IMAP_USER = os.environ.get("IMAP_USER", "")
IMAP_PASSWORD = os.environ.get("IMAP_PASSWORD", "")
IMAP_SSL = env_bool("IMAP_SSL", default=True)
IMAP_MAILBOX = os.environ.get("IMAP_MAILBOX", "INBOX")
FETCH_MAIL_EVERY = int(os.environ.get("FETCH_MAIL_EVERY", "60"))
INBOUND_MAIL_MAX_BYTES = int(os.environ.get("INBOUND_MAIL_MAX_BYTES", str(25 * 1024 * 1024)))

# --- Trust (issue 8) ---------------------------------------------------------------------------
# Each block below belongs to one part of the trust work; keep each part's settings in its block.

# --- Trust: staff authentication (passwords, TOTP, lock-out, sessions, re-authentication) ---

# --- Trust: personal data (access log, portability, retention, erasure, log redaction) ---

# --- Trust: abuse (rate limits, anti-spam, uploads, antivirus) ---

# --- Trust: HTTP hardening (CSP, HSTS, cookies, deploy checks) ---

# --- Trust: operations (backup, restore, health, uptime, availability) ---
